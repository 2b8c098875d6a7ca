"""The experts on real photos: a portrait shipped by matplotlib (default tier) and crowds (real-data tier)."""

import numpy as np
import pytest

from dope_core.boxes import box_contains
from dope_core.image_io import read_image
from dope_core.keypoints import BODY_HEAD, BODY_JOINTS, Part
from dope_core.structures import Handedness, PartPose, WholeBodyPoses


def test_portrait_gives_one_person_with_a_face(experts, portrait):
    res = experts(portrait)
    assert isinstance(res, WholeBodyPoses) and res.backend == "experts"
    assert len(res.people) == 1
    person = res.people[0]
    assert person.face is not None and person.face.score > 0.8
    # The face lies in the upper half of the body box and the head top above it.
    fx1, fy1, fx2, fy2 = person.face.box
    hx, hy = person.body.keypoints_2d[BODY_HEAD]
    assert fx1 < hx < fx2 and hy < fy1 + 0.5 * (fy2 - fy1)
    # Face 3D in metres: the outer eye corners 9 cm apart by construction, face depth of a few cm.
    f3 = person.face.keypoints_3d
    assert np.allclose(f3.mean(axis=0), 0, atol=1e-9)
    assert 0.1 < np.ptp(f3[:, 0]) < 0.25 and np.ptp(f3[:, 2]) < 0.2


def test_low_threshold_exposes_more_raw_detections(experts, portrait):
    strict = experts.detect_parts(portrait)
    loose = experts.detect_parts(portrait, min_score=0.05)
    for part in Part:
        assert len(loose[part]) >= len(strict[part])
        assert all(p.part is part for p in loose[part])


@pytest.mark.parametrize("image", [np.zeros((2, 2, 3), np.uint8), np.zeros((480, 640, 3), np.uint8),
                                   np.full((37, 1500, 3), 255, np.uint8)])
def test_degenerate_images_give_empty_results(experts, image):
    res = experts(image)
    assert res.people == [] and res.image_size == (image.shape[1], image.shape[0])


def test_wrong_array_type_is_a_clear_error(experts):
    with pytest.raises(ValueError, match="RGB uint8"):
        experts(np.zeros((10, 10), np.float32))


@pytest.mark.parametrize("shape", [(0, 0, 3), (0, 5, 3), (5, 0, 3), (1, 1, 3), (1, 40, 3)])
def test_an_image_under_two_pixels_a_side_is_a_clear_error(experts, shape):
    """Per frame and streamed, as the network backend does (OpenCV used to fail inside, or 0x0 passed)."""
    from dope_core.experts.streaming import StreamingExpertsEstimator

    with pytest.raises(ValueError, match="image is too small"):
        experts(np.zeros(shape, np.uint8))
    stream = StreamingExpertsEstimator(experts, num_threads=1)
    try:
        with pytest.raises(ValueError, match="image is too small"):
            stream(np.zeros(shape, np.uint8))
    finally:
        stream.close()
    with pytest.raises(RuntimeError, match="was closed"):
        stream(np.zeros((48, 64, 3), np.uint8))


def _check_body_3d(person):
    kp = person.body.keypoints_3d
    hips = kp[[BODY_JOINTS.index("right_hip"), BODY_JOINTS.index("left_hip")]].mean(axis=0)
    np.testing.assert_allclose(hips, 0, atol=1e-6)   # origin at the middle of the hips
    assert kp[BODY_HEAD, 1] < -0.3                    # head above the hips (y down), metres


def test_five_seated_children(experts, shared_data):
    res = experts(read_image(shared_data / "images" / "alphapose" / "2.jpg"))
    assert len(res.people) == 5
    assert all(p.face is not None for p in res.people)
    for p in res.people:
        _check_body_3d(p)


