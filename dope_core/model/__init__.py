"""The DOPE whole-body network: one stage per module, composed by keyword-only builders.

* :mod:`~dope_core.model.transform`: normalisation, resizing and batching of images and targets;
* :mod:`~dope_core.model.backbones`: ResNet-50 C4 (release) and MobileNetV2 (light) bodies and RoI heads;
* :mod:`~dope_core.model.rpn`: the region proposal network on the single stride-16 map;
* :mod:`~dope_core.model.predictor`: per-part classifiers and anchor-pose regressors;
* :mod:`~dope_core.model.roi_heads`: RoIAlign, head, predictor, decoding, training targets;
* :mod:`~dope_core.model.losses`: the named training losses;
* :mod:`~dope_core.model.dope_rcnn`: the composition;
* :mod:`~dope_core.model.builders`: ``build_dope_resnet50`` and ``build_dope_mobilenetv2``.
"""

from dope_core.model.builders import build_dope_mobilenetv2, build_dope_resnet50
from dope_core.model.dope_rcnn import PARTS, DopeRCNN

__all__ = ["PARTS", "DopeRCNN", "build_dope_mobilenetv2", "build_dope_resnet50"]
