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
    clip = str(_grey_clip(tmp_path / "clip.avi"))   # readable: the node's options are what is wrong
    (tmp_path / "not_a_checkpoint.pth").write_bytes(b"\x89PNG not a checkpoint")
    for args, why in ((["--video", str(tmp_path / "typo.mp4")], "not found"),
                      (["--video", str(tmp_path / "empty.mp4")], "cannot open"),
                      (["--video", str(tmp_path / "empty.mp4"), "--hfov", "0"], "--hfov must lie"),
                      (["--video", str(tmp_path / "empty.mp4"), "--max-width", "0"], "--max-width must be"),
                      (["--video", clip, "--backend", "network", "--checkpoint", str(tmp_path / "missing.pth")],
                       "missing.pth does not exist"),
                      (["--video", clip, "--backend", "network", "--checkpoint", str(tmp_path / "not_a_checkpoint.pth")],
                       "is a PNG image"),
                      (["--video", clip, "--backend", "network", "--device", "gpu"], "unknown device 'gpu'"),
                      (["--video", clip, "--device", "cuda"], "CPU only"),
                      (["--video", clip, "--checkpoint", str(tmp_path / "missing.pth")], "is for backend 'network'")):
        try:
            code = main([*args, "--out", str(out)])
        except SystemExit as e:
            code = e.code
        err = capsys.readouterr().err
        assert code == 2 and why in err.strip().splitlines()[-1] and "Traceback" not in err, (args, err)
        assert (out / "poses_bag" / "demo.mcap").read_bytes() == b"an earlier demo's bag"


def _files(folder) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too), by relative path, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _earlier_demo(out) -> dict[str, bytes]:
    """An earlier demo's folder, with the list of what the demo wrote there; its files."""
    (out / "poses_bag").mkdir(parents=True)
    (out / ".dope-outputs").write_bytes(b"poses_bag\0annotated.mp4\0node.log\0summary.json\0")
    (out / "poses_bag" / "poses_bag_0.mcap").write_bytes(b"an earlier demo's bag")
    (out / "poses_bag" / "metadata.yaml").write_text("an earlier demo's metadata")
    (out / "annotated.mp4").write_bytes(b"an earlier demo's video")
    (out / "node.log").write_text("an earlier node's log\n")
    (out / "summary.json").write_text(json.dumps({"bag": str(out / "poses_bag"), "frames_answered": 60}))
    return _files(out)


def test_a_failed_rerun_keeps_the_earlier_demo_and_a_good_one_replaces_it_whole(tmp_path):
    """A second run that fails (here: a checkpoint that does not exist) leaves every file of the first run
    byte for byte; a run that succeeds replaces them all at once (no file of the first run remains, nothing
    hidden is left beside the folder, a partial folder a killed run left long ago is cleaned up)."""
    import os
    import time

    video = _grey_clip(tmp_path / "clip.avi")
    out = tmp_path / "out"
    args = ["--video", str(video), "--frames", str(FRAMES), "--out", str(out)]
    first = _run_demo(args, out)
    assert first.returncode == 0, first.stdout + first.stderr
    before = _files(out)
    assert {"annotated.mp4", "node.log", "summary.json"} <= set(before) and any(
        name.startswith("poses_bag/") and name.endswith(".mcap") for name in before)
    failed = _run_demo([*args, "--backend", "network", "--checkpoint", str(tmp_path / "missing.pth")], out)
    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert "missing.pth" in failed.stderr and len(failed.stderr.strip().splitlines()) == 1, failed.stderr
    assert _files(out) == before
    abandoned = tmp_path / ".out.k1ll3d_x.new"   # what a run killed long ago left beside the folder
    (abandoned / "poses_bag").mkdir(parents=True)
    (abandoned / "node.log").write_text("a killed run's log")
    old = time.time() - 3600
    for p in (abandoned / "node.log", abandoned / "poses_bag", abandoned):
        os.utime(p, (old, old))
    inodes = {name: (out / name).stat().st_ino for name in before}
    second = _run_demo(args, out)
    assert second.returncode == 0, second.stdout + second.stderr
    after = _files(out)
    assert set(after) == set(before)
    assert all((out / name).stat().st_ino != inodes[name] for name in after if not name.startswith("."))
    assert json.loads(after["summary.json"])["frames_answered"] == FRAMES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.avi", "out"]


