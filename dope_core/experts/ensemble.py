"""The ensemble of part experts: the first whole-body estimator, and DOPE's teacher.

Order of the passes on one image:

1. bodies: person proposals (:mod:`dope_core.experts.proposals`, chosen by
   :class:`~dope_core.experts.config.ExpertsConfig`), then the landmark model per proposal;
2. faces on the whole image (also shrunk inside a larger square, for a face that fills
   it: ``face_zoom_out``) and in regions around the bodies' heads;
3. bodies again, in regions below the faces that no body claimed and no confident
   body's head lies near (the ``faces`` person detector, :func:`face_near_a_head`), with a
   low person-detector threshold: a new body is kept only if it claims its face (a
   crowd's person detector misses people whose faces are plain to see);
4. faces again, one face-mesh pass at each confident body's head that no face holds
   (:meth:`ExpertsEstimator.faces_at_heads`: the face detector finds upright faces only);
5. hands on the whole image (its tiles, and shrunk inside a larger square for
   close-ups: ``hand_zoom_out``), around every body's wrists, and in regions set by
   the body model's wrist and knuckle landmarks; then at weaker palms, where the hand
   model is sure of a hand twice (``hand_weak_palm_score``);
6. bodies that are skeletons fitted on a close-up hand go (:func:`skeletons_on_hands`), then
   hands fitted on a body, over half its size, go (:func:`hands_on_bodies`).

The three experts' detections are fused into people by :func:`dope_core.fusion.assemble`,
faces by the bodies' noses first.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dope_core.boxes import box_contains, box_iou, box_side, fraction_within, scaled_box
from dope_core.experts.body import BodyExpert
from dope_core.experts.body_landmarks import BodyLandmarks
from dope_core.experts.common import check_image
from dope_core.experts.config import BODY_LANDMARK_MODELS, HAND_LANDMARK_MODELS, PRESETS, ExpertsConfig
from dope_core.experts.face import FaceExpert
from dope_core.experts.hand import HandExpert
from dope_core.experts.propagation import face_roi_from_body
from dope_core.experts.proposals import SSDPersonDetector
from dope_core.experts.roi import RotatedRect, alignment_rotation
from dope_core.fusion import EXPERTS_MAX_HAND_TO_BODY, assemble, assign_faces
from dope_core.keypoints import BODY_HEAD, BODY_JOINTS, BODY_LEFT_WRIST, BODY_RIGHT_WRIST, BODY_SHOULDERS, Part
from dope_core.structures import PartPose, WholeBodyPoses

_ELBOW_OF_WRIST = {BODY_RIGHT_WRIST: BODY_JOINTS.index("right_elbow"), BODY_LEFT_WRIST: BODY_JOINTS.index("left_elbow")}


def hand_regions(bodies: Sequence[PartPose], *, min_side: float = 24.0) -> list[np.ndarray]:
    """Square boxes (pixels) around each body wrist, extended along the forearm.

    Centre: ``wrist + 0.4 * (wrist - elbow)``; side: ``1.6 * |wrist - elbow|``.
    """
    out = []
    for body in bodies:
        for wrist, elbow in _ELBOW_OF_WRIST.items():
            w, e = body.keypoints_2d[wrist], body.keypoints_2d[elbow]
            forearm = w - e
            side = max(1.6 * float(np.linalg.norm(forearm)), min_side)
            c = w + 0.4 * forearm
            out.append(np.array([c[0] - side / 2, c[1] - side / 2, c[0] + side / 2, c[1] + side / 2]))
    return out


_KNUCKLES_OF_WRIST = {16: (18, 20), 15: (17, 19)}
"""BlazePose right/left wrist and their pinky and index knuckles."""


def knuckle_hand_rois(bodies: Sequence[BodyLandmarks], *, scale: float = 4.0, shift: float = 0.8,
                      min_side: float = 16.0) -> list[RotatedRect]:
    """Rotated regions for the hand landmark model from BlazePose's wrist and knuckles.

    With ``v`` from the wrist to the middle of the index and pinky knuckles: centre
    ``wrist + shift v``, side ``scale |v|``, rotated so that ``v`` points up, as the
    model expects of a region from a palm (the palm detector's rule: palm box scaled
    2.6, shifted half a palm towards the fingers).
    """
    rois = (knuckle_hand_roi(body.landmarks_2d, wrist, scale=scale, shift=shift, min_side=min_side)
            for body in bodies for wrist in _KNUCKLES_OF_WRIST)
    return [r for r in rois if r is not None]


def knuckle_hand_roi(landmarks_2d: np.ndarray, wrist: int, *, scale: float = 4.0, shift: float = 0.8,
                     min_side: float = 16.0) -> RotatedRect | None:
    """:func:`knuckle_hand_rois` for one wrist (BlazePose 16: right, 15: left) of ``(33, 2)``
    landmarks (pixels); ``None`` when the region's side is under ``min_side`` pixels."""
    pinky, index = _KNUCKLES_OF_WRIST[wrist]
    w = landmarks_2d[wrist]
    v = (landmarks_2d[pinky] + landmarks_2d[index]) / 2 - w
    side = scale * float(np.linalg.norm(v))
    if side < min_side:
        return None
    c = w + shift * v
    return RotatedRect(c[0], c[1], side, alignment_rotation(w, w + v, np.pi / 2))