def test_upside_down_children_keep_their_faces(experts, shared_data):
    """The same photo turned upside down: the face detector finds upright faces only (it found
    one of the five, on a forehead), so each body's face is sought where its landmarks put it
    (ExpertsEstimator.faces_at_heads): every child has a face, around its nose."""
    image = np.ascontiguousarray(np.rot90(read_image(shared_data / "images" / "alphapose" / "2.jpg"), 2))
    found, _, faces = experts.detect_landmarks(image)
    res = experts(image)
    assert len(res.people) == 5 and all(p.face is not None for p in res.people)
    assert not [u for u in res.unassigned if u.part is Part.FACE]
    for body in found:
        assert sum(box_contains(f.box, body.nose) for f in faces) == 1



def test_no_face_added_at_a_second_skeletons_nose_beside_the_face(experts, shared_data):
    """OCHuman ``003896.jpg``: a second skeleton (presence 0.87) fitted on the Croatian player puts its
    nose on his chin, outside his detected face's box; the mesh in the face region it gives is his
    face shifted down (IoU 0.15 with it, presence 0.99), which was added as a second face. It is
    the same face (FaceExpert.same_face): one face."""
    image = read_image(shared_data / "annotated" / "mmpose" / "ochuman" / "003896.jpg")
    _, _, faces = experts.detect_landmarks(image)
    assert len(faces) == 1
    assert np.abs(faces[0].box - [330, 190, 399, 260]).max() < 6

def test_tennis_group_finds_people_faces_and_hands(experts, shared_data):
    """The five players, Rod Laver too, half hidden behind the net (the full landmark model's presence
    there is 0.42; the heavy model's second opinion in the same region 0.99), and nothing else (a
    small body fitted to a shoe hangs past its player's box: the nested rule's margin drops it).
    Every player has his face: Sampras's, next to a spurious face around his head point too, is his
    by his nose (the fusion's face points)."""
    res = experts(read_image(shared_data / "images" / "multihmr" / "4446582661_b188f82f3c_c.jpg"))
    assert len(res.people) == 5
    assert all(p.body.box[3] - p.body.box[1] > 380 for p in res.people)   # whole people of this 533-px photo
    assert sorted(round((p.body.box[0] + p.body.box[2]) / 2, -2) for p in res.people) == [100, 300, 400, 500, 700]
    assert sum(p.face is not None for p in res.people) >= 4
    hands = [(side, h) for p in res.people for side, h in (("left", p.left_hand), ("right", p.right_hand)) if h]
    assert len(hands) >= 3
    assert all(h.handedness is Handedness(side) for side, h in hands)
    for _, h in hands:
        assert np.allclose(h.keypoints_3d[0], 0)                          # wrist origin
        assert 0.05 < np.linalg.norm(h.keypoints_3d[12]) < 0.3           # middle fingertip, metres


def test_lite_hand_model_finds_the_same_hands(experts, shared_data):
    """The lite hand landmark model (experts.hand: mediapipe_lite) on the tennis group: the hands
    the full model finds, on the same side, their joints within 10 % of the hand box of the full model's."""
    from dope_core.experts.config import PRESETS
    from dope_core.experts.ensemble import ExpertsEstimator

    image = read_image(shared_data / "images" / "multihmr" / "4446582661_b188f82f3c_c.jpg")
    lite = ExpertsEstimator(config=PRESETS["default"].replace(hand="mediapipe_lite"))
    assert lite.hand.landmarks.name == "hand_landmark_lite"
    full_hands = [h for p in experts(image).people for h in (p.left_hand, p.right_hand) if h]
    lite_hands = [h for p in lite(image).people for h in (p.left_hand, p.right_hand) if h]
    assert len(full_hands) >= 3 and len(lite_hands) >= len(full_hands) - 1
    for h in full_hands:
        near = min(lite_hands, key=lambda g: np.linalg.norm(g.keypoints_2d[0] - h.keypoints_2d[0]))
        size = max(h.box[2] - h.box[0], h.box[3] - h.box[1])
        assert near.handedness is h.handedness
        assert np.median(np.linalg.norm(near.keypoints_2d - h.keypoints_2d, axis=1)) < 0.1 * size


