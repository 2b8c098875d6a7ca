"""Post-processing of the network's per-proposal outputs into part detections and people.

* :mod:`~dope_core.postprocess.detections`: the per-part result container and pose boxes;
* :mod:`~dope_core.postprocess.nms`: best class per proposal + NMS on pose boxes;
* :mod:`~dope_core.postprocess.ppi`: pose-proposal integration (LCR-Net++);
* :mod:`~dope_core.postprocess.pipeline`: per image, both parts of the above, then
  :func:`dope_core.fusion.assemble` (the one hand/face-to-body assignment).
"""

from dope_core.postprocess.detections import PartDetections, pose_boxes
from dope_core.postprocess.nms import pose_nms
from dope_core.postprocess.pipeline import PostprocessConfig, detections_to_poses, to_part_poses
from dope_core.postprocess.ppi import pose_proposal_integration

__all__ = ["PartDetections", "PostprocessConfig", "detections_to_poses", "pose_boxes", "pose_nms",
           "pose_proposal_integration", "to_part_poses"]
