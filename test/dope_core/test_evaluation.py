"""The evaluation protocol, with predictions made from (perturbed) ground truth."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dope_core.datasets import DATASET_NAMES, load_annotated
from dope_core.datasets.sample import AnnotatedSample, GroundTruthInstance
from dope_core.evaluation import evaluate, evaluate_predictions
from dope_core.keypoints import BODY_JOINTS, Part
from dope_core.metrics.mappings import FACE84_OUTER_EYE_CORNERS
from dope_core.structures import Handedness, PartPose, WholeBodyPoses


def _pose_from_gt(gt: GroundTruthInstance, *, shift_2d=(0.0, 0.0), shift_3d=None, handedness=None) -> PartPose:
    j = gt.part.num_keypoints
    kp2 = np.nan_to_num(gt.keypoints_2d) + np.asarray(shift_2d)
    kp3 = np.zeros((j, 3)) if gt.keypoints_3d is None else np.nan_to_num(gt.keypoints_3d).copy()
    if shift_3d is not None:
        kp3 = kp3 + shift_3d
    side = handedness if handedness is not None else gt.handedness
    return PartPose(gt.part, 0.9, gt.box, kp2, kp3, np.ones(j), handedness=side if gt.part is Part.HAND else None)


def _prediction(sample: AnnotatedSample, **kw) -> WholeBodyPoses:
    return WholeBodyPoses(image_size=(640, 480), unassigned=[_pose_from_gt(g, **kw) for g in sample.instances])


def _body(offset: float = 0.0) -> GroundTruthInstance:
    rng = np.random.default_rng(1)
    kp2 = rng.uniform(0, 100, size=(13, 2)) + offset
    kp2[0] = [offset, offset]
    kp2[1] = [offset + 100, offset + 100]   # box side 100
    kp3 = rng.normal(scale=0.3, size=(13, 3))
    hips = [BODY_JOINTS.index("right_hip"), BODY_JOINTS.index("left_hip")]
    kp3 -= kp3[hips].mean(axis=0)
    return GroundTruthInstance(Part.BODY, kp2, np.ones(13, bool), [offset, offset, offset + 100, offset + 100],
                               keypoints_3d=kp3, valid_3d=np.ones(13, bool), root_camera=[0, 0, 3.0])


def _hand() -> GroundTruthInstance:
    rng = np.random.default_rng(2)
    kp3 = rng.normal(scale=0.05, size=(21, 3))
    kp3 -= kp3[0]
    kp2 = rng.uniform(300, 340, size=(21, 2))
    return GroundTruthInstance(Part.HAND, kp2, np.ones(21, bool), [300, 300, 340, 340], keypoints_3d=kp3,
                               valid_3d=np.ones(21, bool), root_camera=[0, 0, 0.5], handedness=Handedness.LEFT)


def _face() -> GroundTruthInstance:
    kp2 = np.random.default_rng(3).uniform(400, 500, size=(84, 2))
    kp2[FACE84_OUTER_EYE_CORNERS[0]] = [400, 450]
    kp2[FACE84_OUTER_EYE_CORNERS[1]] = [480, 450]   # inter-ocular 80 px
    vis = np.ones(84, bool)
    vis[1::2][:16] = False                          # odd contour points unannotated (iBUG-68)
    kp2[~vis] = np.nan
    return GroundTruthInstance(Part.FACE, kp2, vis, [400, 400, 500, 500])


def _sample(*instances, name="toy") -> AnnotatedSample:
    return AnnotatedSample(name, "unused.jpg", list(instances))


def test_exact_predictions_score_perfectly():
    s = _sample(_body(), _body(300.0), _hand(), _face())
    m = evaluate_predictions([(s, _prediction(s))])
    assert m["toy/body/detection_rate"] == 1.0 and m["toy/body/instances"] == 2
    assert m["toy/body/pck@0.1"] == 1.0 and m["toy/hand/pck@0.2"] == 1.0
    assert m["toy/body/mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)
    assert m["toy/body/pa_mpjpe_mm"] == pytest.approx(0.0, abs=1e-6)
    assert m["toy/hand/auc_0_50mm"] == 1.0 and m["toy/hand/handedness_accuracy"] == 1.0
    assert m["toy/face/nme"] == pytest.approx(0.0)
    assert m["all/body/instances"] == 2 and m["toy/images"] == 1 and m["toy/failed_images"] == 0


def test_known_perturbations():
    body, hand, face = _body(), _hand(), _face()
    s = _sample(body, hand, face)
    shift_hand = np.zeros((21, 3))
    shift_hand[5] = [0.06, 0.0, 0.0]                       # one hand joint 60 mm off
    shift_body = np.zeros((13, 3))
    shift_body[BODY_JOINTS.index("head_top")] = [0, 0.026, 0]  # 26 mm, not a root joint
    pred = WholeBodyPoses(image_size=(640, 480), unassigned=[
        _pose_from_gt(body, shift_2d=(9.0, 12.0), shift_3d=shift_body),  # 15 px > 0.1 * 100
        _pose_from_gt(hand, shift_3d=shift_hand, handedness=Handedness.RIGHT),
        _pose_from_gt(face, shift_2d=(4.8, 6.4)),         # 8 px = 0.1 inter-ocular
    ])
    m = evaluate_predictions([(s, pred)])
    assert m["toy/body/detection_rate"] == 1.0            # still matched (similarity 0.32)
    assert m["toy/body/pck@0.1"] == 0.0
    assert m["toy/body/mpjpe_mm"] == pytest.approx(26.0 / 13)
    assert m["toy/hand/mpjpe_mm"] == pytest.approx(60.0 / 21)
    assert m["toy/hand/auc_0_50mm"] == pytest.approx(20 / 21)
    assert m["toy/hand/handedness_accuracy"] == 0.0
    assert m["toy/face/nme"] == pytest.approx(0.1)


def test_pckh_uses_head_size():
    body = _body()
    body.head_size = 20.0        # PCKh@0.5 tolerance 10 px; PCK@0.1 of a 100 px box: 10 px too
    shift = np.zeros((13, 2))
    shift[:6] = [6.0, 8.0]       # 10 px: correct (inclusive)
    shift[6:] = [0.0, 10.5]      # wrong
    pred = _pose_from_gt(body, shift_2d=shift)
    m = evaluate_predictions([(_sample(body), WholeBodyPoses(image_size=(1, 1), unassigned=[pred]))])
    assert m["toy/body/pckh@0.5"] == pytest.approx(6 / 13)
    assert m["toy/body/pck@0.1"] == pytest.approx(6 / 13)
    assert "pckh@0.5" not in " ".join(evaluate_predictions([(_sample(_body()), None)]))


def test_misses_and_failures():
    a, b = _body(), _body(300.0)
    s = _sample(a, b)
    only_a = WholeBodyPoses(image_size=(640, 480), unassigned=[_pose_from_gt(a)])
    m = evaluate_predictions([(s, only_a), (_sample(_body()), None)])
    assert m["toy/body/instances"] == 3
    assert m["toy/body/detection_rate"] == pytest.approx(1 / 3)
    assert m["toy/body/pck@0.1"] == pytest.approx(1 / 3)  # misses count as wrong
    assert m["toy/body/mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)  # over matched only
    assert m["toy/failed_images"] == 1 and m["toy/images"] == 2
    # a prediction far away does not match
    far = WholeBodyPoses(image_size=(640, 480), unassigned=[_pose_from_gt(a, shift_2d=(1000.0, 0.0))])
    assert evaluate_predictions([(_sample(a), far)])["toy/body/detection_rate"] == 0.0


class _FromGroundTruth:
    """An estimator that answers with the ground truth of the image it is given."""

    name = "gt"
    device = "cpu"

    def __init__(self, samples, fail_on=()):
        self.samples = samples
        self.fail_on = fail_on
        self.calls = 0

    def __call__(self, image):
        sample = self.samples[self.calls]
        self.calls += 1
        if sample.image_path.name in self.fail_on:
            raise RuntimeError("boom")
        assert image.dtype == np.uint8 and image.ndim == 3
        return _prediction(sample)


def test_evaluate_runs_estimator_and_counts_bad_images(tmp_path, monkeypatch):
    """Unreadable and failing images count as failed misses; seconds_per_image times the estimator calls
    that succeeded only (a stand-in clock that only the estimator advances: 0.25 s, and 10 s on the failure)."""
    from types import SimpleNamespace

    import dope_core.evaluation as evaluation

    cv2.imwrite(str(tmp_path / "ok.png"), np.zeros((20, 30, 3), np.uint8))
    (tmp_path / "corrupt.png").write_bytes(b"not an image")
    cv2.imwrite(str(tmp_path / "fails.png"), np.zeros((20, 30, 3), np.uint8))
    samples = [AnnotatedSample("toy", tmp_path / n, [_body()]) for n in ("ok.png", "corrupt.png", "fails.png")]
    seen = []
    est = _FromGroundTruth([samples[0], samples[2]], fail_on=("fails.png",))
    clock = [100.0]
    monkeypatch.setattr(evaluation, "time", SimpleNamespace(perf_counter=lambda: clock[0]))

    def timed(image: np.ndarray):
        clock[0] += 0.25 if est.calls == 0 else 10.0
        return est(image)

    m = evaluate(timed, samples, on_sample=lambda s, p: seen.append(p is not None))
    assert seen == [True, False, False]
    assert m["toy/failed_images"] == 2 and m["toy/body/detection_rate"] == pytest.approx(1 / 3)
    assert m["toy/seconds_per_image"] == 0.25 and m["all/seconds_per_image"] == 0.25 and m["all/images"] == 3


def test_real_sets_with_ground_truth_predictions(shared_data):
    """On every real set, GT-made predictions score perfectly, and a 2D shift of 20 % of the
    box side fails PCK@0.1 everywhere while keeping the matching."""
    samples = [s for n in DATASET_NAMES for s in load_annotated(n, shared_data / "annotated")]
    exact = evaluate_predictions([(s, _prediction(s)) for s in samples])
    for name in DATASET_NAMES:
        parts = {k.split("/")[1] for k in exact if k.startswith(name + "/") and k.count("/") == 2}
        assert parts, name
        for part in parts:
            assert exact[f"{name}/{part}/detection_rate"] == 1.0, (name, part)
    assert exact["h36m/body/mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)
    assert exact["rhd/hand/auc_0_50mm"] == 1.0
    assert exact["wflw/face/nme"] == 0.0 and exact["coco_wholebody/hand/pck@0.2"] == 1.0
    assert exact["coco_wholebody/hand/handedness_accuracy"] == 1.0
    assert exact["mpii/body/pckh@0.5"] == 1.0
    shifted = evaluate_predictions([
        (s, WholeBodyPoses(image_size=(1, 1), unassigned=[
            _pose_from_gt(g, shift_2d=(0.12 * (g.box[2] - g.box[0]), 0.16 * (g.box[3] - g.box[1]))) for g in s.instances]))
        for s in samples if s.dataset in ("h36m", "coco_wholebody")])
    assert shifted["h36m/body/pck@0.1"] == 0.0
    assert shifted["h36m/body/mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)  # 3D untouched


def _limb_person(x0: float, height: float = 200.0, labelled: int = 12) -> GroundTruthInstance:
    """A standing stick person: 13 joints over ``height`` px at ``x0``; the first ``labelled`` limb joints labelled."""
    kp = np.zeros((13, 2))
    rows = {"ankle": 1.0, "knee": 0.75, "hip": 0.5, "wrist": 0.5, "elbow": 0.35, "shoulder": 0.2, "top": 0.0}
    for j, name in enumerate(BODY_JOINTS):
        side = -1 if name.startswith("right") else 1
        kp[j] = [x0 + side * 0.1 * height * (name != "head_top"), rows[name.split("_")[-1]] * height]
    visible = np.zeros(13, bool)
    visible[:labelled] = True
    return GroundTruthInstance(Part.BODY, kp, visible, [kp[:, 0].min() - 40, 0, kp[:, 0].max() + 40, height])


def test_multi_person_recall_and_recall_aware_pck():
    from dope_core.evaluation import multi_person_metrics, score_multi_person

    a, b, sparse = _limb_person(100), _limb_person(400, height=80), _limb_person(700, labelled=5)
    pred_a = _pose_from_gt(a)
    wrong_arms = _pose_from_gt(a, shift_2d=(0.0, 0.0))
    wrong_arms.keypoints_2d[[6, 7]] += 30            # wrists 30 px off: torso diameter ~ 72 px, 0.2 -> 14 px
    scores = score_multi_person([a, b, sparse], [wrong_arms])
    assert len(scores) == 2                           # `sparse` has 5 labelled limb joints: not counted
    found, missed = scores
    assert found.found and found.large and found.correct == 10 and found.labelled == 12
    assert not missed.found and not missed.large and missed.correct == 0 and missed.labelled == 12
    m = multi_person_metrics(scores)
    assert m["recall"] == 0.5 and m["large_people"] == 1 and m["recall_large"] == 1.0
    assert m["pck@0.2_torso"] == 10 / 24
    # a prediction on the lightly labelled person is that person's, not a miss of another
    assert [s.found for s in score_multi_person([a, sparse], [_pose_from_gt(sparse)])] == [False]
    assert [s.found for s in score_multi_person([a], [pred_a])] == [True]
    assert np.isnan(multi_person_metrics([])["recall"])


def test_multi_person_sets_load_their_limb_joints(shared_data):
    from dope_core.datasets.multi_person import MULTI_PERSON_SETS, load_multi_person
    from dope_core.evaluation import LIMB_JOINTS, MultiPersonSettings

    counted = {}
    for name in MULTI_PERSON_SETS:
        samples = load_multi_person(name, shared_data / "annotated")
        assert samples and all(s.image_path.is_file() for s in samples)
        people = [g for s in samples for g in s.of_part(Part.BODY)
                  if g.visible[list(LIMB_JOINTS)].sum() >= MultiPersonSettings().min_limb_joints]
        counted[name] = len(people)
        for g in people:                              # left/right as labelled: left shoulder on the left hip's side
            r, l = BODY_JOINTS.index("right_shoulder"), BODY_JOINTS.index("left_shoulder")
            assert g.visible[r] or g.visible[l]
    assert counted == {"coco": 12, "crowdpose": 3, "ochuman": 5, "posetrack18": 14}


def test_pa_mpjpe_undoes_rotation_and_scale_but_mpjpe_does_not() -> None:
    """A 3D body rotated 30 degrees and scaled 1.5 about its pelvis: PA-MPJPE 0, MPJPE the plain root-aligned error."""
    import dataclasses

    body = _body()
    t = np.deg2rad(30.0)
    rot = np.array([[np.cos(t), -np.sin(t), 0.0], [np.sin(t), np.cos(t), 0.0], [0.0, 0.0, 1.0]])
    kp3 = 1.5 * body.keypoints_3d @ rot.T           # pelvis at the origin stays there
    pred = dataclasses.replace(_pose_from_gt(body), keypoints_3d=kp3)
    m = evaluate_predictions([(_sample(body), WholeBodyPoses(image_size=(1, 1), unassigned=[pred]))])
    expected = np.linalg.norm(kp3 - body.keypoints_3d, axis=1).mean() * 1000.0
    assert m["toy/body/mpjpe_mm"] == pytest.approx(expected)
    assert expected > 100.0
    assert m["toy/body/pa_mpjpe_mm"] == pytest.approx(0.0, abs=1e-6)


def test_hand_auc_uses_1mm_steps_from_0_to_50mm() -> None:
    """One hand joint 10.5 mm off: it is within thresholds 11..50 mm, 40 of the 51 (0, 1, ..., 50 mm)."""
    hand = _hand()
    shift = np.zeros((21, 3))
    shift[7] = [0.0, 0.0105, 0.0]
    pred = _pose_from_gt(hand, shift_3d=shift)
    m = evaluate_predictions([(_sample(hand), WholeBodyPoses(image_size=(1, 1), unassigned=[pred]))])
    assert m["toy/hand/auc_0_50mm"] == pytest.approx((20 + 40 / 51) / 21)


def test_pckh_is_pooled_under_all() -> None:
    """``all/`` pools PCKh like the other metrics: one dataset, so the same value."""
    body = _body()
    body.head_size = 20.0
    shift = np.zeros((13, 2))
    shift[:4] = [0.0, 10.5]                          # > 0.5 * 20 px: wrong
    pred = _pose_from_gt(body, shift_2d=shift)
    m = evaluate_predictions([(_sample(body), WholeBodyPoses(image_size=(1, 1), unassigned=[pred]))])
    assert m["toy/body/pckh@0.5"] == pytest.approx(9 / 13)
    assert m["all/body/pckh@0.5"] == pytest.approx(9 / 13)


def test_multi_person_pck_is_relative_to_the_torso_not_the_box() -> None:
    """Wrists 20 px off: wrong at 0.2 torso diameters (~72 px -> 14.4 px) though within 0.2 of the 200 px box."""
    from dope_core.evaluation import score_multi_person

    a = _limb_person(100)
    pred = _pose_from_gt(a)
    wrists = [BODY_JOINTS.index("right_wrist"), BODY_JOINTS.index("left_wrist")]
    pred.keypoints_2d[wrists, 0] += 20.0
    (score,) = score_multi_person([a], [pred])
    assert score.found and score.labelled == 12 and score.correct == 10
    assert not score.joints_correct[wrists].any()


def test_multi_person_min_limb_joints_is_inclusive() -> None:
    """A person with exactly ``min_limb_joints`` (6) labelled limb joints is scored; with 5 not."""
    from dope_core.evaluation import score_multi_person

    assert len(score_multi_person([_limb_person(100, labelled=6)], [])) == 1
    assert len(score_multi_person([_limb_person(100, labelled=5)], [])) == 0


def test_multi_person_labelled_joints_are_the_limb_joints_only() -> None:
    """A labelled head top is not a limb joint: ``joints_labelled`` holds the 12 limb joints, as ``labelled``."""
    from dope_core.evaluation import score_multi_person

    a = _limb_person(100)
    a.visible[:] = True
    (score,) = score_multi_person([a], [_pose_from_gt(a)])
    assert score.labelled == 12 and int(score.joints_labelled.sum()) == 12
    assert not score.joints_labelled[BODY_JOINTS.index("head_top")]
    assert score.correct == 12 and not score.joints_correct[BODY_JOINTS.index("head_top")]


def test_multi_person_without_torso_diameter_counts_for_recall_only() -> None:
    """Both hips unlabelled: no shoulder-to-opposite-hip diagonal, so no PCK joints, found or not."""
    from dope_core.evaluation import multi_person_metrics, score_multi_person

    a = _limb_person(100)
    for hip in ("right_hip", "left_hip"):
        a.visible[BODY_JOINTS.index(hip)] = False
    (missed,) = score_multi_person([a], [])
    assert not missed.found and missed.labelled == 0 and not missed.joints_labelled.any()
    (found,) = score_multi_person([a], [_pose_from_gt(a)])
    assert found.found and found.labelled == 0 and found.correct == 0
    assert np.isnan(multi_person_metrics([missed, found])["pck@0.2_torso"])