def test_lite_body_model_finds_the_same_people(experts, shared_data):
    """The lite body landmark model (experts.body: blazepose_lite, fetched at set-up) on the tennis
    group: the people the full model finds, their limb joints within 10 % of the full model's body height."""
    from dope_core.experts.config import PRESETS, ExpertsConfigError
    from dope_core.experts.ensemble import ExpertsEstimator

    try:
        config = PRESETS["default"].replace(body="blazepose_lite")
    except ExpertsConfigError as e:
        pytest.skip(str(e))
    image = read_image(shared_data / "images" / "multihmr" / "4446582661_b188f82f3c_c.jpg")
    lite = ExpertsEstimator(config=config)
    assert lite.body.landmarks.name == "pose_landmark_lite"
    full_bodies = [p.body for p in experts(image).people]
    lite_bodies = [p.body for p in lite(image).people]
    assert len(full_bodies) >= 4 and len(lite_bodies) >= len(full_bodies) - 1
    close = 0
    for b in full_bodies:
        near = min(lite_bodies, key=lambda g: np.linalg.norm(g.box - b.box))
        close += np.median(np.linalg.norm(near.keypoints_2d[:12] - b.keypoints_2d[:12], axis=1)) < 0.1 * (b.box[3] - b.box[1])
    assert close >= len(full_bodies) - 1


def test_the_default_finds_people_without_a_face_to_key_on(experts, shared_data):
    """COCO 196141 (4 people) and 197388 (5): BlazePose's face-keyed detector with the face regions
    found 3 and 4 of them; with the ssd person detector every one is found."""
    from dope_core.datasets.multi_person import load_multi_person
    from dope_core.evaluation import score_multi_person

    for sample in load_multi_person("coco", shared_data / "annotated"):
        if sample.image_path.name in ("000000196141.jpg", "000000197388.jpg"):
            scores = score_multi_person(sample.of_part(Part.BODY), experts(read_image(sample.image_path)).parts(Part.BODY))
            assert len(scores) >= 4 and all(s.found for s in scores), (sample.image_path.name, [s.found for s in scores])


def test_thorough_search_gives_no_collapsed_bodies_on_a_group(shared_data):
    from dope_core.experts.config import PRESETS
    from dope_core.experts.ensemble import ExpertsEstimator

    image = read_image(shared_data / "images" / "multihmr" / "39742984604_46934fbd50_c.jpg")  # 7 standing people
    result = ExpertsEstimator(tile_fractions=(0.5, 0.3), config=PRESETS["thorough"])(image)
    heights = [p.body.box[3] - p.body.box[1] for p in result.people if p.body is not None]
    assert 6 <= len(heights) <= 8
    assert min(heights) > 100, heights    # the people are 350-430 px tall; a collapsed pass gave 22 px


def test_a_low_min_score_keeps_the_usual_search(experts, shared_data):
    """The pseudo-labeller asks for every detection down to 0.05: that keeps the uncertain bodies of
    the usual search, it does not search weak proposals (their landmark passes gave 13 bodies, 9 of
    them above 0.5, for the 2 people of zidane.jpg)."""
    from dope_core.fusion import assemble

    image = read_image(shared_data / "images" / "packages" / "zidane.jpg")
    usual = experts.detect_parts(image)
    low = experts.detect_parts(image, min_score=0.05)
    confident = [b for b in low[Part.BODY] if b.score >= experts.scores[Part.BODY]]
    assert len(confident) == len(usual[Part.BODY]) == 2
    assert len(low[Part.BODY]) <= 4
    h, w = image.shape[:2]
    kept = {p: [d for d in low[p] if d.score >= 0.5] for p in Part}
    fused = assemble(kept[Part.BODY], kept[Part.HAND], kept[Part.FACE], image_size=(w, h), backend="experts")
    assert len(fused.people) == len(experts(image).people) == 2


