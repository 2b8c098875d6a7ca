"""The body expert: person proposals, then the BlazePose (full) landmark model per proposal.

Two stages behind small interfaces:

1. person proposals (:mod:`dope_core.experts.proposals`) from one or more sources
   (BlazePose's person detector on the whole image and tiles by default), merged by
   box overlap and capped;
2. :func:`body_landmarks_in`, the landmark model on the aligned region of interest of
   each proposal, best first. A proposal that a body already found explains (same
   place and scale) gets no pass of its own; a proposal that is a plain box (no
   alignment points) is re-cropped: the landmark model runs again on the aligned region
   its own auxiliary landmarks give (BlazePose's tracking re-crop).

Outputs 13 joints in 2D (pixels) and 3D (metres, origin at the middle of the hips,
camera-aligned axes: the model's world landmarks rotated back to the image).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from typing import Iterable, Optional, Sequence

import numpy as np

from dope_core.boxes import box_centre, box_contains, box_iou, fraction_inside, fraction_within
from dope_core.experts.body_landmarks import BodyLandmarks, body_landmarks_in
from dope_core.experts.body_rules import (face_in_face, flat, head_near, inside, needs_recrop, nested, on_body,
                                         one_person, same_region, seen_by, spread_over_others, too_small,
                                         upside_down)
from dope_core.experts.common import check_image, dedupe
from dope_core.experts.proposals import BlazePoseDetector, Proposal, ProposalSource, merge_proposals
from dope_core.experts.source_joints import (body_from_source, claim_unclaimed, source_agrees, split_shared_passes,
                                             with_source_joints)
from dope_core.experts.roi import RotatedRect
from dope_core.experts.ssd import Detection
from dope_core.experts.tflite import TFLiteModel
from dope_core.keypoints import Part
from dope_core.structures import PartPose

log = logging.getLogger(__name__)

__all__ = ["BodyExpert"]


@dataclasses.dataclass
class _Search:
    """The state of one search of :meth:`BodyExpert.detect_landmarks`: the landmark passes left
    (``budget``) of those allowed (``cap``, for the log), the regions examined, each proposal's
    pass and the bodies found."""

    budget: int
    cap: int = dataclasses.field(init=False)
    found: list[BodyLandmarks] = dataclasses.field(default_factory=list)
    done: list[RotatedRect] = dataclasses.field(default_factory=list)
    passes: dict[int, BodyLandmarks] = dataclasses.field(default_factory=dict)
    held: list[int] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self.cap = self.budget


class BodyExpert:
    """Multi-person body expert: proposals, then landmarks per proposal.

    Args:
        num_threads: LiteRT CPU threads per model.
        tile_fractions: tile sides of BlazePose's detector, as fractions of the image's
            longer side (empty: whole image only).
        min_tile_side: smallest tile side (pixels) of the detector.
        sources: extra proposal sources (each a :class:`~dope_core.experts.proposals.ProposalSource`),
            searched after BlazePose's detector.
        detector_score: minimum proposal score for a landmark pass.
        max_people: at most this many landmark passes (re-crops included) per image.
        max_candidates: at most this many merged proposals are considered (best first; logged when capped).
        recrop: also re-crop proposals that come with alignment points (BlazePose's detector):
            run the landmark model again on the region its own auxiliary landmarks give when that
            region differs from the proposal's. Box-only proposals are always re-cropped (they
            need the alignment). Measured: no change in recall or PCK on the multi-person sets.
        dedupe_iou: two bodies whose boxes overlap above this are one person (as are two
            that :func:`one_person` finds alike).
        detector_whole_image: BlazePose's detector searches the whole image and tiles (else only
            the regions it is given, e.g. below faces).
        confident_score: proposals scoring below this (but above ``detector_score``) get a
            landmark pass only where no body found so far lies (their centre outside every
            found body's box): weak proposals are mostly parts of people already found (the others
            get a late pass, ``weak_inside_passes``).
        nested_body_score: the body that the pass of a box-only proposal (the ``ssd`` detector's) or
            of a weak one (under ``confident_score``) finds is dropped when its box's centre lies in
            the box of a body found before and the landmark model is less sure of it than this
            (presence): a part of that person taken for another (0.55 on a pan held by a man,
            whose hands it then took). The people such passes find elsewhere stay, down to
            ``min_score`` (a crowd of PoseTrack: 0.6-0.8; docs/accuracy.md).
        nested_proposal_score: for that test, a proposal with alignment points (BlazePose's) scoring
            under this counts as weak too (at least ``confident_score``): BlazePose's detector also
            proposes 0.5-0.7 "faces" on a found person's torso or legs, whose passes fit a second,
            narrow skeleton inside that person (0.69 over the demo clip's man on the roof, which the
            stream then followed for 4 frames; over COCO 544's catcher; 0.72 over an arm wrestler,
            reaching far above the image), while the people half hidden behind others come from
            weak proposals' late passes (``weak_inside_passes``). On the shared photos, annotated
            images and video frames it drops those bodies and no other (docs/accuracy.md).
        source_joints: indices of :data:`~dope_core.keypoints.BODY_JOINTS` whose 2D is taken from
            the proposal's own keypoints when its source gives them (:func:`with_source_joints`).
        landmark_model: ``"pose_landmark"`` (BlazePose's full model), ``"pose_landmark_lite"``
            (the same inputs and outputs, about 0.6 of the CPU time per pass) or
            ``"pose_landmark_heavy"`` (the same, about 3 times the time per pass); the files of
            the last two come from :mod:`dope_core.experts.fetch_models`.
        refine_model: a second landmark model (e.g. ``"pose_landmark_heavy"``) that makes one
            last pass per body found, in the region its last pass ran on, and replaces that
            pass when it finds the same body there (:meth:`refined`): the more accurate
            model's joints for the cost of one pass per person, not one per proposal.
        refine_max: at most this many bodies per image get the refining pass, the tallest first.
        refine_flip: every pass of the ``refine_model`` (refining passes and second opinions)
            also runs on the mirrored region and averages the two (``flip`` of
            :func:`body_landmarks_in`): one more pass per refined body (docs/accuracy.md: on the
            multi-person samples PCK@0.2 0.699 -> 0.707, single-person PA-MPJPE 106 -> 102 mm,
            1.24 times the time per photo).
        second_opinion_accept: with a ``refine_model``, a proposal whose landmark pass scores under
            ``min_score`` gets a *second opinion*: the refining model's pass in the same region,
            which replaces it when that model is sure of a body there (presence at least this)
            at least ``second_opinion_height`` tall (regions centred outside the image get none:
            the heavy model found a 0.95 body in one, above zidane.jpg; nor do proposals with
            their own keypoints, whose source vouches for them, :func:`body_from_source`: with
            YOLO's, second opinions lost 1 of its 34 people); within ``max_people``. The heavy
            model sees people the full one doubts: a man half hidden behind a tennis net (0.99
            where the full model says 0.42), a wheelchair dancer seen from above (0.99 against 0.00).
        second_opinion_height: see ``second_opinion_accept`` (pixels). The false second opinions
            met were all small: a heavy presence of 1.0 on a soccer player's 33-px hand, 0.56 on
            a 25-px hand, 0.97 on a 95-px wrist and 1.0 on a 91-px sign.
        second_opinion_reach: a second opinion is taken only when its head is where the proposal
            saw a person: its nose within this many proposal sides (the longer side of the
            proposal's box) of the box's centre. BlazePose's detector keys on faces, so its box
            is about the head; heavy passes whose nose lay 1.2-8 sides away had fitted a person
            onto something else (a crawling man's legs, a pad, an arm, a face close-up), while
            those of the people found lay within 0.6.
        refine_min_height: bodies shorter than this (pixels) keep their pass (at that size such
            passes are mostly a hand or a leg taken for a person).
        refuted_score: a body that the landmark model is not sure of (presence under
            ``nested_body_score``) is dropped when the ``refine_model``'s pass in its region finds no
            body there at all (presence under this): the two models disagree, and the more accurate
            one sees nothing (a bus's logo taken for a 0.74 person, where the heavy model says 0.01).
            Real people that the full model finds at 0.5-0.8 get 0.2-0.4 or more from the heavy
            model on the shared photos and samples (docs/accuracy.md). 0 keeps every such body.
        refuted_sure_score: the same for a body the landmark model is sure of (presence at least
            ``nested_body_score``). 0 (the default) keeps them all: at 0.05 it dropped 5 false
            bodies of 0.84-1.0 (a cheek, a thumb, a sofa) but also 2 real people half hidden in a
            crowd (heavy presence 0.00) on the shared photos, samples and video frames.
        refuted_small_score: a body shorter than ``refine_min_height`` (never refined) gets a pass of
            the ``refine_model`` in its region (presence only, its joints stay), and is dropped when
            that presence is under this: the full model fits 20-60 px people onto small things (wall
            cameras of Human3.6M's room, a hand holding a pen, litter on a lawn, a treadmill's
            parts), where the heavy model sees none (0.00-0.07), while the small people of the
            crowds get 0.4-1.0 (docs/accuracy.md). One more pass per such body among the
            ``refine_max`` tallest; 0 keeps them all.
        contradicted_inside: a body (no proposal vouching for it) whose box lies less than this
            fraction inside the image is dropped when the ``refine_model``'s pass in its region is
            sure of a person there (presence at least ``confident_score``) that is neither this body
            (:func:`one_person`) nor another body found: the two models fit different skeletons onto
            things at the image's edge, reaching far outside (skis and poles taken for a 0.94 person
            lying across the image's left edge, a 0.93 one above a Human3.6M room's ceiling).
            Contradicted bodies lying mostly inside the image are often real people (pedestrians
            half hidden in a crowd, face close-ups whose body both models guess) and stay
            (docs/accuracy.md). 0 keeps every contradicted body.
        flat_aspect, flat_on_others: a flat body (no proposal vouching for it; its box at least
            ``flat_aspect`` times as wide as tall, :func:`flat`) that the ``refine_model`` does not
            confirm is dropped, wherever it lies: when that model finds no body in its region
            (presence under ``confident_score``), or when it is sure of another skeleton there (as
            above) and at least ``flat_on_others`` of the body's joints lie in the boxes of the other
            bodies found (:func:`spread_over_others`). Such bodies are skeletons spread over people
            or things: a 1.0 one across the two men of zidane.jpg recompressed as WebP, along a man's
            arm and his truck's engine, over a ballroom's spectators, a studio's sofa and ceiling
            lights (docs/accuracy.md). A person lying or crouching that the heavy model sees as
            another skeleton and who lies on nobody found stays (a baseball catcher). ``flat_aspect``
            0 keeps them.
        confirm_upside_down: a body (no proposal vouching for it) whose head top lies below the middle
            of its hips in the image (:func:`upside_down`) is dropped unless the ``refine_model`` finds
            it there too (:func:`one_person` with its pass, presence at least ``confident_score``): the
            full model fits skeletons head down onto a studio's sofa and ceiling, a treadmill, a man's
            legs (second skeletons), a car at the image's edge; people falling, lying or upside down
            that the heavy model confirms stay (docs/accuracy.md: on the labelled samples and their
            copies, recall and PCK unchanged, the lab images' false bodies 35 -> 28 on the copies).
        unconfirmed_inside: a body the landmark model is not sure of (presence under
            ``nested_body_score``, no proposal vouching for it) whose box lies less than this
            fraction inside the image is dropped unless the ``refine_model`` finds it there too
            (:func:`one_person` with its pass, presence at least ``confident_score``; for a body
            under ``refine_min_height``, the presence alone): skeletons of 0.55-0.66 fitted along
            the ceiling lights or the wall at a studio image's edge, on a pool's rim, whose joints
            lie mostly outside the image (docs/accuracy.md). 0 keeps them.
        on_body_size_ratio: ``size_ratio`` of :func:`on_body` in :meth:`dedupe`: a body lying in a
            higher-ranked one's box, smaller than this fraction of it and with its head below that
            one's shoulders, is a skeleton fitted on that person's legs (0.42-0.55 of the person's
            size in the labs of Human3.6M, MPI-INF-3DHP and Pose2Sim). Without the head's test, 0.6
            also took a skier half hidden behind another at 160 px (docs/accuracy.md); 0 turns the
            rule off (:func:`nested`'s 0.4 stays).
        search_score: the presence from which a pass is a body the search builds on (its region
            taken, its second opinion spared, its refining pass made) whatever ``min_score``: a
            lower ``min_score`` only adds the uncertain passes the search made where it found no
            body (:meth:`detect_landmarks`).
        retry_refuted: once the refining pass has refuted bodies, the first search's proposals
            centred in their boxes are examined again (:meth:`retried`), with the passes left and
            ``retry_passes`` more per refuted body (a crowd may have spent ``max_people``).
        weak_inside_passes: once every body is found and refined, the weak proposals whose region's centre
            lies in a body found (which the search gives no pass) get theirs (:meth:`held_passes`), and a
            body they find is kept when it is another person: its box not mostly (``weak_inside_within``)
            in a body's, neither :meth:`same_person` with one nor with its nose at one's
            (``weak_inside_head``, a fraction of its height), and the ``refine_model`` sure of it and of no
            body found (:meth:`_another_person`). People half hidden behind others, small in a large photo
            (skiers in a row, a man behind a sign): with the labelled images shrunk onto their canvas,
            recall 0.763 -> 0.831 at 100 px, 0.576 -> 0.610 at 60 px; full size and the perturbed copies
            unchanged (docs/accuracy.md). Made only with the refining pass (not in streams).
        unseen_score: a body (no proposal vouching for it) of a whole-image search that the person
            detector giving boxes down to a low score does not see is dropped (the ``ssd`` source's
            :meth:`~dope_core.experts.proposals.SSDPersonDetector.propose_with_support`, from the run that
            gives its proposals): none of its boxes scoring at least this overlaps the body's box (clipped
            to the image) at IoU 0.3 or holds most of it (:func:`seen_by`). Bodies under ``unseen_height``
            are kept (that detector misses small people). Of 164 bodies on labelled people (the labelled
            images as they are, mirrored, enlarged), 162 had a box of 0.3 or more; the 7 bodies it drops
            on 179 photos, annotated images and video frames were on an eye, a thumb, a backpack, a space
            shuttle, a column of a crowd, a walker's legs and a spectators' stand (docs/accuracy.md). 0
            keeps them all and runs that detector at its proposal threshold only.
        unseen_height: see ``unseen_score``: a fraction of the image's longer side (the body's height,
            its box clipped to the image).
        min_height, flat_height: bodies under ``min_height`` pixels tall, or under ``flat_height``
            and more than 2.5 times as wide as tall, are not output (:func:`too_small`; 0: no limit).

    A confident proposal (``confident_score``) with keypoints vouches for its person: when the
    landmark model's presence is below ``min_score`` but its joints agree with the source's
    (:func:`source_agrees`), the body is kept with the proposal's score (the landmark model's
    presence is low on people it sees in part, e.g. from the back or occluded). And every
    proposal with keypoints (which passed its source's own threshold) is a person in the
    output: when no body found agrees with its keypoints, :func:`body_from_source` makes one
    from them, scored by the source (with a landmark pass in its region for the 3D, within
    ``max_people``), whatever ``min_score``. With such a source the expert finds at least the
    people the source finds.
    """

    part = Part.BODY

    def __init__(self, *, num_threads: int = 2, tile_fractions: Sequence[float] = (0.5,), min_tile_side: float = 168.0,
                 sources: Sequence[ProposalSource] = (), detector_score: float = 0.5, max_people: int = 20,
                 max_candidates: int = 100, recrop: bool = False, dedupe_iou: float = 0.5,
                 detector_whole_image: bool = True, confident_score: float = 0.5,
                 source_joints: Sequence[int] = (), landmark_model: str = "pose_landmark",
                 refine_model: Optional[str] = None, refine_max: int = 10, refine_flip: bool = False,
                 second_opinion_accept: float = 0.8,
                 second_opinion_height: float = 128.0, second_opinion_reach: float = 1.0,
                 refine_min_height: float = 64.0, nested_body_score: float = 0.8, nested_proposal_score: float = 0.7,
                 refuted_score: float = 0.05, refuted_sure_score: float = 0.0, refuted_small_score: float = 0.1,
                 contradicted_inside: float = 0.5, unconfirmed_inside: float = 0.5,
                 flat_aspect: float = 1.4, flat_on_others: float = 0.5, confirm_upside_down: bool = True,
                 on_body_size_ratio: float = 0.6, search_score: float = 0.5, retry_refuted: bool = True,
                 weak_inside_passes: bool = True, weak_inside_within: float = 0.9, weak_inside_head: float = 0.05,
                 retry_passes: int = 3, unseen_score: float = 0.08, unseen_height: float = 0.1,
                 min_height: float = 16.0, flat_height: float = 24.0) -> None:
        self.detector = BlazePoseDetector(num_threads=num_threads, tile_fractions=tile_fractions,
                                          min_tile_side=min_tile_side)
        self.sources = tuple(sources)
        self.landmarks = TFLiteModel(landmark_model, num_threads=num_threads)
        self.refine_model = refine_model
        self._num_threads = num_threads
        self.refine_max = refine_max
        self.refine_flip = refine_flip
        self.second_opinion_accept = second_opinion_accept
        self.second_opinion_height = second_opinion_height
        self.second_opinion_reach = second_opinion_reach
        self.refine_min_height = refine_min_height
        self.detector_score = detector_score
        self.max_people = max_people
        self.max_candidates = max_candidates
        self.recrop = recrop
        self.dedupe_iou = dedupe_iou
        self.on_body_size_ratio = on_body_size_ratio
        self.search_score = search_score
        self.detector_whole_image = detector_whole_image
        self.confident_score = confident_score
        self.nested_body_score = nested_body_score
        self.nested_proposal_score = nested_proposal_score
        self.refuted_score = refuted_score
        self.refuted_sure_score = refuted_sure_score
        self.refuted_small_score = refuted_small_score
        self.contradicted_inside = contradicted_inside
        self.flat_aspect = flat_aspect
        self.flat_on_others = flat_on_others
        self.confirm_upside_down = confirm_upside_down
        self.unconfirmed_inside = unconfirmed_inside
        self.source_joints = tuple(source_joints)
        self.retry_refuted = retry_refuted
        self.weak_inside_passes = weak_inside_passes
        self.weak_inside_within = weak_inside_within
        self.weak_inside_head = weak_inside_head
        self.retry_passes = retry_passes
        self.unseen_score = unseen_score
        self.unseen_height = unseen_height
        self.min_height = min_height
        self.flat_height = flat_height

    @functools.cached_property
    def refine_landmarks(self) -> Optional[TFLiteModel]:
        """The ``refine_model``, loaded on first use (a stream, which never refines, loads it for its first
        second opinion of a body it lost, if ever)."""
        return TFLiteModel(self.refine_model, num_threads=self._num_threads) if self.refine_model else None

    @property
    def tile_fractions(self) -> tuple[float, ...]:
        return self.detector.tile_fractions

    def landmarks_in(self, image: np.ndarray, roi: RotatedRect) -> BodyLandmarks:
        """One landmark pass in ``roi`` (:func:`body_landmarks_in` with this expert's model)."""
        return body_landmarks_in(self.landmarks, image, roi)

    def refine_landmarks_in(self, image: np.ndarray, roi: RotatedRect, *, min_score: float = 0.0) -> BodyLandmarks:
        """One pass of the ``refine_model`` in ``roi``, mirrored too with ``refine_flip`` when its
        presence is at least ``min_score`` (a caller that refuses passes below it skips the mirrored
        pass of those: about a quarter of the heavy passes on the multi-person photos)."""
        return body_landmarks_in(self.refine_landmarks, image, roi, flip=self.refine_flip, flip_min_score=min_score)

    def detect(self, image: np.ndarray, *, regions: Sequence[np.ndarray] = (), min_score: float = 0.5,
               whole_image: bool = True, detector_score: float | None = None,
               max_people: int | None = None) -> list[PartPose]:
        """Bodies in ``image`` (arguments as :meth:`detect_landmarks`)."""
        return [b.pose for b in self.detect_landmarks(image, regions=regions, min_score=min_score,
                                                       whole_image=whole_image, detector_score=detector_score,
                                                       max_people=max_people)]

    def proposals(self, image: np.ndarray, *, regions: Sequence[np.ndarray] = (), whole_image: bool = True,
                  min_score: float = 0.5) -> list[Proposal]:
        """Merged person proposals of every source (only BlazePose's detector in ``regions`` when not ``whole_image``)."""
        return self.proposals_and_support(image, regions=regions, whole_image=whole_image, min_score=min_score)[0]

    def proposals_and_support(self, image: np.ndarray, *, regions: Sequence[np.ndarray] = (), whole_image: bool = True,
                              min_score: float = 0.5) -> tuple[list[Proposal], Optional[list[Detection]]]:
        """:meth:`proposals` and the person boxes (pixels) down to ``unseen_score`` of the sources that give them
        (``propose_with_support``), from the same runs; ``None`` when none does (or not ``whole_image``, or
        ``unseen_score`` is 0): then no body is judged by them."""
        found = self.detector.propose(image, min_score=min_score, regions=regions,
                                      whole_image=whole_image and self.detector_whole_image)
        support: Optional[list[Detection]] = None
        if whole_image:
            for source in self.sources:
                if self.unseen_score > 0 and hasattr(source, "propose_with_support"):
                    more, seen = source.propose_with_support(image, min_score=min_score,
                                                             support_score=self.unseen_score)
                    support = (support or []) + seen
                    found += more
                else:
                    found += source.propose(image, min_score=min_score)
        return merge_proposals(found, max_candidates=self.max_candidates), support

    def fill_proposals(self, image: np.ndarray, proposals: Sequence[Proposal]) -> list[Proposal]:
        """The sources' proposals of a last search (``propose_fill``: the ``ssd`` detector on smaller
        tiles), merged, except those overlapping one of ``proposals`` (box IoU above 0.5)."""
        found = [p for source in self.sources if hasattr(source, "propose_fill") for p in source.propose_fill(image)]
        if not found:
            return []
        fill = merge_proposals(found, max_candidates=self.max_candidates)
        if not proposals:
            return fill
        boxes = np.stack([p.box for p in proposals])
        return [p for p in fill if box_iou(np.asarray(p.box, dtype=np.float64)[None], boxes).max() <= 0.5]

    def proposals_in(self, image: np.ndarray, regions: Sequence[np.ndarray], *, min_score: float = 0.5,
                     sources: bool = True, detector: bool = True) -> list[Proposal]:
        """Merged person proposals in each of ``regions`` (``(4,)`` boxes, pixels) only, a local
        search (e.g. where a followed person was lost): BlazePose's detector when searching is its
        job (``detector_whole_image``) and ``detector``, and with ``sources`` every other source that
        can look in a region (``propose_in``)."""
        found = (self.detector.propose(image, min_score=min_score, regions=regions, whole_image=False)
                 if self.detector_whole_image and detector else [])
        for source in self.sources if sources else ():
            if hasattr(source, "propose_in"):
                found += source.propose_in(image, regions)
        return merge_proposals(found, max_candidates=self.max_candidates)

    def detect_landmarks(self, image: np.ndarray, *, regions: Sequence[np.ndarray] = (), min_score: float = 0.5,
                         whole_image: bool = True, detector_score: float | None = None,
                         max_people: int | None = None, refine: bool = True) -> list[BodyLandmarks]:
        """Bodies in ``image``, each with the model's 33 native landmarks.

        Args:
            regions: extra ``(4,)`` boxes (pixels) searched by BlazePose's detector at their own scale.
            min_score: minimum body score (the landmark model's presence probability). Under
                ``search_score`` it does not change the search: a low ``min_score`` (the
                pseudo-labeller's 0.05) adds the uncertain passes of the usual search that lie on
                no body found (:meth:`dedupe` keeps them after every body), it neither lowers the
                proposal threshold (weak proposals' passes give spurious bodies scored as high as
                0.85: 9 pseudo ground-truth bodies for the 2 people of zidane.jpg) nor lets an
                uncertain pass take a person's region (a 0.16 pass had kept out the 1.0 body of
                the usual search: 26 of its 292 bodies on 109 images of ``../shared/data``).
            whole_image: also search the whole image, its tiles and the other sources, and, once
                every proposal has been examined, the sources' last search (:meth:`fill_proposals`),
                whose proposals get a landmark pass only where no body has been found (their box's
                centre outside every body's box; no second opinion). The last search is made only
                with ``refine`` and a ``refine_model``, whose pass drops the false bodies it finds
                (``refuted_score``: a 0.68 person on a kitchen's utensils); the streaming experts'
                searches (no refining pass) make none. With ``weak_inside_passes`` and the refining
                pass, the weak proposals held inside bodies get a late pass too (:meth:`held_passes`).
            detector_score: proposal threshold for this call (default: the constructor's).
            max_people: landmark passes for this call (default: the constructor's).
            refine: give the bodies found the ``refine_model``'s pass (when there is one;
                the streaming experts follow people with one model and ask for none).
        """
        check_image(image)
        # the search runs at search_score at least; passes from the caller's lower min_score come after it
        uncertain_from, min_score = min_score, max(min_score, self.search_score)
        gate = self.detector_score if detector_score is None else detector_score
        search = _Search(budget=max_people or self.max_people)
        proposals, support = self.proposals_and_support(image, regions=regions, whole_image=whole_image, min_score=gate)
        first = len(proposals)                      # proposals from here on are the last search's
        if whole_image and refine and self.refine_model is not None:
            proposals += self.fill_proposals(image, proposals)
        self._examine(image, proposals, range(len(proposals)), search, first=first, min_score=min_score, refine=refine)
        found = split_shared_passes(claim_unclaimed(search.found, proposals, source_joints=self.source_joints),
                                    proposals)
        for i, proposal in enumerate(proposals):
            if proposal.keypoints is None or any(b.claim == i or source_agrees(b.pose, proposal.keypoints) for b in found):
                continue
            body = search.passes.get(i)
            if body is None:
                roi = proposal.roi()
                if roi is None or search.budget <= 0:
                    continue
                body = self.landmarks_in(image, roi)
                search.budget -= 1
            found.append(dataclasses.replace(body_from_source(body, proposal), claim=i))
        found = self.dedupe(found)
        if refine and self.refine_landmarks is not None:
            found, refuted = self.refined_all(image, found, proposals, min_score=min_score)
            if refuted and self.retry_refuted:
                found = self.retried(image, found, refuted, proposals, search, first=first, min_score=min_score)
        uncertain = [b for b in search.passes.values() if uncertain_from <= b.pose.score < min_score]
        if refine and self.refine_landmarks is not None and whole_image and self.weak_inside_passes and search.held:
            found = self.held_passes(image, found, proposals, search, first=first, min_score=min_score)
        found = [b for b in found + self.on_no_body(uncertain, found)
                 if not too_small(b.pose.box, min_height=self.min_height, flat_height=self.flat_height)]
        if support is None:
            return found
        boxes, scores = np.array([d.box for d in support]).reshape(-1, 4), np.array([d.score for d in support])
        return [b for b in found if not self.unseen(b, boxes, scores, image.shape)]

    def unseen(self, body: BodyLandmarks, boxes: np.ndarray, scores: np.ndarray, shape: Sequence[int]) -> bool:
        """Whether ``body`` is one that no person detector sees (``unseen_score``): no proposal vouches
        for it, its box clipped to the image (``shape``: height, width) is at least ``unseen_height`` of
        the image's longer side tall, and none of the person boxes ``boxes`` (``(N, 4)``, pixels) whose
        ``scores`` are at least ``unseen_score`` sees it (:func:`seen_by`)."""
        if self.unseen_score <= 0 or body.claim is not None:
            return False
        height, width = shape[:2]
        box = np.clip(np.asarray(body.pose.box[:4], dtype=np.float64), 0, [width, height, width, height])
        if box[3] - box[1] < self.unseen_height * max(height, width):
            return False
        sure = scores >= self.unseen_score
        score = seen_by(box, boxes[sure], scores[sure])
        if score < self.unseen_score:
            log.debug("body %s (presence %.2f) dropped: no person detector sees it (best %.2f)",
                      np.round(body.pose.box).astype(int).tolist(), body.pose.score, score)
            return True
        return False

    def _examine(self, image: np.ndarray, proposals: Sequence[Proposal], order: Iterable[int], search: "_Search", *,
                 first: int, min_score: float, refine: bool, weak_inside: bool = False) -> None:
        """The landmark passes of the proposals ``order`` names (indices into ``proposals``, best
        first), within ``search.budget``; the bodies they find are added to ``search.found``. A
        proposal that already has a pass (``search.passes``) is judged again on it, without a new
        pass: against the bodies found now. A weak proposal centred in a body found gets no pass and
        is held (``search.held``); with ``weak_inside`` (:meth:`held_passes`) it gets one unless its box
        lies mostly in a body found (``weak_inside_within``)."""
        order = list(order)
        for n, i in enumerate(order):
            proposal = proposals[i]
            if i >= first and any(box_contains(b.pose.box, box_centre(proposal.box)) for b in search.found):
                continue
            body = search.passes.get(i)
            roi = body.roi if body is not None else proposal.roi()
            if body is None:
                if search.budget <= 0:
                    log.info("landmark passes capped at %d: %d person proposals left unexamined",
                             search.cap, len(order) - n)
                    break
                if roi is None or any(same_region(roi, other) for other in search.done):
                    continue
                if proposal.score < self.confident_score and any(inside(roi, b.pose.box) for b in search.found):
                    if not weak_inside:
                        search.held.append(i)
                        continue
                    if any(fraction_within(proposal.box, b.pose.box) >= self.weak_inside_within for b in search.found):
                        continue
                search.done.append(roi)
                body = self.landmarks_in(image, roi)
                search.budget -= 1
                again = body.next_roi()
                if (proposal.alignment is None or (self.recrop and body.pose.score >= min_score)) \
                        and search.budget > 0 and needs_recrop(body) \
                        and not any(same_region(again, other) for other in search.done):
                    search.done.append(again)
                    body = self.landmarks_in(image, again)
                    search.budget -= 1
                if refine and self.refine_landmarks is not None and search.budget > 0 and body.roi is not None \
                        and body.pose.score < min_score and proposal.keypoints is None and i < first \
                        and inside(body.roi, np.array([0, 0, *image.shape[1::-1]])):
                    accept = max(min_score, self.second_opinion_accept)
                    second = dataclasses.replace(self.refine_landmarks_in(image, body.roi, min_score=accept),
                                                 refined=True)
                    search.budget -= 1
                    if second.pose.score >= accept \
                            and second.pose.box[3] - second.pose.box[1] >= self.second_opinion_height \
                            and head_near(second, proposal.box, reach=self.second_opinion_reach):
                        body = second
                search.passes[i] = body
            if body.pose.score < min_score and proposal.keypoints is not None \
                    and proposal.score >= self.confident_score and source_agrees(body.pose, proposal.keypoints):
                body = dataclasses.replace(body, pose=dataclasses.replace(body.pose, score=proposal.score))
            if self.nested_part(proposal, body, [b.pose.box for b in search.found]):
                continue
            if body.pose.score >= min_score:
                if proposal.keypoints is not None and source_agrees(body.pose, proposal.keypoints):
                    body = dataclasses.replace(with_source_joints(body, proposal.keypoints, self.source_joints), claim=i)
                search.found.append(body)
                search.done.append(body.next_roi() or roi)

    def nested_part(self, proposal: Proposal, body: BodyLandmarks, boxes: Sequence[np.ndarray]) -> bool:
        """Whether ``body``, the pass of ``proposal``, is a part of a person found (``boxes``, pixels) rather than
        another person: its box's centre lies in one of ``boxes``, its proposal is box-only or weak (no
        keypoints of its own; under ``confident_score`` or, with alignment points, ``nested_proposal_score``)
        and the landmark model is less sure of it than ``nested_body_score``. Also the streaming experts'
        test for the newcomers their person scan finds."""
        weak = proposal.score < max(self.confident_score, self.nested_proposal_score)
        return proposal.keypoints is None and (proposal.alignment is None or weak) \
            and body.pose.score < self.nested_body_score \
            and any(box_contains(box, box_centre(body.pose.box)) for box in boxes)

    def held_passes(self, image: np.ndarray, found: list[BodyLandmarks], proposals: Sequence[Proposal],
                    search: "_Search", *, first: int, min_score: float) -> list[BodyLandmarks]:
        """``found`` (refined) and the people that the weak proposals held in the search (centred in a body
        found, ``search.held``) find, last: each held proposal whose box does not lie mostly in a body
        (``weak_inside_within``) gets its landmark pass (:meth:`_examine`; an unsure pass centred in a body
        is dropped there), and the body it finds is kept when it is another person (:meth:`_another_person`),
        with the ``refine_model``'s joints. Such proposals are often a person half hidden behind another
        (skiers in a row, small in a large photo); their passes come after every body has been found and
        refined, so that they are judged against the bodies as output."""
        search.found = list(found)
        self._examine(image, proposals, list(dict.fromkeys(search.held)), search, first=first, min_score=min_score,
                      refine=True, weak_inside=True)
        kept: list[BodyLandmarks] = []
        for body in search.found[len(found):]:
            fine = self._another_person(image, body, [*found, *kept], min_score=min_score)
            if fine is not None:
                kept.append(fine)
        if kept:
            log.debug("%d bodies found by weak proposals inside bodies found", len(kept))
        return found + kept

    def _another_person(self, image: np.ndarray, body: BodyLandmarks, others: Sequence[BodyLandmarks], *,
                        min_score: float) -> Optional[BodyLandmarks]:
        """``body`` as the ``refine_model`` finds it in its region, when it is a person that none of
        ``others`` is: not :meth:`same_person` with one, its box not mostly in one's (``weak_inside_within``),
        and the ``refine_model`` sure of it there (presence at least ``confident_score``, :func:`one_person`
        with ``body``) and of none of ``others``, nor its nose within ``weak_inside_head`` of its height of
        one's (one head, two fits: a full skeleton of a soccer player whose upper body was found); else
        ``None``. The full model fits second skeletons over a found person's torso at 1.0 (a tennis player,
        an arm wrestler)."""
        head = self.weak_inside_head * max(1.0, float(body.pose.box[3] - body.pose.box[1]))
        if any(self.same_person(body, b) or self.same_person(b, body)
               or fraction_within(body.pose.box, b.pose.box) >= self.weak_inside_within
               or float(np.linalg.norm(body.nose - b.nose)) < head for b in others):
            return None
        floor = max(min_score, self.confident_score)
        fine = self.refine_landmarks_in(image, body.roi, min_score=floor)
        if fine.pose.score < floor or not one_person(fine.pose, body.pose) \
                or any(one_person(fine.pose, b.pose) for b in others):
            return None
        return dataclasses.replace(fine, refined=True)

    def refined_all(self, image: np.ndarray, found: Sequence[BodyLandmarks], proposals: Sequence[Proposal], *,
                    min_score: float, context: Sequence[BodyLandmarks] = ()
                    ) -> tuple[list[BodyLandmarks], list[BodyLandmarks]]:
        """The ``refine_max`` tallest of ``found`` after :meth:`refined`, the others as they are:
        ``(kept, refuted)``, the bodies the refining pass dropped apart. ``context``: bodies found
        before, which :meth:`refined` weighs as the others too."""
        tallest = sorted(range(len(found)), key=lambda i: found[i].pose.box[1] - found[i].pose.box[3])
        chosen = set(tallest[:self.refine_max])
        kept, refuted = [], []
        for i, body in enumerate(found):
            out = self.refined(image, body, proposals, min_score=min_score,
                               others=[*context, *found[:i], *found[i + 1:]]) if i in chosen else body
            if out is None:
                refuted.append(body)
            else:
                kept.append(out)
        return kept, refuted

    def retried(self, image: np.ndarray, found: list[BodyLandmarks], refuted: Sequence[BodyLandmarks],
                proposals: Sequence[Proposal], search: "_Search", *, first: int, min_score: float
                ) -> list[BodyLandmarks]:
        """``found`` and the bodies of the first search's proposals centred in a ``refuted`` body's box,
        examined again now that it is gone (:meth:`_examine`; the passes left and ``retry_passes``
        more per refuted body): a body that the
        refining pass refutes is often one skeleton spread over two people, whose box kept the
        proposals of both out of the search (weak ones inside a body found get no pass, unsure passes
        there are dropped). A new body needs a presence of ``nested_body_score``, as an unsure pass
        inside a body does (on 90 images and 132 video frames of ``../shared/data``, mirrored too,
        the second look found five people, at 0.82-1.0; without that presence, also a skeleton on a
        sign, at 0.56), and gets the refining pass too."""
        boxes = [b.pose.box for b in refuted]
        rois = [b.roi for b in refuted]
        order = [i for i in range(first) if proposals[i].keypoints is None
                 and any(box_contains(box, box_centre(proposals[i].box)) for box in boxes)
                 and not (i in search.passes and search.passes[i].roi in rois)]
        if not order:
            return found
        claimed = [b.next_roi() for b in refuted]     # the regions the refuted bodies took from the search
        search.done = [r for r in search.done if r not in claimed or r in rois]
        search.found = list(found)
        search.budget = max(search.budget, 0) + self.retry_passes * len(refuted)
        search.cap += self.retry_passes * len(refuted)
        self._examine(image, proposals, order, search, first=first, min_score=min_score, refine=True)
        new = [b for b in search.found[len(found):] if b.pose.score >= self.nested_body_score]
        if not new:
            return found
        merged = self.dedupe([*found, *new])
        old = [b for b in merged if any(b is f for f in found)]
        again, _ = self.refined_all(image, [b for b in merged if not any(b is f for f in found)], proposals,
                                    min_score=min_score, context=old)
        if again:
            log.debug("%d bodies found where the refining pass refuted %d", len(again), len(refuted))
        return old + again

    def on_no_body(self, uncertain: Sequence[BodyLandmarks], bodies: Sequence[BodyLandmarks]) -> list[BodyLandmarks]:
        """The passes of ``uncertain`` (surest first) that :meth:`dedupe` keeps beside ``bodies`` and
        the ones kept before them: none on a person found, one per person elsewhere."""
        kept: list[BodyLandmarks] = []
        for body in sorted(uncertain, key=lambda b: -b.pose.score):
            if any(other is body for other in self.dedupe([*bodies, *kept, body])):
                kept.append(body)
        return kept

    def refined(self, image: np.ndarray, body: BodyLandmarks, proposals: Sequence[Proposal], *,
                min_score: float = 0.5, others: Sequence[BodyLandmarks] = ()) -> Optional[BodyLandmarks]:
        """``body`` after the ``refine_model``'s pass in the region its last pass ran on, when
        there is such a model, the body's joints are the landmark model's (not a source's), the
        body is a confident one and the refining pass finds that body there (both scores at least
        ``min_score`` and ``confident_score``: the pseudo-labeller's low ``min_score`` keeps
        uncertain passes, which the heavy model may score high on a neighbour or on nothing;
        :func:`one_person` with it: in a crowd, it may fit a neighbour instead); else ``body``.
        The source joints of a vouching proposal (``claim``) stay the source's. A body under
        ``refine_min_height`` keeps its pass, and gets the refining model's presence only when a
        rule needs it. ``None``: the refining pass refutes the body (``refuted_score``,
        ``refuted_sure_score``, ``refuted_small_score``), does not confirm an unsure one lying mostly
        outside the image (``unconfirmed_inside``) or contradicts one at the image's edge
        (``contradicted_inside``), or does not confirm a flat one (``flat_aspect``; ``others``: the
        other bodies found) or one upside down (``confirm_upside_down``), and the body is dropped."""
        floor = max(min_score, self.confident_score)
        if self.refine_landmarks is None or body.roi is None or body.from_source or body.refined \
                or body.pose.score < floor:
            return body
        unsure = body.pose.score < self.nested_body_score
        refuted = self.refuted_score if unsure else self.refuted_sure_score
        inside = fraction_inside(body.pose.box, image.shape[1], image.shape[0])
        edge = unsure and body.claim is None and inside < self.unconfirmed_inside
        if body.pose.box[3] - body.pose.box[1] < self.refine_min_height:
            if body.claim is not None or (self.refuted_small_score <= 0 and not edge):
                return body
            presence = body_landmarks_in(self.refine_landmarks, image, body.roi).pose.score
            if presence < self.refuted_small_score or (edge and presence < floor):
                log.debug("small body %s (presence %.2f) dropped: the refining model finds none there (%.2f)",
                          np.round(body.pose.box).astype(int).tolist(), body.pose.score, presence)
                return None
            return body
        fine = self.refine_landmarks_in(image, body.roi, min_score=floor)
        if fine.pose.score < refuted and body.claim is None:
            log.debug("body %s (presence %.2f) dropped: the refining model finds none there (%.2f)",
                      np.round(body.pose.box).astype(int).tolist(), body.pose.score, fine.pose.score)
            return None
        if edge and (fine.pose.score < floor or not one_person(fine.pose, body.pose)):
            log.debug("body %s (presence %.2f) dropped: mostly outside the image, and the refining model does "
                      "not find it (%.2f)", np.round(body.pose.box).astype(int).tolist(), body.pose.score,
                      fine.pose.score)
            return None
        if self.confirm_upside_down and body.claim is None and upside_down(body.pose) \
                and (fine.pose.score < floor or not one_person(fine.pose, body.pose)):
            log.debug("body %s (presence %.2f) dropped: upside down, and the refining model does not find it (%.2f)",
                      np.round(body.pose.box).astype(int).tolist(), body.pose.score, fine.pose.score)
            return None
        if fine.pose.score < floor:
            if body.claim is None and flat(body.pose.box, aspect=self.flat_aspect):
                log.debug("body %s (presence %.2f) dropped: flat, and the refining model finds none there (%.2f)",
                          np.round(body.pose.box).astype(int).tolist(), body.pose.score, fine.pose.score)
                return None
            return body
        if not one_person(fine.pose, body.pose):
            if body.claim is None and spread_over_others(body.pose, [o.pose for o in others],
                                                         aspect=self.flat_aspect, on_others=self.flat_on_others):
                log.debug("body %s (presence %.2f) dropped: flat over other bodies, and the refining model fits "
                          "another person there (%.2f)", np.round(body.pose.box).astype(int).tolist(),
                          body.pose.score, fine.pose.score)
                return None
            if body.claim is None and not any(one_person(fine.pose, o.pose) for o in others):
                if inside < self.contradicted_inside:
                    log.debug("body %s (presence %.2f) dropped: mostly outside the image, and the refining "
                              "model fits another person there (%.2f)",
                              np.round(body.pose.box).astype(int).tolist(), body.pose.score, fine.pose.score)
                    return None
            return body
        fine = dataclasses.replace(fine, claim=body.claim, refined=True)
        if body.claim is not None and proposals[body.claim].keypoints is not None:
            fine = with_source_joints(fine, proposals[body.claim].keypoints, self.source_joints)
        return fine

    def same_person(self, a: BodyLandmarks, b: BodyLandmarks, *, iou: bool = True) -> bool:
        """Whether :meth:`dedupe` takes ``a`` for a worse pass over person ``b`` (or ``b`` for one over ``a``
        by :func:`one_person`): boxes overlapping above ``dedupe_iou`` (with ``iou``), :func:`one_person`,
        :func:`nested`, :func:`on_body` or :func:`face_in_face`."""
        if iou and box_iou(np.asarray(a.pose.box, dtype=np.float64)[None],
                           np.asarray(b.pose.box, dtype=np.float64)[None])[0, 0] > self.dedupe_iou:
            return True
        return one_person(a.pose, b.pose) or nested(a.pose, b.pose) \
            or on_body(a.pose, b.pose, size_ratio=self.on_body_size_ratio) or face_in_face(a, b)

    def dedupe(self, bodies: Sequence[BodyLandmarks]) -> list[BodyLandmarks]:
        """The best body of each person among ``bodies`` (box overlap, :func:`one_person`, or a small
        pass :func:`nested` in a body, or fitted on its legs, :func:`on_body`, or on its face,
        :func:`face_in_face`, that scores at
        least as high; never two that different keypoint proposals vouch for unless they are
        :func:`one_person`, see :class:`BodyLandmarks`). A body that a keypoint proposal vouches
        for goes before any that none does, then the higher score:
        the source found that person, an unclaimed pass over it is a worse fit or a neighbour's
        skeleton. Two claimed passes that are :func:`one_person` are one: the landmark model found
        one person in two of the source's regions (close-ups, where YOLO at 1280 px gives several
        partial boxes of one person). Between equal scores (the presence is often 1.0 for several
        passes over one person), a pass whose own re-crop region is the one it ran on (not
        :func:`needs_recrop`: the model's alignment converged) goes first; a pass in a region too
        large or too far off fits worse (MPI-INF-3DHP's ``S4_Seq2_Cam0_001033``: median 2D error
        63 px against 28 px)."""
        rank = [b.pose.score + (2.0 if b.claim is not None else 0.0) + (0.01 if not needs_recrop(b) else 0.0)
                for b in bodies]
        return dedupe(list(bodies), [b.pose.box for b in bodies], rank, self.dedupe_iou,
                      same=lambda a, b: self.same_person(a, b, iou=False),
                      distinct=lambda a, b: a.claim is not None and b.claim is not None and a.claim != b.claim
                      and not one_person(a.pose, b.pose))