def face_regions(bodies: Sequence[PartPose], *, min_side: float = 24.0) -> list[np.ndarray]:
    """Square boxes (pixels) around each body's head.

    With ``d = shoulder_mid - head_top``: centre ``head_top + 0.4 d``, side ``1.2 |d|``.
    """
    out = []
    for body in bodies:
        top = body.keypoints_2d[BODY_HEAD]
        d = body.keypoints_2d[list(BODY_SHOULDERS)].mean(axis=0) - top
        side = max(1.2 * float(np.linalg.norm(d)), min_side)
        c = top + 0.4 * d
        out.append(np.array([c[0] - side / 2, c[1] - side / 2, c[0] + side / 2, c[1] + side / 2]))
    return out


def body_regions_from_faces(faces: Sequence[PartPose]) -> list[np.ndarray]:
    """Square boxes (pixels) where the body of each face should be.

    With ``s`` the face box's larger side: side ``10 s``, horizontally centred on the
    face, top ``s`` above the face box (a standing person is about 8 face heights tall).
    """
    out = []
    for face in faces:
        x1, y1, x2, y2 = face.box
        s = max(x2 - x1, y2 - y1)
        cx = (x1 + x2) / 2
        out.append(np.array([cx - 5 * s, y1 - s, cx + 5 * s, y1 + 9 * s]))
    return out


def claims_face(body: PartPose, face: PartPose, *, min_size_ratio: float = 2.0) -> bool:
    """Whether a body found below ``face`` is that face's person.

    Its head must lie in the face's box (:func:`dope_core.fusion.assign_faces`) and its
    box's larger side must be at least ``min_size_ratio`` times the face box's: even a
    head-and-shoulders body is that much larger than its face, while a landmark pass
    that collapses onto the face gives a "body" of the face's size.
    """
    return bool(assign_faces([body], [face])) and box_side(body.box) >= min_size_ratio * box_side(face.box)


def face_near_a_head(face: PartPose, noses: Sequence[np.ndarray], *, reach: float = 1.0) -> bool:
    """Whether one of ``noses`` (a confident body's nose, pixels) lies in ``face``'s box grown by
    ``reach`` times its longer side on every side: that body's head, placed a little off its face
    (a woman in a knit hat: her body's nose 1.2 face sides below her face), not a person to seek
    below the face. Sought anyway, such a face gave a second, smaller skeleton over her."""
    x1, y1, x2, y2 = (float(v) for v in face.box[:4])
    grow = reach * max(x2 - x1, y2 - y1)
    grown = np.array([x1 - grow, y1 - grow, x2 + grow, y2 + grow])
    return any(box_contains(grown, nose) for nose in noses)


def skeletons_on_hands(bodies: Sequence[BodyLandmarks], hands: Sequence[PartPose], faces: Sequence[PartPose] = (),
                       *, min_hand_score: float = 0.9, inside: float = 2 / 3, margin: float = 1.2) -> list[int]:
    """Indices of the ``bodies`` that are skeletons fitted on a hand, not people.

    A body is one when at least ``inside`` of its 13 joints (pixels) lie in the box of one of
    ``hands`` whose presence is at least ``min_hand_score``, grown ``margin`` times around its
    centre, and its nose lies in none of the ``faces``' boxes. The body model, given a close-up
    hand (a hand held up to a webcam, a hand photo), returns a confident skeleton on the
    fingers (presence 0.98-1.0 on OneHand10K and InterHand2.6M images), whose wrists then claim
    the hand and relabel its side. A person's own joints seldom crowd into a hand's box that way
    (on 229 images the nearest case, a large false hand over a walker's legs, holds 7 of 13), and
    a person whose face is found is kept whatever a hand covers.
    """
    grown = [scaled_box(h.box, margin) for h in hands if h.score >= min_hand_score]
    out = []
    for i, body in enumerate(bodies):
        if any(box_contains(f.box, body.nose) for f in faces):
            continue
        joints = body.pose.keypoints_2d
        if any(np.mean([box_contains(box, p) for p in joints]) >= inside for box in grown):
            out.append(i)
    return out


