"""Unit tests of the cache's recipe check, frame change and close-up windows, at their documented edges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dope_core.keypoints import KEYPOINT_NAMES, Part
from dope_core.pseudo_labels.cache import LabelRecord, check_recipe
from dope_core.pseudo_labels.crops import CROP_MARK, CropSettings, crop_windows
from dope_core.pseudo_labels.sources import FrameSelector, frame_change, item_key
from dope_core.structures import PartPose, WholeBodyPoses


def _pose(part: Part, box: list[float], score: float = 0.9) -> PartPose:
    j = len(KEYPOINT_NAMES[part])
    return PartPose(part=part, score=score, box=np.asarray(box, float), keypoints_2d=np.zeros((j, 2)),
                    keypoints_3d=np.zeros((j, 3)), confidence=np.ones(j),
                    handedness="right" if part is Part.HAND else None)


def _record(size: tuple[int, int], *poses: PartPose, key: str = "dir__img-0123456789") -> LabelRecord:
    return LabelRecord(key=key, image="img.jpg", image_size=size, status="ok",
                       pseudo_gt=WholeBodyPoses(image_size=size, unassigned=list(poses)))


def test_check_recipe_refuses_a_setting_the_stored_recipe_lacks(tmp_path: Path) -> None:
    """A setting present only in the new recipe (or only in the stored one) is a difference."""
    path = tmp_path / "recipe.json"
    check_recipe(path, {"stride": 1}, refusal="use another cache")
    check_recipe(path, {"stride": 1}, refusal="use another cache")          # same settings: accepted
    with pytest.raises(ValueError, match=r"crops None -> \['face'\].*use another cache"):
        check_recipe(path, {"stride": 1, "crops": ["face"]}, refusal="use another cache")
    with pytest.raises(ValueError, match="stride 1 -> None"):
        check_recipe(path, {}, refusal="use another cache")


def test_frame_change_is_the_mean_of_the_most_changed_tenth() -> None:
    """A change of a tenth of the pixels counts in full, not diluted over the whole thumbnail."""
    a = np.zeros((10, 10), np.float32)
    b = a.copy()
    b[0, :] = 100.0                    # 10 of 100 pixels: exactly the most-changed tenth
    assert frame_change(a, b) == pytest.approx(100.0)
    c = a.copy()
    c[0, :5] = 100.0                   # 5 pixels: half of the tenth
    assert frame_change(a, c) == pytest.approx(50.0)
    assert frame_change(a, a) == 0.0


def test_a_part_exactly_min_part_size_gives_a_window() -> None:
    """Only parts *smaller* than min_part_size are skipped; a window is context * size, centred on the part."""
    settings = CropSettings(parts=("hand",), min_part_size=32.0)
    (part, window), = crop_windows(_record((640, 480), _pose(Part.HAND, [100, 100, 132, 132])), settings)
    assert part == "hand"
    np.testing.assert_array_equal(window, [68, 68, 164, 164])             # side 3 * 32 = 96 around (116, 116)
    assert crop_windows(_record((640, 480), _pose(Part.HAND, [100, 100, 131, 131])), settings) == []


def test_a_window_over_most_of_the_image_is_no_close_up() -> None:
    """A window covering more than 80 % of the image's area is dropped; one just under is kept."""
    box = [30, 30, 70, 70]                                               # 40 px in a 100 x 100 image
    big = CropSettings(parts=("body",), context={"body": 2.3}, min_part_size=1)   # 92 px: 84.6 %
    assert crop_windows(_record((100, 100), _pose(Part.BODY, box)), big) == []
    small = CropSettings(parts=("body",), context={"body": 2.2}, min_part_size=1)  # 88 px: 77.4 %
    assert len(crop_windows(_record((100, 100), _pose(Part.BODY, box)), small)) == 1


def test_max_overlap_zero_keeps_disjoint_windows() -> None:
    """With max_overlap 0, windows that do not overlap at all (IoU 0) are all kept."""
    settings = CropSettings(parts=("hand",), max_overlap=0.0, min_part_size=1)
    record = _record((1000, 200), _pose(Part.HAND, [100, 90, 120, 110], 0.9), _pose(Part.HAND, [800, 90, 820, 110], 0.8))
    windows = crop_windows(record, settings)
    assert [w.tolist() for _, w in windows] == [[80, 70, 140, 130], [780, 70, 840, 130]]


def test_a_crop_is_not_cropped_again() -> None:
    """A record of a crop gives no windows (close-ups of close-ups would multiply)."""
    settings = CropSettings(parts=("hand",), min_part_size=1)
    pose = _pose(Part.HAND, [100, 100, 140, 140])
    assert len(crop_windows(_record((640, 480), pose), settings)) == 1
    assert crop_windows(_record((640, 480), pose, key=f"dir__img-0123456789{CROP_MARK}hand0"), settings) == []


def test_a_window_at_the_border_is_moved_inside_the_image() -> None:
    """A window that would stick out of the image is shifted inside it, keeping its side."""
    settings = CropSettings(parts=("hand",), min_part_size=10)
    (_, window), = crop_windows(_record((200, 100), _pose(Part.HAND, [180, 40, 200, 60])), settings)
    np.testing.assert_array_equal(window, [140, 20, 200, 80])             # side 60, right edge on the image's
    (_, window), = crop_windows(_record((200, 100), _pose(Part.HAND, [0, 0, 20, 20])), settings)
    np.testing.assert_array_equal(window, [0, 0, 60, 60])


def test_same_named_inputs_in_different_folders_get_their_own_keys(tmp_path: Path) -> None:
    """Keys carry a hash of the absolute path: a/cam/img.jpg and b/cam/img.jpg never share a record."""
    a, b = tmp_path / "a" / "cam" / "img.jpg", tmp_path / "b" / "cam" / "img.jpg"
    assert item_key(a) != item_key(b)
    assert item_key(a, 3) != item_key(b, 3) and item_key(a, 3).endswith("__f000003")
    assert item_key(a) == item_key(tmp_path / "a" / "cam" / ".." / "cam" / "img.jpg")   # same file, same key


def test_frame_selector_settings_at_their_limits() -> None:
    """stride must be >= 1; max_gap may equal stride (0 is none), not be under it."""
    with pytest.raises(ValueError, match="stride"):
        FrameSelector(stride=0)
    FrameSelector(stride=5, max_gap=5)
    FrameSelector(stride=5, max_gap=0)
    with pytest.raises(ValueError, match="max_gap"):
        FrameSelector(stride=5, max_gap=4)

