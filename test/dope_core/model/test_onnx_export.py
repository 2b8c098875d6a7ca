"""ONNX export of the light variant: onnxruntime outputs equal PyTorch's within tolerance."""

import numpy as np
import onnxruntime as ort
import torch

from dope_core.model import build_dope_mobilenetv2
from dope_core.model.export import BoxConditionedDope, export_onnx, output_names


def test_onnx_export_parity_with_pytorch(tmp_path, anchor_poses):
    torch.manual_seed(0)
    model = build_dope_mobilenetv2(pretrained_backbone=False, anchor_poses=anchor_poses).eval()
    path = tmp_path / "dope.onnx"
    export_onnx(model, path, height=224, width=288, num_boxes=3)
    image = torch.randn(1, 3, 256, 320)  # another size and box count than at export
    boxes = torch.tensor([[10.0, 20.0, 100.0, 200.0], [50.0, 60.0, 250.0, 240.0], [0.0, 0.0, 320.0, 256.0],
                          [100.0, 100.0, 140.0, 130.0], [5.0, 5.0, 30.0, 60.0]])
    with torch.no_grad():
        ref = BoxConditionedDope(model)(image, boxes)
        # The wrapper is the network: same logits as the RoI heads' own path.
        logits, _ = model.roi_heads.predict(model.backbone(image), [boxes], [(256, 320)])
    assert torch.allclose(logits["body"].softmax(-1), ref[0], atol=1e-6)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {"image": image.numpy(), "boxes": boxes.numpy()})
    assert [o.name for o in session.get_outputs()] == output_names()
    for name, r, o in zip(output_names(), ref, out):
        assert o.shape == tuple(r.shape), name
        np.testing.assert_allclose(o, r.numpy(), rtol=1e-4, atol=1e-3, err_msg=name)