def hands_on_bodies(bodies: Sequence[PartPose], hands: Sequence[PartPose], *,
                    max_hand_to_body: float = EXPERTS_MAX_HAND_TO_BODY, within: float = 0.9) -> list[int]:
    """Indices of the ``hands`` fitted on a body, not hands: at least ``within`` of the hand's box
    lies in the box of one of ``bodies`` (pixels), and its longer side exceeds ``max_hand_to_body``
    of that box's longer side, the size fusion refuses a body's hand
    (:data:`~dope_core.fusion.EXPERTS_MAX_HAND_TO_BODY`). The hand model, in a palm region on a
    person's clothes, may fit a confident hand over the torso and legs (0.91 presence, a 211-px
    "hand" on a 400-px walker of the demo clip at full size); a real hand that large beside its body is a
    close-up, whose skeleton on the hand has gone before (:func:`skeletons_on_hands`), and a hand
    held up before a person's body is a small part of that body's box, which runs out to the joints
    guessed below the image."""
    out = []
    for i, hand in enumerate(hands):
        side = box_side(hand.box)
        if any(side > max_hand_to_body * box_side(b.box) and fraction_within(hand.box, b.box) >= within
               for b in bodies):
            out.append(i)
    return out


def person_sources(config: ExpertsConfig, *, num_threads: int = 2) -> tuple:
    """The whole-image proposal sources of ``config`` besides BlazePose's detector (built in
    :class:`~dope_core.experts.body.BodyExpert`) and the face regions (run here), in the order
    named: Objectron's person SSD (``ssd``) and the optional YOLO detector (``yolo``, imported
    only then: it needs the ``yolo`` extra)."""
    sources: list = []
    for name in config.person_detectors:
        if name == "ssd":
            sources.append(SSDPersonDetector(score=config.ssd_score, tile_fractions=config.ssd_tile_fractions,
                                             fill_tile_fractions=config.ssd_fill_tile_fractions,
                                             num_threads=num_threads))
        elif name == "yolo":
            from dope_core.experts.yolo import YoloPoseDetector

            sources.append(YoloPoseDetector(image_size=config.yolo_image_size, score=config.yolo_score))
    return tuple(sources)


