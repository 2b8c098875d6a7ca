"""Target codecs: encoding of ground truth into network targets and decoding back, apart from the heads."""

from dope_core.codecs.anchor_pose import AnchorPoseCodec, nearest_anchor, normalise_in_box

__all__ = ["AnchorPoseCodec", "nearest_anchor", "normalise_in_box"]