def test_hands_at_a_confident_wrist_need_only_the_wrist_score(experts, shared_data):
    """COCO val2014 192 (baseball): a batting glove (presence 0.48) lies at a player's wrist; the
    body vouches for it (``hand_wrist_score`` 0.2), so the person gets it. Without the wrist
    regions, or with the wrist score at the usual 0.5, the same pass is not a hand. (A hand on the
    bat of the batter cut by the left edge, 0.23, was the second such hand until the ``ssd`` tiles
    gave him another, less sure pass whose wrist lies elsewhere: docs/accuracy.md.)"""
    from dope_core.experts.config import PRESETS
    from dope_core.experts.ensemble import ExpertsEstimator, knuckle_hand_rois

    image = read_image(shared_data / "images" / "coco_val2014" / "COCO_val2014_000000000192.jpg")
    found, hands, _ = experts.detect_landmarks(image)
    assert len(hands) == 1 and all(0.2 <= h.score < 0.5 for h in hands)
    people = experts(image).people
    assert sum((p.left_hand is not None) + (p.right_hand is not None) for p in people) == 1
    guides = [b for b in found if b.pose.score >= 0.5]
    assert experts.hand.detect(image, landmark_regions=knuckle_hand_rois(guides)) == []
    strict = ExpertsEstimator(parts=[Part.BODY, Part.HAND], config=PRESETS["default"].replace(hand_wrist_score=0.5))
    assert strict.detect_landmarks(image)[1] == []


def test_a_small_hand_beside_its_bodys_wrist_is_its_hand(experts, shared_data):
    """COCO val2014 257 (a square with a food truck): the 11-px hand of the man pushing a stroller
    lies 12 px from his body's left wrist, 1.1 of its own box: beyond the release's limit, within a
    tenth of his body's size (``hand_body_reach``), so the person holds it; with ``hand_body_reach:
    null`` (the ``legacy`` preset's) nobody does."""
    from dope_core.experts.config import PRESETS
    from dope_core.experts.ensemble import ExpertsEstimator
    from dope_core.fusion import EXPERTS_MAX_HAND_TO_BODY, assign_hands

    image = read_image(shared_data / "images" / "coco_val2014" / "COCO_val2014_000000000257.jpg")
    found, hands, _ = experts.detect_landmarks(image)
    on_handle = [i for i, h in enumerate(hands) if box_contains(h.box, (164, 423))]
    assert len(on_handle) == 1
    assert on_handle[0] not in assign_hands([b.pose for b in found], hands, max_hand_to_body=EXPERTS_MAX_HAND_TO_BODY)
    held = [p for p in experts(image).people
            if any(h is not None and box_contains(h.box, (164, 423)) for h in (p.left_hand, p.right_hand))]
    assert len(held) == 1 and held[0].left_hand is not None and box_contains(held[0].left_hand.box, (164, 423))
    assert box_contains(held[0].body.box, (164, 423))
    release = ExpertsEstimator(config=PRESETS["default"].replace(hand_body_reach=None))
    assert not any(h is not None and box_contains(h.box, (164, 423))
                   for p in release(image).people for h in (p.left_hand, p.right_hand))


def test_a_detected_face_at_a_confident_head_needs_only_the_head_score(experts, shared_data, monkeypatch):
    """The basketball photo: the referee's face is detected where his body's nose is, but the face
    mesh is unsure of it (presence 0.42); the body vouches for it (``face_head_score`` 0.15), so he
    gets it. Without the bodies' noses, or with the head score at the usual 0.5, it is no face.
    COCO val2014 564: a second, less sure mesh over the tennis player's face (0.38) also holds his
    nose; a nose that a sure face holds vouches for no other, else the player's nose would lie in
    two faces and he would get neither."""
    image = read_image(shared_data / "images" / "multihmr" / "51960182045_d5d6407a3c_c.jpg")
    unsure = [p for p in experts(image).people if p.face is not None and p.face.score < 0.5]
    assert len(unsure) == 1 and unsure[0].face.score >= 0.15 and unsure[0].body is not None
    assert box_contains(unsure[0].body.box, (unsure[0].face.box[:2] + unsure[0].face.box[2:]) / 2)
    assert all(f.score >= 0.5 for f in experts.face.detect(image))
    monkeypatch.setattr(experts.face, "head_score", 0.5)
    assert all(p.face is None or p.face.score >= 0.5 for p in experts(image).people)
    monkeypatch.undo()

    image = read_image(shared_data / "images" / "coco_val2014" / "COCO_val2014_000000000564.jpg")
    people = [p for p in experts(image).people if p.body is not None]
    player = max(people, key=lambda p: p.body.box[3] - p.body.box[1])
    assert player.face is not None and player.face.score >= 0.5