class ExpertsEstimator:
    """Whole-body estimator made of the three part experts (CPU, LiteRT).

    Args:
        parts: which parts to estimate.
        scores: minimum score per part for :meth:`__call__` (the fused result).
        num_threads: LiteRT CPU threads per model.
        tile_fractions: tile sides for the whole-image detector passes, as fractions of the
            image's longer side; ``(0.5, 0.3)`` finds smaller people at about twice the cost.
        mirrored: the images are mirrored (selfie view), for hand handedness.
        face_seeded_detector_score: person-detector threshold below unclaimed faces.
    """

    name = "experts"
    device = "cpu"

    def __init__(self, *, parts: Sequence[Part | str] = tuple(Part), scores: dict[Part, float] | None = None,
                 num_threads: int = 2, tile_fractions: Sequence[float] = (0.5,), mirrored: bool = False,
                 face_seeded_detector_score: float = 0.1, config: ExpertsConfig | None = None) -> None:
        self.parts = tuple(Part(p) for p in parts)
        if not self.parts:
            raise ValueError("at least one part must be estimated")
        if not all(isinstance(f, (int, float)) and 0.0 < f <= 1.0 for f in tile_fractions):
            raise ValueError(f"tile_fractions must lie in (0, 1] (fractions of the image's longer side), "
                             f"got {list(tile_fractions)}")
        self.config = (config or PRESETS["default"]).check_installed()
        self.scores = {Part.BODY: 0.5, Part.HAND: 0.5, Part.FACE: 0.5, **(scores or {})}
        self.face_seeded_detector_score = face_seeded_detector_score
        kw = dict(num_threads=num_threads, tile_fractions=tile_fractions)
        cfg = self.config
        self.body = BodyExpert(num_threads=num_threads, tile_fractions=cfg.tile_fractions,
                               min_tile_side=cfg.min_tile_side, detector_score=cfg.detector_score,
                               nested_body_score=cfg.nested_body_score,
                               max_people=cfg.max_people, max_candidates=cfg.max_candidates, recrop=cfg.recrop,
                               detector_whole_image="blazepose" in cfg.person_detectors,
                               sources=person_sources(cfg, num_threads=num_threads),
                               source_joints=[BODY_JOINTS.index(j) for j in cfg.source_joints],
                               landmark_model=BODY_LANDMARK_MODELS[cfg.body],
                               refine_model=BODY_LANDMARK_MODELS[cfg.body_refine] if cfg.body_refine else None,
                               refine_max=cfg.body_refine_max, refine_flip=cfg.body_refine_flip,
                               retry_refuted=cfg.body_retry_refuted,
                               ) if Part.BODY in self.parts or len(self.parts) < 3 else None
        self.hand = HandExpert(mirrored=mirrored, landmark_model=HAND_LANDMARK_MODELS[cfg.hand],
                               wrist_score=cfg.hand_wrist_score, zoom_out=cfg.hand_zoom_out,
                               weak_palm_score=cfg.hand_weak_palm_score, **kw
                               ) if Part.HAND in self.parts else None
        self.face = FaceExpert(zoom_out=cfg.face_zoom_out, head_score=cfg.face_head_score, **kw
                               ) if Part.FACE in self.parts else None

    def detect_parts(self, image: np.ndarray, *, min_score: float | None = None) -> dict[Part, list[PartPose]]:
        """Every detection of each requested part, before fusion.

        Args:
            image: RGB ``uint8`` ``(H, W, 3)``.
            min_score: one threshold for all parts (e.g. low, for distillation);
                ``None`` uses the per-part ``scores``.
        """
        return self.requested_parts(*self.detect_landmarks(image, min_score=min_score))

    def requested_parts(self, found: Sequence[BodyLandmarks], hands: list[PartPose],
                        faces: list[PartPose]) -> dict[Part, list[PartPose]]:
        """:meth:`detect_landmarks`' results as :meth:`detect_parts` gives them (requested parts only)."""
        out: dict[Part, list[PartPose]] = {}
        if Part.BODY in self.parts:
            out[Part.BODY] = [b.pose for b in found]
        if self.hand is not None:
            out[Part.HAND] = hands
        if self.face is not None:
            out[Part.FACE] = faces
        return out

    def detect_landmarks(self, image: np.ndarray, *, min_score: float | None = None, refine: bool = True
                         ) -> tuple[list[BodyLandmarks], list[PartPose], list[PartPose]]:
        """:meth:`detect_parts` with the bodies' native landmarks: ``(bodies, hands, faces)``.
        ``refine``: the bodies get the configured refining pass (``body_refine``; see
        :class:`~dope_core.experts.body.BodyExpert`).

        Bodies are searched (they guide the hands and faces) whenever a body expert is
        built, requested or not; hands and faces are empty lists when not requested.
        """
        check_image(image)
        thr = {p: self.scores[p] if min_score is None else min_score for p in Part}
        # Bodies guide the search for hands and faces even when not requested themselves.
        found = (self.body.detect_landmarks(image, min_score=thr[Part.BODY], refine=refine)
                 if self.body is not None else [])
        bodies = [b.pose for b in found]
        faces = []
        noses = [b.nose for b in found if b.pose.score >= self.scores[Part.BODY]]   # confident bodies'
        if self.face is not None:
            guides = [b for b in bodies if b.score >= self.scores[Part.BODY]]
            faces = self.face.detect(image, regions=face_regions(guides), min_score=thr[Part.FACE], heads=noses)
        if self.body is not None and faces and "faces" in self.config.person_detectors:
            claimed = assign_faces(bodies, faces, face_points=[b.nose for b in found])
            orphans = [f for i, f in enumerate(faces) if i not in claimed and f.score >= self.scores[Part.FACE]
                       and not face_near_a_head(f, noses)]
            more = [b for face, region in zip(orphans, body_regions_from_faces(orphans))
                    for b in self.body.detect_landmarks(image, regions=[region], min_score=thr[Part.BODY],
                                                        whole_image=False, max_people=2,
                                                        detector_score=self.face_seeded_detector_score,
                                                        refine=refine)
                    if claims_face(b.pose, face)]
            if more:
                found = self.body.dedupe(found + more)
                bodies = [b.pose for b in found]
        if self.face is not None and self.body is not None:
            faces = self.faces_at_heads(image, found, faces)
        hands = []
        if self.hand is not None:
            guides = [b for b in found if b.pose.score >= self.scores[Part.BODY]]
            hands = self.hand.detect(image, regions=hand_regions([b.pose for b in guides]),
                                     min_score=thr[Part.HAND], landmark_regions=knuckle_hand_rois(guides))
        found = self.without_skeletons_on_hands(found, hands, faces)
        return found, self.without_hands_on_bodies(found, hands), faces

    def without_skeletons_on_hands(self, found: Sequence[BodyLandmarks], hands: Sequence[PartPose],
                                   faces: Sequence[PartPose]) -> list[BodyLandmarks]:
        """``found`` less the skeletons fitted on a hand (:func:`skeletons_on_hands`, with the
        configuration's ``body_on_hand_score``; all kept when that is ``None``)."""
        score = self.config.body_on_hand_score
        drop = set(skeletons_on_hands(found, hands, faces, min_hand_score=score)) if score is not None else set()
        return [b for i, b in enumerate(found) if i not in drop]

    def without_hands_on_bodies(self, found: Sequence[BodyLandmarks], hands: Sequence[PartPose]) -> list[PartPose]:
        """``hands`` less the hands fitted on one of the confident ``found`` bodies (``scores``;
        :func:`hands_on_bodies`): the pseudo-labeller's uncertain bodies, down to a presence of
        0.05, may be small passes around a real hand."""
        confident = [b.pose for b in found if b.pose.score >= self.scores[Part.BODY]]
        drop = set(hands_on_bodies(confident, hands))
        return [h for i, h in enumerate(hands) if i not in drop]

    def faces_at_heads(self, image: np.ndarray, found: Sequence[BodyLandmarks], faces: Sequence[PartPose],
                       *, misplaced_overlap: float = 0.1) -> list[PartPose]:
        """``faces`` with the faces the face detector missed where confident bodies' landmarks put them.

        The detector finds upright faces: a person lying down or upside down keeps a body and
        loses the face, or gets one fitted on the forehead. For each confident body (``scores``)
        whose nose lies in none of the faces' boxes, one face-mesh pass in the region its face
        landmarks give (:func:`~dope_core.experts.propagation.face_roi_from_body`, the streaming
        experts' rule for a followed body's face); that face is added when the mesh is sure
        (presence at least the face score, whatever a caller's lower ``min_score``: at the back of
        a head it is not) and its box holds the nose. A detected face that overlaps it (box IoU at
        least ``misplaced_overlap``) and holds no confident body's nose is that head's face misplaced,
        and goes, as does one less sure than any face a call with the default scores keeps (the
        uncertain passes a low ``min_score`` keeps: a 0.06 mesh on a 17-px face had kept the 0.94
        one out); a face that does hold a nose and is the same face as the new one
        (:meth:`~dope_core.experts.face.FaceExpert.same_face`) keeps the head (nothing added: a second
        skeleton fitted on a person puts its nose on the chin, and the mesh there is the face's own,
        shifted). Measured on the 10 group photos of ``../shared/data`` (docs/accuracy.md):
        upright, one face added (a spectator's); turned 90 / 180 / 270 degrees, 19 / 11 / 22 faces
        on people become 25 / 28 / 31 (33 upright).
        """
        confident = [b for b in found if b.pose.score >= self.scores[Part.BODY]]
        floor = min(self.scores[Part.FACE], self.face.head_score)    # the least sure face a default call keeps
        out = list(faces)
        for body in confident:
            if any(f.score >= floor and box_contains(f.box, body.nose) for f in out):
                continue
            rect = face_roi_from_body(body)
            face = self.face.landmarks_in(image, rect) if rect is not None else None
            if face is None or face.score < self.scores[Part.FACE] or not box_contains(face.box, body.nose):
                continue
            overlap = [float(box_iou(face.box[None], f.box[None])[0, 0]) for f in out]
            misplaced = {i for i, f in enumerate(out) if overlap[i] >= misplaced_overlap
                         and (f.score < floor or not any(box_contains(f.box, b.nose) for b in confident))}
            if any(self.face.same_face(face, f) for i, f in enumerate(out) if i not in misplaced):
                continue
            out = [f for i, f in enumerate(out) if i not in misplaced] + [face]
        return out

    def __call__(self, image: np.ndarray) -> WholeBodyPoses:
        """The people in ``image`` (RGB ``uint8`` ``(H, W, 3)``), fused from the experts."""
        found, hands, faces = self.detect_landmarks(image)
        parts = self.requested_parts(found, hands, faces)
        h, w = image.shape[:2]
        bodies = parts.get(Part.BODY, [])
        return assemble(bodies, parts.get(Part.HAND, []), parts.get(Part.FACE, []), image_size=(w, h),
                        backend=self.name, face_points=[b.nose for b in found] if bodies else None,
                        max_hand_to_body=EXPERTS_MAX_HAND_TO_BODY, body_reach=self.config.hand_body_reach)
