"""The face expert: BlazeFace detectors + face-mesh landmark model.

Multi-face: the full-range BlazeFace runs on the whole image and on overlapping
tiles, the short-range one on regions around the heads of detected bodies; each
face gets a landmark pass in a rotated region. The 468 mesh points map to the 84
landmarks (:mod:`dope_core.experts.mapping`). 3D: the mesh's relative depth is in
the same (pixel) scale as x and y; it is turned into metres by setting the
distance between the outer eye corners to ``EYE_CORNER_DISTANCE_M``; origin at the
landmarks' mean, camera-aligned axes.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dope_core.boxes import box_contains, box_iou, fraction_within
from dope_core.experts.common import check_image, dedupe, extent, probability
from dope_core.experts.mapping import MESH_EYE_OUTER, face_from_mesh
from dope_core.experts.roi import RotatedRect, alignment_rotation
from dope_core.experts.ssd import AnchorConfig, Detection, SSDDetector, weighted_nms
from dope_core.experts.tflite import TFLiteModel
from dope_core.keypoints import Part
from dope_core.structures import PartPose

EYE_CORNER_DISTANCE_M = 0.09
"""Mean adult distance between the outer eye corners (biocular breadth), metres."""


class FaceExpert:
    """Multi-face expert.

    Args:
        num_threads: LiteRT CPU threads per model.
        tile_fractions: tile sides as fractions of the image's longer side (empty: no tiles).
        detector_score: minimum face-detector score for a landmark pass.
        max_faces: at most this many landmark passes per image.
        dedupe_iou: two faces whose boxes overlap above this are one face.
        zoom_out: also run the full-range detector on the whole image shrunk inside a black
            square this many times its longer side (:func:`~dope_core.experts.ssd.zoomed_out_view`),
            for close-ups whose face fills the image; ``0``: no such view.
        head_score: the mesh presence a face that a detector found needs when its box holds one of
            the ``heads`` of :meth:`detect` (a confident body's nose: the body vouches for a face
            there) that no surer face holds, when that is lower than ``min_score``. Blurred, small or
            sculpted faces on whole-body photos get mesh presences of 0.15-0.45 with their
            landmarks on the face; the backs of heads that the detectors take for faces get under
            0.02 (docs/accuracy.md).
        duplicate_iou: two faces whose boxes overlap above this, or one of which lies at least
            ``nested`` inside the other's box, are one face (:meth:`same_face`), kept from the
            stronger detection.
        nested: see ``duplicate_iou``.
    """

    part = Part.FACE

    def __init__(self, *, num_threads: int = 2, tile_fractions: Sequence[float] = (0.5,), detector_score: float = 0.5,
                 max_faces: int = 30, dedupe_iou: float = 0.4, zoom_out: float = 0.0, head_score: float = 0.5,
                 duplicate_iou: float = 0.05, nested: float = 0.5) -> None:
        self.full_range = SSDDetector(model="face_detection_full", anchors=AnchorConfig(192, (4,), interpolated_scale=False),
                                      num_keypoints=6, value_range=(-1.0, 1.0), num_threads=num_threads)
        self.short_range = SSDDetector(model="face_detection_short", anchors=AnchorConfig(128, (8, 16, 16, 16)),
                                       num_keypoints=6, value_range=(-1.0, 1.0), num_threads=num_threads)
        self.landmarks = TFLiteModel("face_landmark", num_threads=num_threads)
        self.tile_fractions = tuple(tile_fractions)
        self.detector_score = detector_score
        self.max_faces = max_faces
        self.dedupe_iou = dedupe_iou
        self.zoom_out = zoom_out
        self.head_score = head_score
        self.duplicate_iou = duplicate_iou
        self.nested = nested

    def detect(self, image: np.ndarray, *, regions: Sequence[np.ndarray] = (), min_score: float = 0.5,
               heads: Sequence[np.ndarray] = ()) -> list[PartPose]:
        """Faces in ``image``: the full-range detector on the whole image and tiles, the short-range
        one in ``regions`` (``(4,)`` boxes around bodies' heads, pixels); a face needs a mesh presence
        of ``min_score``, or of only ``min(min_score, head_score)`` when its box holds one of the
        ``heads`` (``(2,)`` points on bodies' faces, pixels) that no face of ``min_score`` holds.

        A low ``min_score`` (the pseudo-labeller's 0.05) keeps the uncertain passes of the usual
        search; it does not lower the detectors' threshold (``detector_score``): the mesh fitted in
        the region of a weak detection beside a face is as sure as the face's own (presence 0.9-1.0,
        displaced by a third of the face), 98 such pairs on 109 images of ``../shared/data`` at a
        detector threshold of 0.05 (docs/accuracy.md).

        Of two passes over one face (:meth:`same_face`), the one from the stronger detection is
        kept (a sure face before one only a head vouches for): the mesh's presence is 1.0 for both
        more often than not, and where they differ the stronger detection's face was the face in
        73 of 74 such pairs (the presence's: 45)."""
        check_image(image)
        h, w = image.shape[:2]
        thr = self.detector_score
        views = self.full_range.whole_image_views(w, h, self.tile_fractions, zoom_out=self.zoom_out)
        dets = self.full_range.detect(image, views, thr)
        dets += self.short_range.detect(image, list(regions), thr)
        dets = weighted_nms(dets, self.full_range.nms_iou)[: self.max_faces]
        seeded = []                               # (face pass, score of the detection it came from)
        for det in dets:
            rect = self._region(det)
            face = self.landmarks_in(image, rect) if rect is not None else None
            if face is not None:
                seeded.append((face, det.score))
        sure = [(p, s) for p, s in seeded if p.score >= min_score]
        open_heads = [h for h in heads if not any(box_contains(p.box, h) for p, _ in sure)]
        floor = min(min_score, self.head_score)
        vouched = [(p, s) for p, s in seeded
                   if floor <= p.score < min_score and any(box_contains(p.box, h) for h in open_heads)]
        poses = [p for p, _ in sure + vouched]
        rank = [1.0 + s for _, s in sure] + [s for _, s in vouched]
        return dedupe(poses, [p.box for p in poses], rank, self.dedupe_iou, same=self.same_face)

    def same_face(self, a: PartPose, b: PartPose) -> bool:
        """Whether the face pass ``a`` is a second pass over the face ``b`` (ranked before it): their
        boxes (pixels) overlap above ``duplicate_iou``, or either lies at least ``nested`` inside the
        other. The face mesh fits a confident face in a region shifted off a face (a weak or tile
        detection beside it: IoU 0.06-0.38 with the face's own pass) or on part of it (an eye, the
        mouth); the faces of two people seldom overlap at all (no pair of distinct faces above
        ``duplicate_iou`` on the 109 images)."""
        overlap = float(box_iou(a.box[None], b.box[None])[0, 0])
        return overlap > self.duplicate_iou or max(fraction_within(a.box, b.box), fraction_within(b.box, a.box)) >= self.nested

    def regions_near(self, image: np.ndarray, boxes: Sequence[np.ndarray]) -> list[RotatedRect]:
        """Landmark regions (pixels) of the faces that the short-range detector finds in ``boxes``
        (``(4,)`` boxes around heads, pixels; :func:`~dope_core.experts.ensemble.face_regions`),
        surest first: how :meth:`detect` seeks a face at a body's head, without the whole-image views."""
        check_image(image)
        dets = self.short_range.detect(image, list(boxes), self.detector_score)
        return [r for r in (self._region(d) for d in dets) if r is not None]

    @staticmethod
    def _region(det: Detection) -> RotatedRect | None:
        right_eye, left_eye = det.keypoints[0], det.keypoints[1]
        bw, bh = det.box[2] - det.box[0], det.box[3] - det.box[1]
        if max(bw, bh) < 2:
            return None
        centre = (det.box[:2] + det.box[2:]) / 2
        return RotatedRect(centre[0], centre[1], max(bw, bh), alignment_rotation(right_eye, left_eye, 0.0)).scaled(1.5)

    def landmarks_in(self, image: np.ndarray, rect: RotatedRect) -> PartPose | None:
        """One face-mesh pass in the rotated region ``rect`` (pixels) of ``image``; the score is
        the model's presence probability (low: no face there); ``None`` for a degenerate mesh."""
        size = self.landmarks.input_size
        mesh_raw, flag = self.landmarks(rect.crop(image, size, (0.0, 1.0)))
        presence = probability(flag.ravel()[0])
        mesh = mesh_raw.reshape(-1, 3).astype(np.float64)
        xy = rect.to_image(mesh[:, :2] / np.array(size))
        mesh_px = np.concatenate([xy, mesh[:, 2:] / size[0] * rect.side], axis=1)
        eye_px = np.linalg.norm(mesh_px[MESH_EYE_OUTER[0]] - mesh_px[MESH_EYE_OUTER[1]])
        if eye_px < 1e-6:
            return None
        face = face_from_mesh(mesh_px)
        kp3d = (face - face.mean(axis=0)) * (EYE_CORNER_DISTANCE_M / eye_px)
        return PartPose(
            part=Part.FACE,
            score=presence,
            box=extent(face[:, :2]),
            keypoints_2d=face[:, :2],
            keypoints_3d=kp3d,
            confidence=np.full(len(face), presence),
        )
