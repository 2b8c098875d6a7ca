"""ROS4HRI outputs (REP-155, ``hri_msgs``) of the node, when ``hri_msgs`` is importable (a system ROS).

Per image: ``/humans/bodies/tracked`` (``hri_msgs/IdsList``, the ids of the tracked
bodies) and, per body, ``/humans/bodies/<id>/skeleton2d`` (``hri_msgs/Skeleton2D``, the
18 OpenPose-COCO joints, normalised) and ``/humans/bodies/<id>/roi``
(``hri_msgs/NormalizedRegionOfInterest2D``); the per-body publishers are created when a
body appears and destroyed when it goes, as ROS4HRI nodes do. Ids come from the track
ids (:func:`dope_core.hri.body_id`), so bodies need ``track_people``. The joint mapping
and normalisation are :mod:`dope_core.hri`'s. ``hri_msgs`` is not on any registry this
project installs from: :func:`make_hri_bridge` then returns ``None`` and says so once.
"""

from __future__ import annotations

from typing import Callable, Optional

from std_msgs.msg import Header

from dope_core.hri import body_id, normalized_roi, skeleton_2d
from dope_core.structures import WholeBodyPoses

TRACKED_TOPIC = "/humans/bodies/tracked"


class HriBridge:
    """Publishes DOPE's tracked bodies in ROS4HRI's topics (see the module docstring)."""

    def __init__(self, node, msgs) -> None:
        self._node = node
        self._msgs = msgs
        self._tracked = node.create_publisher(msgs.IdsList, TRACKED_TOPIC, 1)
        self._bodies: dict[str, tuple[object, object]] = {}  # id -> (skeleton2d, roi) publishers

    @property
    def body_ids(self) -> list[str]:
        """Ids of the bodies that have publishers now."""
        return list(self._bodies)

    def publish(self, poses: WholeBodyPoses, header: Header) -> None:
        """Publish the tracked bodies of one image (header: the image's stamp and frame)."""
        m = self._msgs
        people = {body_id(p.track_id): p for p in poses.people if p.track_id is not None and p.body is not None}
        for gone in set(self._bodies) - set(people):
            for pub in self._bodies.pop(gone):
                self._node.destroy_publisher(pub)
        for bid in people:
            if bid not in self._bodies:
                base = f"/humans/bodies/{bid}"
                self._bodies[bid] = (self._node.create_publisher(m.Skeleton2D, f"{base}/skeleton2d", 1),
                                     self._node.create_publisher(m.NormalizedRegionOfInterest2D, f"{base}/roi", 1))
        self._tracked.publish(m.IdsList(header=header, ids=sorted(people)))
        for bid, person in people.items():
            skeleton_pub, roi_pub = self._bodies[bid]
            points = [m.NormalizedPointOfInterest2D(x=float(x), y=float(y), c=float(c))
                      for x, y, c in skeleton_2d(person, poses.image_size)]
            skeleton_pub.publish(m.Skeleton2D(header=header, skeleton=points))
            xmin, ymin, xmax, ymax, c = normalized_roi(person, poses.image_size)
            roi_pub.publish(m.NormalizedRegionOfInterest2D(header=header, xmin=xmin, ymin=ymin, xmax=xmax,
                                                           ymax=ymax, c=c))


def make_hri_bridge(node, log: Callable[[str], None]) -> Optional[HriBridge]:
    """A bridge when ``hri_msgs`` imports, else ``None`` (``log`` says why, once)."""
    try:
        import hri_msgs.msg as msgs
    except ImportError as e:
        log(f"ROS4HRI outputs off: hri_msgs is not importable ({e}); install ros-$ROS_DISTRO-hri-msgs to get "
            "/humans/bodies/...")
        return None
    return HriBridge(node, msgs)
