"""ONNX export of the light variant: the exported graph's outputs equal PyTorch's within tolerance; the
command replaces only an earlier .onnx file, never its checkpoint, and a failed export leaves the old file.

The graph is run by onnx's own reference evaluator (pure Python/numpy), not by
onnxruntime, whose import sends DNS queries for its telemetry host even when
telemetry is disabled: tests stay on loopback.
"""

import errno
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
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


SHIPPED = Path(__file__).resolve().parents[3] / "dope_core" / "weights" / "dope_student_mobilenetv2.pth"


def _export_cli(capsys, checkpoint: Path, output: Path) -> tuple[int, str]:
    """``python -m dope_core.model.export`` in this process: its exit status and its error output."""
    from dope_core.model.export import main

    code = main(["--checkpoint", str(checkpoint), "--output", str(output)])
    return code, capsys.readouterr().err


def test_export_refuses_to_write_over_its_own_checkpoint(tmp_path, capsys):
    """The checkpoint named as --output, directly, through another path or through a link (even one named
    .onnx), is refused in one line (exit 2) and left as it was."""
    student = tmp_path / "student.pth"
    shutil.copyfile(SHIPPED, student)
    original = student.read_bytes()
    (tmp_path / "sub").mkdir()
    (tmp_path / "alias.onnx").symlink_to(student)
    for output in (student, tmp_path / "sub" / ".." / "student.pth", tmp_path / "alias.onnx"):
        code, err = _export_cli(capsys, student, output)
        assert code == 2 and "is the checkpoint" in err and len(err.strip().splitlines()) == 1, (output, err)
        assert student.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.onnx", "student.pth", "sub"]


def test_export_replaces_only_an_earlier_onnx_file(tmp_path, capsys):
    """An existing file is replaced only when its name ends in .onnx; other files and folders are refused."""
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    (tmp_path / "folder.onnx").mkdir()
    for output in (notes, tmp_path / "folder.onnx"):
        code, err = _export_cli(capsys, SHIPPED, output)
        assert code == 2 and len(err.strip().splitlines()) == 1, (output, err)
    assert notes.read_text() == "my notes" and (tmp_path / "folder.onnx").is_dir()
    earlier = tmp_path / "dope.onnx"
    earlier.write_bytes(b"an earlier export")
    code, _ = _export_cli(capsys, SHIPPED, earlier)
    assert code == 0
    onnx.checker.check_model(onnx.load(str(earlier)))
    # one file: no external-data files beside it (the graph is far below protobuf's 2 GB), no temporaries
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dope.onnx", "folder.onnx", "notes.txt"]


def test_a_failed_export_leaves_the_earlier_file_untouched(tmp_path, capsys, monkeypatch):
    """A full disk in the middle of the export: one line, exit 2, the earlier export as it was, no partial file."""
    def export_until_the_disk_is_full(model, args, f, **kwargs):
        with open(f, "wb") as out:
            out.write(b"\x08" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch.onnx, "export", export_until_the_disk_is_full)
    earlier = tmp_path / "dope.onnx"
    earlier.write_bytes(b"an earlier export")
    code, err = _export_cli(capsys, SHIPPED, earlier)
    assert code == 2 and "No space left on device" in err and len(err.strip().splitlines()) == 1, err
    assert earlier.read_bytes() == b"an earlier export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dope.onnx"]


def test_an_opset_this_model_cannot_use_is_one_line_and_exit_2_before_loading(tmp_path, capsys, monkeypatch):
    """RoIAlign needs opset 11; above the exporter's highest there is nothing to write: refused up front."""
    from dope_core.model import export

    monkeypatch.setattr(export, "check_onnx_target", lambda *a: pytest.fail("got past the --opset check"))
    for opset in ("5", "10", str(export.max_opset() + 1), "-1"):
        code = export.main(["--checkpoint", str(SHIPPED), "--output", str(tmp_path / "dope.onnx"), "--opset", opset])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and f"--opset {opset} is not supported: use 11 to" in err, err
    assert list(tmp_path.iterdir()) == []
    assert 11 <= export.max_opset() <= 30


def test_any_exporter_failure_is_one_line_and_exit_2_with_no_partial_file(tmp_path, capsys, monkeypatch):
    def export_that_fails(model, args, f, **kwargs):
        with open(f, "wb") as out:
            out.write(b"\x08" * 1000)
        raise RuntimeError("Exporting the operator 'x' to ONNX is not supported.\nPlease feel free to request support")

    monkeypatch.setattr(torch.onnx, "export", export_that_fails)
    code, err = _export_cli(capsys, SHIPPED, tmp_path / "dope.onnx")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "the export failed (RuntimeError: Exporting the operator 'x'" in err and "Please" not in err
    assert list(tmp_path.iterdir()) == []
