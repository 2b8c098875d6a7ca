"""The demo pipeline end to end on a short synthetic video: bag, annotated video and summary written."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from dope_ros.bag_io import deserialize, read_bag
from dope_ros_harness import REPO

FRAMES = 3


def _grey_clip(path):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (320, 240))
    for i in range(FRAMES + 2):
        frame = np.full((240, 320, 3), 40 * i, np.uint8)
        writer.write(frame)
    writer.release()
    return path


def _run_demo(args: list[str], out) -> subprocess.CompletedProcess:
    """``python -m dope_ros.demo ARGS``; when it outlives the test's limit, the failure shows what the demo
    and the node had written (the node's log is in ``out``), not only that it timed out."""
    try:
        return subprocess.run([sys.executable, "-m", "dope_ros.demo", *args], cwd=REPO, capture_output=True,
                              text=True, timeout=240)
    except subprocess.TimeoutExpired as e:
        log = out / "node.log"
        tail = log.read_text(errors="replace")[-4000:] if log.is_file() else "(no node.log)"
        raise AssertionError(f"the demo ran over 240 s\n--- demo stdout ---\n{e.stdout}\n--- demo stderr ---\n"
                             f"{e.stderr}\n--- node.log (tail) ---\n{tail}") from None


@pytest.mark.parametrize("backend", ["experts", "network"])
def test_demo_records_what_the_node_publishes(tmp_path, backend):
    video = _grey_clip(tmp_path / "clip.avi")
    out = tmp_path / "out"
    run = _run_demo(["--video", str(video), "--frames", str(FRAMES), "--out", str(out), "--backend", backend], out)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"frames: {FRAMES}/{FRAMES} answered" in run.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames_answered"] == FRAMES and summary["node_diagnostics"]["backend"] == backend
    assert summary["latency_ms_mean"] > 0
    assert summary["person_tracks"] == 0 and summary["people"] == 0   # plain grey frames: nobody
    messages = list(read_bag(out / "poses_bag", {"/demo/dope/poses"}))
    assert len(messages) == FRAMES
    first = deserialize(messages[0][3], messages[0][1])
    assert (first.image_width, first.image_height) == (320, 240) and first.camera_info_valid
    cap = cv2.VideoCapture(str(out / "annotated.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    cap.release()


def test_poses_only_pipeline_answers_and_records_nothing(tmp_path):
    video = _grey_clip(tmp_path / "clip.avi")
    out = tmp_path / "out"
    earlier = out / "poses_bag" / "earlier.mcap"            # a recorded run's bag in the same folder: kept
    earlier.parent.mkdir(parents=True)
    earlier.write_bytes(b"a user's recording")
    run = _run_demo(["--video", str(video), "--frames", str(FRAMES), "--out", str(out), "--poses-only"], out)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"frames: {FRAMES}/{FRAMES} answered" in run.stdout and "wrote" not in run.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames_answered"] == FRAMES and summary["bag"] is None and summary["annotated_video"] is None
    assert earlier.read_bytes() == b"a user's recording" and not (out / "annotated.mp4").exists()
    assert [p.name for p in (out / "poses_bag").iterdir()] == ["earlier.mcap"]


def test_the_demo_replaces_only_what_a_demo_wrote(tmp_path, capsys):
    """A user's own bag or video in --out is refused before the node starts; a folder an earlier demo filled
    (before the list of outputs existed) is taken over, and a second run replaces its files."""
    from dope_core.output_names import OverwriteRefused
    from dope_ros.demo import DEMO_OUTPUTS, claim_outputs, main

    mine = tmp_path / "mine"
    (mine / "poses_bag").mkdir(parents=True)
    (mine / "poses_bag" / "metadata.yaml").write_text("a recording of the user's")
    with pytest.raises(SystemExit) as e:
        main(["--video", str(tmp_path / "any.mp4"), "--out", str(mine)])
    assert e.value.code == 2 and "a file that dope did not write is there" in capsys.readouterr().err
    assert (mine / "poses_bag" / "metadata.yaml").read_text() == "a recording of the user's"
    with pytest.raises(OverwriteRefused, match="poses_bag: a file that dope did not write"):
        claim_outputs(mine, DEMO_OUTPUTS)
    earlier = tmp_path / "earlier"
    (earlier / "poses_bag").mkdir(parents=True)
    (earlier / "annotated.mp4").write_bytes(b"an earlier demo's")
    (earlier / "summary.json").write_text(json.dumps({"bag": str(earlier / "poses_bag"), "frames_answered": 60}))
    claim_outputs(earlier, DEMO_OUTPUTS)
    claim_outputs(earlier, DEMO_OUTPUTS)   # a second run: its own files now
    claim_outputs(tmp_path / "new" / "out", DEMO_OUTPUTS)   # created
    assert (tmp_path / "new" / "out").is_dir()


def test_a_bad_video_or_argument_leaves_the_earlier_demo_as_it_was(tmp_path, capsys):
    from dope_ros.demo import main

    out = tmp_path / "demo"
    (out / "poses_bag").mkdir(parents=True)
    (out / "poses_bag" / "demo.mcap").write_bytes(b"an earlier demo's bag")
    (out / "summary.json").write_text(json.dumps({"bag": str(out / "poses_bag"), "frames_answered": 60}))
    (tmp_path / "empty.mp4").write_bytes(b"")
    for args, why in ((["--video", str(tmp_path / "typo.mp4")], "not found"),
                      (["--video", str(tmp_path / "empty.mp4")], "cannot open"),
                      (["--video", str(tmp_path / "empty.mp4"), "--hfov", "0"], "--hfov must lie"),
                      (["--video", str(tmp_path / "empty.mp4"), "--max-width", "0"], "--max-width must be")):
        try:
            code = main([*args, "--out", str(out)])
        except SystemExit as e:
            code = e.code
        assert code == 2 and why in capsys.readouterr().err, args
        assert (out / "poses_bag" / "demo.mcap").read_bytes() == b"an earlier demo's bag"
