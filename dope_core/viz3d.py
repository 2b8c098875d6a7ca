"""A 3D view of the people of one image (matplotlib, written to an image file).

Parts are drawn in metres. When a part has been placed in the camera frame
(``root_camera``) the view uses the camera optical frame; otherwise each person is
laid out on its own (1 m apart, in the image's left-to-right order) with hands
attached at the body's wrists and the face centred between the head top and the
middle of the shoulders. The vertical axis of the plot is up (camera -y).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dope_core.draw import UNASSIGNED_COLOUR, person_colour
from dope_core.keypoints import BODY_HEAD, BODY_JOINTS, BODY_LEFT_WRIST, BODY_RIGHT_WRIST, SKELETON_EDGES
from dope_core.structures import PartPose, Person, WholeBodyPoses

_SHOULDERS = [BODY_JOINTS.index("right_shoulder"), BODY_JOINTS.index("left_shoulder")]


def person_points(person: Person, offset: np.ndarray) -> list[tuple[PartPose, np.ndarray]]:
    """Each part of ``person`` with its ``(J, 3)`` display points in metres."""
    out = []
    body = person.body
    for name, part in person.parts():
        if part.root_camera is not None:
            out.append((part, part.keypoints_3d + part.root_camera))
            continue
        anchor = offset.copy()
        if body is not None and name != "body":
            b = body.keypoints_3d
            if name == "right_hand":
                anchor = offset + b[BODY_RIGHT_WRIST]
            elif name == "left_hand":
                anchor = offset + b[BODY_LEFT_WRIST]
            elif name == "face":
                anchor = offset + (b[BODY_HEAD] + b[_SHOULDERS].mean(axis=0)) / 2
        out.append((part, part.keypoints_3d + anchor))
    return out


def render_3d(poses: WholeBodyPoses, path: str | Path, *, title: str = "", size_px: int = 800) -> Path:
    """Write a 3D view of ``poses`` to ``path`` (PNG, or any format matplotlib writes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(size_px / 100, size_px / 100), dpi=100)
    ax = fig.add_subplot(projection="3d")
    order = sorted(poses.people, key=lambda p: p.body.box[0] if p.body is not None else 0.0)
    drawn = []
    for i, person in enumerate(order):
        colour = np.array(person_colour(person.display_id)) / 255
        for part, pts in person_points(person, np.array([1.0 * i, 0.0, 0.0])):
            _plot_part(ax, part, pts, colour)
            drawn.append(pts)
    for k, part in enumerate(poses.unassigned):
        pts = part.keypoints_3d + (part.root_camera if part.root_camera is not None else np.array([1.0 * (len(order) + k), 0, 0]))
        _plot_part(ax, part, pts, np.array(UNASSIGNED_COLOUR) / 255)
        drawn.append(pts)
    if drawn:
        allp = np.concatenate(drawn)
        centre, half = (allp.max(0) + allp.min(0)) / 2, max(float((allp.max(0) - allp.min(0)).max()) / 2, 0.5)
        ax.set_xlim(centre[0] - half, centre[0] + half)
        ax.set_ylim(centre[2] - half, centre[2] + half)
        ax.set_zlim(-centre[1] - half, -centre[1] + half)
    ax.view_init(elev=12, azim=-75)
    ax.set_xlabel("x (m)")
    ax.set_ylabel("z, depth (m)")
    ax.set_zlabel("up = -y (m)")
    ax.set_title(title or f"{len(poses.people)} people")
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def _plot_part(ax, part: PartPose, pts: np.ndarray, colour: np.ndarray) -> None:
    ok = part.confidence >= 0.3
    for a, b in SKELETON_EDGES[part.part]:
        if ok[a] and ok[b]:
            ax.plot([pts[a, 0], pts[b, 0]], [pts[a, 2], pts[b, 2]], [-pts[a, 1], -pts[b, 1]],
                    color=colour, linewidth=1.5 if part.part.value == "body" else 0.8)
