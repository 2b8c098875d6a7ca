"""The face expert on real close-ups (``../shared/data`` tier) and a real portrait."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dope_core.boxes import box_iou
from dope_core.image_io import read_image


@pytest.fixture(scope="module")
def face_experts():
    """The face expert without and with the zoomed-out view (real models, CPU)."""
    from dope_core.experts.face import FaceExpert

    return FaceExpert(zoom_out=0.0), FaceExpert(zoom_out=1.5)


def test_a_face_filling_the_image_is_found_in_the_zoomed_out_view(face_experts, shared_data):
    """300-W ``indoor_020``, cropped to the box of its 68 labelled landmarks (525 px): the face
    fills the image, as a face close to a webcam does. The full-range detector finds nothing on
    the crop itself and the face on the crop shrunk inside a 1.5x black square; the face's box
    then overlaps the labelled landmarks' box (IoU over 0.5)."""
    folder = shared_data / "annotated" / "mmpose" / "300w"
    labels = json.loads((folder / "test_300w.json").read_text())
    image_id = next(i["id"] for i in labels["images"] if i["file_name"] == "indoor_020.png")
    points = np.array(next(a["keypoints"] for a in labels["annotations"] if a["image_id"] == image_id),
                      dtype=float).reshape(-1, 3)[:, :2]
    lo, hi = points.min(axis=0), points.max(axis=0)
    side = (hi - lo).max()
    x1, y1 = np.maximum(0, ((lo + hi - side) / 2).astype(int))
    crop = np.ascontiguousarray(read_image(folder / "indoor_020.png")[y1:y1 + int(side), x1:x1 + int(side)])
    plain, zoomed = face_experts
    assert plain.detect(crop) == []
    faces = zoomed.detect(crop)
    assert len(faces) == 1 and faces[0].score > 0.5
    gt = np.array([*(lo - [x1, y1]), *(hi - [x1, y1])])
    assert box_iou(faces[0].box[None], gt[None])[0, 0] > 0.5


def test_regions_near_are_the_short_range_detector_faces_in_head_boxes(face_experts, portrait):
    """Grace Hopper's portrait: a box around her head gives one landmark region on her face (the
    face the whole-image search finds lies in it), a box in the background none."""
    plain, _ = face_experts
    (face,) = plain.detect(portrait)
    c = (face.box[:2] + face.box[2:]) / 2
    side = 2.5 * float(max(face.box[2:] - face.box[:2]))
    (region,) = plain.regions_near(portrait, [np.array([c[0] - side / 2, c[1] - side / 2,
                                                        c[0] + side / 2, c[1] + side / 2])])
    assert np.hypot(region.cx - c[0], region.cy - c[1]) < 0.2 * region.side
    assert plain.landmarks_in(portrait, region).score >= 0.9
    assert plain.regions_near(portrait, [np.array([0.0, 0.0, 120.0, 120.0])]) == []
