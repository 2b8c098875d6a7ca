"""ONNX export of the light variant: the exported graph's outputs equal PyTorch's within tolerance.

The graph is run by onnx's own reference evaluator (pure Python/numpy), not by
onnxruntime, whose import sends DNS queries for its telemetry host even when
telemetry is disabled: tests stay on loopback.
"""

import numpy as np
import onnx
import torch
from onnx.reference import ReferenceEvaluator

from dope_core.model import build_dope_mobilenetv2
from dope_core.model.export import BoxConditionedDope, export_onnx, output_names


def test_onnx_export_parity_with_pytorch(tmp_path, anchor_poses):
    torch.manual_seed(0)
    model = build_dope_mobilenetv2(pretrained_backbone=False, anchor_poses=anchor_poses).eval()
    path = tmp_path / "dope.onnx"
    export_onnx(model, path, height=224, width=288, num_boxes=3)
    image = torch.randn(1, 3, 128, 160)  # another size and box count than at export
    boxes = torch.tensor([[10.0, 20.0, 100.0, 120.0], [50.0, 60.0, 150.0, 125.0], [0.0, 0.0, 160.0, 128.0],
                          [100.0, 100.0, 140.0, 120.0], [5.0, 5.0, 30.0, 60.0]])
    with torch.no_grad():
        ref = BoxConditionedDope(model)(image, boxes)
        # The wrapper is the network: same logits as the RoI heads' own path.
        logits, _ = model.roi_heads.predict(model.backbone(image), [boxes], [(128, 160)])
    assert torch.allclose(logits["body"].softmax(-1), ref[0], atol=1e-6)
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph)
    assert [o.name for o in graph.graph.output] == output_names()
    out = ReferenceEvaluator(graph).run(None, {"image": image.numpy(), "boxes": boxes.numpy()})
    for name, r, o in zip(output_names(), ref, out):
        assert o.shape == tuple(r.shape), name
        np.testing.assert_allclose(o, r.numpy(), rtol=1e-4, atol=1e-3, err_msg=name)