def test_a_face_beside_a_found_head_seeds_no_second_body(experts, shared_data, monkeypatch):
    """alphapose/3.jpg (street): the woman in the knit hat has a body whose nose lies 1.2 face sides
    below her detected face, so the nose rule leaves the face unclaimed; sought below it, the face
    gave a second, smaller skeleton over her (presence 0.79). Near a confident body's head, it is
    not sought."""
    from dope_core.experts import ensemble as ensemble_module
    from dope_core.experts.ensemble import face_near_a_head

    image = read_image(shared_data / "images" / "alphapose" / "3.jpg")
    woman = np.array([440.0, 227.0, 524.0, 671.0])                       # her body's box, pixels

    def bodies_centred_on_her() -> int:
        found, _, _ = experts.detect_landmarks(image)
        centres = [(b.pose.box[:2] + b.pose.box[2:]) / 2 for b in found]
        return sum(woman[0] <= x <= woman[2] and woman[1] <= y <= woman[3] for x, y in centres)

    assert bodies_centred_on_her() == 1
    monkeypatch.setattr(ensemble_module, "face_near_a_head", lambda *a, **k: False)
    assert bodies_centred_on_her() == 2
    face = PartPose(part=Part.FACE, score=1.0, box=np.array([481.0, 208.0, 511.0, 239.0]),
                    keypoints_2d=np.zeros((84, 2)), keypoints_3d=np.zeros((84, 3)), confidence=np.ones(84))
    assert face_near_a_head(face, [np.array([481.0, 256.0])])               # 17 px below, 30-px face
    assert not face_near_a_head(face, [np.array([481.0, 290.0])])           # 51 px below


def _pose(part: Part, box, score: float = 1.0, keypoints=None) -> PartPose:
    n = part.num_keypoints
    x1, y1, x2, y2 = box
    kp = np.array(keypoints, float) if keypoints is not None else np.linspace([x1, y1], [x2, y2], n)
    return PartPose(part=part, score=score, box=np.array(box, float), keypoints_2d=kp,
                    keypoints_3d=np.zeros((n, 3)), confidence=np.ones(n))


def test_skeletons_on_hands_rule():
    """A body with 2/3 of its joints in a sure hand's (grown) box goes; a less sure hand, a body with
    fewer joints there, or a body whose nose lies in a face box stays."""
    from dope_core.experts.body_landmarks import BodyLandmarks
    from dope_core.experts.ensemble import skeletons_on_hands

    def body(box, nose=(0.0, 0.0)):
        marks = np.zeros((33, 2))
        marks[0] = nose
        return BodyLandmarks(pose=_pose(Part.BODY, box), landmarks_2d=marks, visibility=np.ones(33))

    hand = _pose(Part.HAND, (100, 100, 200, 200), score=0.95)
    on_it = body((105, 105, 195, 195))                 # all 13 joints in the hand's box
    across = body((105, 105, 400, 400))                # 4 of 13 joints in the grown box: a person
    in_grown_box = body((92, 92, 205, 205))            # in the box grown 1.2 times
    assert skeletons_on_hands([on_it, across, in_grown_box], [hand]) == [0, 2]
    assert skeletons_on_hands([on_it], [hand], min_hand_score=0.99) == []
    face = _pose(Part.FACE, (140, 140, 160, 160))
    assert skeletons_on_hands([body((105, 105, 195, 195), nose=(150, 150))], [hand], [face]) == []
    assert skeletons_on_hands([], [hand]) == [] and skeletons_on_hands([on_it], []) == []