def test_a_node_that_does_not_come_up_is_one_line_pointing_to_its_log(tmp_path, capsys, monkeypatch):
    """A node that exits at start-up: one line (what failed, where this run's log is), no traceback,
    exit status 1, and the earlier demo in --out exactly as it was."""
    import re
    import sys

    import dope_ros.demo as demo

    video = _grey_clip(tmp_path / "clip.avi")
    out = tmp_path / "out"
    before = _earlier_demo(out)
    node = "import sys; print('dope_node: cannot start: ValueError: a parameter it refuses'); sys.exit(2)"
    monkeypatch.setattr(demo, "node_command", lambda **kwargs: [sys.executable, "-c", node])
    assert demo.main(["--video", str(video), "--frames", str(FRAMES), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the node did not come up" in err[0] and "a parameter it refuses" in err[0], err
    log = re.search(r"(/\S*node\.log)", err[0]).group(1)
    assert "a parameter it refuses" in open(log).read() and not log.startswith(str(out) + "/")
    assert _files(out) == before


def test_the_summary_counts_the_answers_without_keeping_them(tmp_path):
    """The client keeps a few counts per answer (a long run's messages would be gigabytes); the summary
    made from them counts people, parts (unassigned ones too), placed parts and tracks as the messages do."""
    from std_msgs.msg import Header

    from dope_core.keypoints import Part
    from dope_core.structures import Handedness, PartPose, Person, WholeBodyPoses
    from dope_ros.conversions import poses_to_msg
    from dope_ros.demo import AnswerCounts, summarize

    def part(kind, root=None, handedness=None):
        j = kind.num_keypoints
        return PartPose(part=kind, score=0.8, box=np.float64([0, 0, 50, 50]), keypoints_2d=np.zeros((j, 2)),
                        keypoints_3d=np.zeros((j, 3)), confidence=np.ones(j), handedness=handedness, root_camera=root)

    poses = WholeBodyPoses(image_size=(640, 480), backend="experts", unassigned=[part(Part.FACE)], people=[
        Person(id=0, score=0.9, track_id=7, body=part(Part.BODY, root=np.array([0.0, 0.0, 2.0])),
               left_hand=part(Part.HAND, handedness=Handedness.LEFT), face=part(Part.FACE)),
        Person(id=1, score=0.5, right_hand=part(Part.HAND, handedness=Handedness.RIGHT))])
    counts = AnswerCounts.of(poses_to_msg(poses, Header(frame_id="cam"), camera_info_valid=True))
    assert counts.parts == {"people": 2, "bodies": 1, "hands": 2, "faces": 2, "placed_parts": 1}
    assert counts.track_ids == (7,)
    sent = {(1, 0): 10.0, (2, 0): 10.1, (3, 0): 10.2}
    summary = summarize(sent, {(1, 0): (10.05, counts), (2, 0): (10.2, counts)}, {}, tmp_path, None)
    assert (summary["frames_answered"], summary["people"], summary["hands"], summary["faces"]) == (2, 4, 4, 4)
    assert summary["person_tracks"] == 1 and summary["parts_placed_in_camera_frame"] == 2
    assert abs(summary["latency_ms_mean"] - 75.0) < 1e-6
    assert abs(summary["latency_ms_max"] - 100.0) < 1e-6     # the first frame (50 ms) is left out
    sent[(4, 0)] = 10.3
    slow_first = summarize(sent, {(1, 0): (10.9, counts), (2, 0): (10.2, counts), (4, 0): (10.32, counts)}, {},
                           tmp_path, None)
    assert abs(slow_first["latency_ms_max"] - 100.0) < 1e-6   # not the first frame's 900 ms


def test_a_run_without_recording_refuses_more_frames_than_memory_holds(tmp_path, monkeypatch):
    """Without recording, frames are decoded before they are played: past the budget, one line (exit 2)
    before the node starts, not a machine out of memory an hour into the video."""
    import dope_ros.demo as demo

    video = _grey_clip(tmp_path / "clip.avi")
    monkeypatch.setattr(demo, "PRELOAD_BYTES", 2 * 320 * 240 * 3)   # two frames
    started = []
    monkeypatch.setattr(demo.subprocess, "Popen", lambda *a, **k: started.append(a))
    with pytest.raises(ValueError, match=r"more than 2 frames of 320x240 take over .*play at most 2 \(--frames\)"):
        demo.run(video, tmp_path / "out", frames=FRAMES, max_width=960, hfov_deg=60.0, realtime=False,
                 record=False)
    assert not started


def test_an_annotated_video_that_did_not_come_out_whole_is_removed_with_a_warning(tmp_path, capsys):
    """The demo's writer on a full disk (the file cut short, no error reported): closing it says so and removes
    the file that no player opens; a whole video stays."""
    from types import SimpleNamespace

    from dope_ros.demo import DemoClient

    for cut, kept in ((False, True), (True, False)):
        path = tmp_path / "annotated.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
        for i in range(3):
            writer.write(np.full((48, 64, 3), 60 * i, np.uint8))
        if cut:
            writer.release()
            data = path.read_bytes()
            writer = SimpleNamespace(release=lambda: path.write_bytes(data[:len(data) // 2]))
        DemoClient.close_video(SimpleNamespace(_video=writer, _video_path=path, _video_frames=3))
        assert path.exists() == kept
        assert ("did not come out whole" in capsys.readouterr().err) != kept