def test_hands_on_bodies_rule():
    """A hand lying (90 %) in a body's box and over half its size goes; a smaller hand, one mostly
    outside the box, or one beside a body it is half the size of stays."""
    from dope_core.experts.ensemble import hands_on_bodies

    body = _pose(Part.BODY, (100, 0, 200, 400))                          # 400 px tall
    on_clothes = _pose(Part.HAND, (105, 150, 195, 360), score=0.91)      # 210 px, wholly inside
    held_up = _pose(Part.HAND, (120, 150, 170, 200))                     # 50 px: a hand before the body
    beside = _pose(Part.HAND, (150, 150, 380, 380))                      # 230 px, a quarter inside
    assert hands_on_bodies([body], [held_up, on_clothes, beside]) == [1]
    assert hands_on_bodies([body], [on_clothes], max_hand_to_body=0.6) == []
    assert hands_on_bodies([], [on_clothes]) == [] and hands_on_bodies([body], []) == []


def test_only_confident_bodies_take_away_a_hand_fitted_on_them(experts):
    """An uncertain body (the pseudo-labeller keeps them down to 0.05) around a hand over half its
    size does not remove the hand; a confident one does."""
    from dope_core.experts.body_landmarks import BodyLandmarks

    hand = _pose(Part.HAND, (105, 150, 195, 360))
    for score, kept in ((0.3, [hand]), (0.9, [])):
        body = BodyLandmarks(pose=_pose(Part.BODY, (100, 0, 200, 400), score=score), landmarks_2d=np.zeros((33, 2)),
                             visibility=np.ones(33))
        assert experts.without_hands_on_bodies([body], [hand]) == kept


def test_a_hand_fitted_on_a_walkers_clothes_goes(experts, walkers_frame, monkeypatch):
    """The demo clip at full size (1768x994), frame 80: the hand model fits a confident hand (0.91,
    211 px) over the walking woman's torso and legs (her body: 400 px); it goes, her hands and the
    other walker's stay."""
    image = walkers_frame

    def large_hands(res: WholeBodyPoses) -> list[PartPose]:
        return [h for h in res.parts(Part.HAND) if h.box[3] - h.box[1] > 150]

    res = experts(image)
    assert large_hands(res) == [] and len(res.parts(Part.HAND)) >= 2
    monkeypatch.setattr(experts, "without_hands_on_bodies", lambda found, hands: list(hands))
    assert len(large_hands(experts(image))) == 1


def test_skeletons_on_a_close_up_hand_go(experts, shared_data):
    """OneHand10K 784 (a hand before a backpack, 245 px): the body model fits three confident
    skeletons (0.99-1.0) on the fingers and passes on them claim parts of the hand; they go, one
    hand stays (a fourth skeleton, mostly on the backpack, 7 of 13 joints in the hand's box, goes
    too since ``unseen_score``: no ``ssd`` box sees it). InterHand2.6M 2017 (a thumbs-up): the
    skeleton on the fist goes (both rules drop it), and the one left along the forearm, a 153-px
    box, may not take the 141-px right hand and call it its left (``EXPERTS_MAX_HAND_TO_BODY``).
    With ``body_on_hand_score: null`` and ``unseen_score`` 0 the skeletons are back."""
    from dope_core.experts.config import PRESETS
    from dope_core.experts.ensemble import ExpertsEstimator

    hand_photo = read_image(shared_data / "annotated" / "mmpose" / "onehand10k" / "784.jpg")
    res = experts(hand_photo)
    assert len(res.parts(Part.BODY)) == 0 and len(res.parts(Part.HAND)) == 1
    off = ExpertsEstimator(parts=[Part.BODY, Part.HAND], config=PRESETS["default"].replace(body_on_hand_score=None))
    assert len(off(hand_photo).parts(Part.BODY)) == 3                  # on the fingers
    off.body.unseen_score = 0.0
    assert len(off(hand_photo).parts(Part.BODY)) == 4                  # and on the backpack

    thumbs_up = read_image(shared_data / "annotated" / "mmpose" / "interhand2.6m" / "image2017.jpg")
    res = experts(thumbs_up)
    assert len(res.parts(Part.BODY)) == 1 and len(off(thumbs_up).parts(Part.BODY)) == 2
    (hand,) = res.parts(Part.HAND)
    assert hand.handedness is Handedness.RIGHT and hand in res.unassigned
