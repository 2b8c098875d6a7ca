import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from dope_core.cli import build_parser, main
from dope_core.image_io import VideoReader
from dope_core.output_names import MANIFEST, OutputFolder, OverwriteRefused
from dope_core.structures import WholeBodyPoses
from oriented_media import jpeg_with_orientation

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def inputs(tmp_path):
    from matplotlib import cbook

    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), d / "hopper.jpg")
    (d / "empty.png").write_bytes(b"")
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    cv2.imwrite(str(d / "tiny.png"), np.zeros((1, 1, 3), np.uint8))
    cv2.imwrite(str(d / "gray16.png"), np.full((40, 50), 30000, np.uint16))
    w = cv2.VideoWriter(str(d / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5, (64, 48))
    for i in range(4):
        w.write(np.full((48, 64, 3), 40 * i, np.uint8))
    w.release()
    return d


def test_folder_run_writes_outputs_and_counts_failures(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(inputs), "-o", str(out), "--view-3d", "--quiet"]) == 1   # some inputs failed
    summary = capsys.readouterr().out
    assert "processed 3 input(s)" in summary
    assert "failed 3 input(s)" in summary and "1 x empty file" in summary and "1 x image too small" in summary
    assert "1 x truncated or malformed image header" in summary
    poses = WholeBodyPoses.from_json((out / "hopper.json").read_text())
    assert len(poses.people) == 1 and poses.people[0].face is not None
    assert cv2.imread(str(out / "hopper.jpg")).shape[:2] == (poses.image_size[1], poses.image_size[0])
    assert (out / "hopper_3d.png").stat().st_size > 1000
    lines = (out / "clip.jsonl").read_text().splitlines()
    assert [json.loads(l)["frame"] for l in lines] == [0, 1, 2, 3]
    assert cv2.VideoCapture(str(out / "clip.mp4")).isOpened()


def test_nothing_processable_exits_1(tmp_path, capsys):
    (tmp_path / "bad.jpg").write_bytes(b"")
    assert main([str(tmp_path / "bad.jpg"), str(tmp_path / "missing.png"), "-o", str(tmp_path / "o"), "--quiet"]) == 1
    assert "failed 2 input(s)" in capsys.readouterr().out


def test_unbuildable_backend_is_a_clear_message(tmp_path, capsys):
    code = main([str(tmp_path), "--backend", "network", "--checkpoint", str(tmp_path / "none.pth"), "-o", str(tmp_path / "o")])
    assert code == 2
    assert "cannot build the network backend" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--checkpoint", "student.pth"], "dope: --checkpoint is for --backend network"),
    (["--half"], "dope: --half is for --backend network"),
    (["--backend", "experts", "--postprocess", "nms", "--half"], "dope: --half and --postprocess are for --backend network"),
])
def test_network_flags_with_the_experts_backend_are_one_line_and_exit_2(tmp_path, capsys, monkeypatch, flags, message):
    """--checkpoint, --half and --postprocess are refused with the (default) experts backend, as --device cuda is,
    before any backend is built."""
    from dope_core import cli

    monkeypatch.setattr(cli, "build_estimator", lambda *a, **k: pytest.fail("the backend was built"))
    assert main([str(tmp_path), "-o", str(tmp_path / "o"), *flags]) == 2
    assert capsys.readouterr().err.strip() == message


@pytest.mark.parametrize("device", ["meta", "mps"])
def test_a_device_torch_parses_but_that_cannot_run_the_network_is_one_line_and_exit_2(tmp_path, capsys, device):
    assert main([str(tmp_path), "--backend", "network", "--device", device, "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"unknown device '{device}': use 'auto', 'cpu', 'cuda' or 'cuda:N'" in err and "Traceback" not in err, err


@pytest.mark.timeout(120)
def test_unknown_person_detector_is_one_line_and_exit_2(tmp_path):
    """In a fresh process, as a user runs it: one line on stderr, no traceback, exit code 2."""
    bad = tmp_path / "experts.yaml"
    bad.write_text("experts:\n  body: openpose\n")
    for extra in (["--person-detectors", "blazepose", "yolo9000"], ["--experts-config", str(bad)]):
        run = subprocess.run([sys.executable, "-m", "dope_core.cli", str(tmp_path), "-o", str(tmp_path / "o"), *extra],
                             capture_output=True, text=True, timeout=100)
        assert run.returncode == 2, run.stderr
        assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
        assert "yolo9000" in run.stderr or "openpose" in run.stderr


@pytest.mark.timeout(120)
def test_lite_body_without_its_model_is_one_line_and_exit_2(tmp_path):
    """config/experts_fast.yaml where the lite body model was never fetched: one line that says how, exit code 2."""
    import os

    (tmp_path / "models").mkdir()
    run = subprocess.run([sys.executable, "-m", "dope_core.cli", str(tmp_path), "-o", str(tmp_path / "o"),
                          "--experts-config", str(REPO / "config" / "experts_fast.yaml")],
                         capture_output=True, text=True, timeout=100,
                         env={**os.environ, "DOPE_EXPERT_MODELS": str(tmp_path / "models")})
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
    assert "python -m dope_core.experts.fetch_models" in run.stderr


def test_hand_expert_flag_overrides_the_configuration(tmp_path):
    from dope_core.cli import build_parser, experts_config_from_args

    f = tmp_path / "experts.yaml"
    f.write_text("experts:\n  max_people: 5\n")
    args = build_parser().parse_args([str(tmp_path), "--experts-config", str(f), "--hand-expert", "mediapipe_lite"])
    config = experts_config_from_args(args)
    assert config.hand == "mediapipe_lite" and config.max_people == 5
    assert experts_config_from_args(build_parser().parse_args([str(tmp_path)])).hand == "mediapipe"
    with pytest.raises(SystemExit):
        build_parser().parse_args([str(tmp_path), "--hand-expert", "openpose"])


def test_body_refine_flag_overrides_the_configuration(tmp_path):
    from dope_core.cli import build_parser, experts_config_from_args

    default = experts_config_from_args(build_parser().parse_args([str(tmp_path)]))
    assert default.body_refine == "blazepose_heavy"
    off = experts_config_from_args(build_parser().parse_args([str(tmp_path), "--body-refine", "none"]))
    assert off.body_refine is None and off.body == "blazepose"
    with pytest.raises(SystemExit):
        build_parser().parse_args([str(tmp_path), "--body-refine", "enormous"])


HIDE_YOLO = "import runpy, sys; sys.modules['ultralytics'] = None; sys.argv = sys.argv[1:]; "
"""Runs the script or module that follows as if the optional yolo extra were not installed."""


@pytest.mark.timeout(120)
def test_uninstalled_extra_is_one_line_and_exit_2(tmp_path):
    """A configuration naming the opt-in YOLO detector where the extra is absent: one line, exit code 2."""
    code = HIDE_YOLO + "runpy.run_module('dope_core.cli', run_name='__main__')"
    run = subprocess.run([sys.executable, "-c", code, "dope", str(tmp_path), "-o", str(tmp_path / "o"),
                          "--experts-config", str(REPO / "config" / "experts_yolo.yaml")],
                         capture_output=True, text=True, timeout=100)
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
    assert "needs the optional 'yolo' extra" in run.stderr and "setup_env.sh --with yolo" in run.stderr


def test_help_explains_every_option():
    parser = build_parser()
    for action in parser._actions:
        assert action.help, action.dest
    text = subprocess.run([sys.executable, "-m", "dope_core.cli", "--help"], capture_output=True, text=True, check=True).stdout
    for flag in ("--backend", "--checkpoint", "--view-3d", "--stride", "--max-frames", "webcam", "--no-streaming",
                 "--detect-every", "--scan-every", "--detect-on-loss", "--detect-after-loss", "--second-opinion",
                 "--num-threads", "--background-search"):
        assert flag in text
    for bad in (["--stride", "0"], ["--detect-every", "-1"], ["--scan-every", "-1"], ["--num-threads", "0"],
                ["--detect-on-loss", "everywhere"], ["--detect-after-loss", "-1"], ["--second-opinion", "1.5"]):
        with pytest.raises(SystemExit):
            main(["x", *bad])


def test_video_people_keep_their_track_id(tmp_path, capsys):
    from matplotlib import cbook

    portrait = cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    h, w = portrait.shape[:2]
    video = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (w + 40, h))
    for dx in range(0, 40, 8):   # the person moves 8 px per frame
        frame = np.zeros((h, w + 40, 3), np.uint8)
        frame[:, dx:dx + w] = portrait
        writer.write(frame)
    writer.release()
    assert main([str(video), "-o", str(tmp_path / "on"), "--no-images"]) == 0
    assert "walk: 5 frames, " in capsys.readouterr().out
    frames = [json.loads(line) for line in (tmp_path / "on" / "walk.jsonl").read_text().splitlines()]
    assert len(frames) == 5 and all(f["people"] for f in frames)

    def height(person):
        return person["body"]["box"][3] - person["body"]["box"][1] if "body" in person else 0.0

    # The portrait's person (the tallest body) keeps one track id in every frame (ids start at a
    # random session block, so that they do not repeat across runs); the experts sometimes add
    # a short-lived second body on the cut-off torso, which gets its own id.
    first = frames[0]["people"][0]["track_id"]
    assert [max(f["people"], key=height)["track_id"] for f in frames] == [first] * 5 and first % 100_000 == 0
    assert {max(f["people"], key=height)["track_state"] for f in frames[1:]} == {"tracked"}
    assert all(len({p["track_id"] for p in f["people"]}) == len(f["people"]) for f in frames)
    assert main([str(video), "-o", str(tmp_path / "off"), "--no-images", "--no-tracking", "--quiet"]) == 0
    frames = [json.loads(line) for line in (tmp_path / "off" / "walk.jsonl").read_text().splitlines()]
    assert all("track_id" not in p for f in frames for p in f["people"]) and len(frames) == 5
    # Streaming (the default above) and searching every frame (--no-streaming) see the same person.
    assert main([str(video), "-o", str(tmp_path / "per_frame"), "--no-images", "--no-streaming", "--quiet"]) == 0
    per_frame = [json.loads(line) for line in (tmp_path / "per_frame" / "walk.jsonl").read_text().splitlines()]
    for a, b in zip(frames, per_frame):
        head = [np.array(max(f["people"], key=height)["body"]["keypoints_2d"][12]) for f in (a, b)]
        assert np.linalg.norm(head[0] - head[1]) < 0.05 * height(max(b["people"], key=height))


def _calibration(path, width: int, height: int, f: float, d=(0.0, 0.0, 0.0, 0.0, 0.0)) -> str:
    path.write_text(f"""image_width: {width}
image_height: {height}
camera_name: test_camera
camera_matrix: {{rows: 3, cols: 3, data: [{f}, 0, {width / 2}, 0, {f}, {height / 2}, 0, 0, 1]}}
distortion_model: plumb_bob
distortion_coefficients: {{rows: 1, cols: 5, data: {list(d)}}}
rectification_matrix: {{rows: 3, cols: 3, data: [1, 0, 0, 0, 1, 0, 0, 0, 1]}}
projection_matrix: {{rows: 3, cols: 4, data: [{f}, 0, {width / 2}, 0, 0, {f}, {height / 2}, 0, 0, 0, 1, 0]}}
""")
    return str(path)


@pytest.fixture()
def hopper(tmp_path):
    from matplotlib import cbook

    path = tmp_path / "hopper.jpg"
    shutil.copy(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), path)
    return path  # 512x600


def test_camera_file_places_people_in_the_camera_frame(hopper, tmp_path, capsys):
    # Calibrated at twice the resolution (same aspect ratio), slight barrel distortion.
    camera = _calibration(tmp_path / "cam.yaml", 1024, 1200, 1400.0, (-0.1, 0.02, 0.0, 0.0, 0.0))
    assert main([str(hopper), "-o", str(tmp_path / "a"), "--camera", camera, "--no-images", "--quiet"]) == 0
    assert "parts placed in the camera frame" in capsys.readouterr().out
    raw = json.loads((tmp_path / "a" / "hopper.json").read_text())
    body = raw["people"][0]["body"]
    assert body["placement"] == "monocular" and body["placement_uncertainty"] > 0
    assert 0.3 < body["root_camera"][2] < 5.0
    face = raw["people"][0]["face"]
    assert face["placement"] == "body_anchored" and len(face["root_camera"]) == 3
    # Another aspect ratio: said once, the image stays part-relative.
    other = _calibration(tmp_path / "hd.yaml", 1920, 1080, 1400.0)
    assert main([str(hopper), "-o", str(tmp_path / "b"), "--camera", other, "--no-images"]) == 0
    captured = capsys.readouterr()
    assert "another aspect ratio" in captured.err and "left part-relative" in captured.out
    assert "root_camera" not in (tmp_path / "b" / "hopper.json").read_text()


def test_hfov_places_people(hopper, tmp_path, capsys):
    assert main([str(hopper), "-o", str(tmp_path / "o"), "--hfov", "60", "--no-images", "--quiet"]) == 0
    poses = WholeBodyPoses.from_json((tmp_path / "o" / "hopper.json").read_text())
    assert poses.people[0].body.root_camera is not None
    face = poses.people[0].face   # a single image gets part frames too (as a video's frames do)
    assert face.frame is not None and face.frame.quaternion is not None and face.frame_position[2] > 0
    with pytest.raises(SystemExit):
        main([str(hopper), "--hfov", "180"])
    with pytest.raises(SystemExit):
        main([str(hopper), "--hfov", "60", "--camera", "x.yaml"])


@pytest.mark.parametrize("text,why", [
    ("camera_matrix: [1, 2\n", "not valid YAML"),
    ("image_width: 640\nimage_height: 480\ncamera_matrix: {rows: 3, cols: 3, data: [0, 0, 0, 0, 0, 0, 0, 0, 0]}\n",
     "all zero"),
])
def test_bad_camera_file_is_one_line_and_exit_2(tmp_path, capsys, text, why):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    assert main([str(tmp_path), "--camera", str(bad), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert why in err and "bad.yaml" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def _snapshot(folder):
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def portrait():
    from matplotlib import cbook

    image = cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    return cv2.resize(image, (256, 300))


def test_a_phone_portrait_with_an_orientation_tag_is_estimated_upright(tmp_path, capsys):
    """Grace Hopper's portrait stored as a landscape bitmap (turned a quarter to the left) with
    the EXIF tag 'rotate 90 degrees clockwise', as phones save portraits: the same person,
    joints and image size as the upright file, and an annotated image that is upright."""
    from matplotlib import cbook

    upright = cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    d = tmp_path / "in"
    d.mkdir()
    cv2.imwrite(str(d / "upright.png"), upright)
    (d / "tagged.jpg").write_bytes(jpeg_with_orientation(np.rot90(upright, 1), 6))
    assert main([str(d), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    a = WholeBodyPoses.from_json((tmp_path / "out" / "upright.json").read_text())
    b = WholeBodyPoses.from_json((tmp_path / "out" / "tagged.json").read_text())
    assert b.image_size == a.image_size == (upright.shape[1], upright.shape[0])
    assert len(a.people) == len(b.people) == 1
    body_a, body_b = a.people[0].body, b.people[0].body
    assert np.median(np.linalg.norm(body_a.keypoints_2d - body_b.keypoints_2d, axis=1)) < 0.02 * upright.shape[0]
    assert cv2.imread(str(tmp_path / "out" / "tagged.jpg")).shape == upright.shape


def test_output_folder_equal_to_inputs_never_touches_them(tmp_path, portrait, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    cv2.imwrite(str(a / "photo.jpg"), portrait)
    cv2.imwrite(str(a / "photo.png"), portrait[:, ::-1])
    cv2.imwrite(str(b / "photo.jpg"), portrait[::2, ::2])
    cv2.imwrite(str(a / "solo.jpg"), portrait)
    writer = cv2.VideoWriter(str(a / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 5, (64, 48))
    for i in range(3):
        writer.write(np.full((48, 64, 3), 60 * i, np.uint8))
    writer.release()
    before = {**_snapshot(a), **_snapshot(b)}
    assert main([str(a), str(b), str(a / "solo.jpg"), "-o", str(a), "--quiet"]) == 0
    err = capsys.readouterr().err
    after = {**_snapshot(a), **_snapshot(b)}
    assert {p: after[p] for p in before} == before   # bytes and mtimes of every input unchanged
    outputs = sorted(p.name for p in set(after) - set(before) if p.name != MANIFEST)
    assert sorted((a / MANIFEST).read_bytes().decode().strip("\0").split("\0")) == outputs   # what dope wrote
    # one output per input, named by the documented rules
    h_a = hashlib.sha1(str((a / "photo.jpg").resolve()).encode()).hexdigest()[:8]
    h_b = hashlib.sha1(str((b / "photo.jpg").resolve()).encode()).hexdigest()[:8]
    assert outputs == sorted([f"photo_jpg-{h_a}.json", f"photo_jpg-{h_a}.jpg", f"photo_jpg-{h_b}.json",
                              f"photo_jpg-{h_b}.jpg", "photo_png.json", "photo_png.jpg", "solo_dope.json",
                              "solo_dope.jpg", "clip_dope.jsonl", "clip_dope.mp4"])
    assert "outputs of" in err and "solo_dope" in err and "clip_dope" in err
    sizes = {json.loads((a / f"{n}.json").read_text())["image_size"][0]
             for n in (f"photo_jpg-{h_a}", f"photo_jpg-{h_b}", "photo_png")}
    assert sizes == {256, 128}


def test_guard_refuses_links_to_inputs(tmp_path):
    from dope_core.output_names import InputGuard, OverwriteRefused

    (tmp_path / "in.jpg").write_bytes(b"x")
    (tmp_path / "sym.jpg").symlink_to(tmp_path / "in.jpg")
    os.link(tmp_path / "in.jpg", tmp_path / "hard.jpg")
    guard = InputGuard([tmp_path / "in.jpg"])
    for p in ("in.jpg", "sym.jpg", "hard.jpg"):
        with pytest.raises(OverwriteRefused, match="input file"):
            guard.check(tmp_path / p)
    assert guard.check(tmp_path / "new.jpg") == tmp_path / "new.jpg"


def test_one_bad_input_is_a_counted_skip_and_the_rest_is_processed(tmp_path, portrait, capsys, monkeypatch):
    import dope_core.cli as cli

    d = tmp_path / "in"
    d.mkdir()
    cv2.imwrite(str(d / "a_good.jpg"), portrait)
    cv2.imwrite(str(d / "b_huge.png"), np.zeros((40, 33000), np.uint8))    # over the 16384-pixel side limit
    cv2.imwrite(str(d / "c_wide.png"), np.zeros((2, 8000), np.uint8))      # odd but valid
    cv2.imwrite(str(d / "d_raises.png"), np.zeros((77, 33), np.uint8))     # the estimator fails on this one
    cv2.imwrite(str(d / "e_good.jpg"), portrait[:, ::-1])
    real = cli.build_estimator

    def flaky(*args, **kwargs):
        est = real(*args, **kwargs)

        class Flaky:
            name, device = est.name, est.device

            def __call__(self, image):
                if image.shape[:2] == (77, 33):
                    raise RuntimeError("simulated failure inside the estimator")
                return est(image)
        return Flaky()

    monkeypatch.setattr(cli, "build_estimator", flaky)
    before = _snapshot(d)
    assert main([str(d), "-o", str(d), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "processed 3 input(s)" in out and "failed 2 input(s)" in out
    assert "1 x image over the size limit" in out and "1 x error while processing (RuntimeError)" in out
    assert {p: v for p, v in _snapshot(d).items() if p in before} == before
    assert {p.name for p in d.glob("*.json")} == {"a_good_dope.json", "c_wide.json", "e_good_dope.json"}


def test_video_recording_holds_the_frames_stamps_and_poses_of_the_json(tmp_path):
    from matplotlib import cbook

    from dope_core.recording import read_recording

    portrait = cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))[::2, ::2]
    video = tmp_path / "still.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, portrait.shape[1::-1])
    for _ in range(3):
        writer.write(portrait)
    writer.release()
    bag = tmp_path / "rec"
    assert main([str(video), "-o", str(tmp_path / "out"), "--no-images", "--quiet", "--hfov", "60",
                 "--record", str(bag), "--record-format", "png"]) == 0
    lines = [json.loads(line) for line in (tmp_path / "out" / "still.jsonl").read_text().splitlines()]
    frames = list(read_recording(bag))
    assert [f.stamp_ns for f in frames] == [line["stamp_ns"] for line in lines]
    assert np.diff([f.stamp_ns for f in frames]).tolist() == [100_000_000, 100_000_000]   # 10 fps
    for f, line in zip(frames, lines):
        assert f.intrinsics is not None and f.image.shape[:2] == portrait.shape[:2]
        assert [p.track_id for p in f.poses.people] == [p["track_id"] for p in line["people"]]
        assert f.poses.people and f.poses.people[0].face.frame is not None   # frames in the recording too
    still = lines[2]["people"][0]
    assert np.linalg.norm(still["face"]["velocity"]) < 0.5   # a smoothed stream has velocities; a still person (m/s)
    with pytest.raises(SystemExit):
        main([str(video), "-o", str(tmp_path / "out2"), "--record", str(bag)])   # never overwrites


class _StubEstimator:
    """Finds nobody; raises ``KeyboardInterrupt`` (Ctrl-C) on call ``interrupt_at`` (0-based), if given."""

    name, device = "stub", "cpu"

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.calls = 0
        self.interrupt_at = interrupt_at

    def __call__(self, image):
        from dope_core.fusion import assemble

        if self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        self.calls += 1
        return assemble([], [], [], image_size=(image.shape[1], image.shape[0]), backend=self.name)


def _stub(monkeypatch, **kwargs) -> _StubEstimator:
    import dope_core.cli as cli

    stub = _StubEstimator(**kwargs)
    monkeypatch.setattr(cli, "build_estimator", lambda *a, **k: stub)
    return stub


def _write_clip(path, frames: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()


def test_files_dope_did_not_write_are_never_replaced(tmp_path, portrait, monkeypatch, capsys):
    """``photo.png`` into its own folder, where the user keeps ``photo.jpg`` and another tool's ``photo.json``:
    the outputs take other names, the same ones when the run is repeated, and replace only themselves."""
    _stub(monkeypatch)
    d = tmp_path / "photos"
    d.mkdir()
    cv2.imwrite(str(d / "photo.png"), portrait)
    cv2.imwrite(str(d / "photo.jpg"), portrait[::2, ::2])
    (d / "photo.json").write_text('{"shapes": ["a labelme annotation"]}')
    (d / "other.json").write_text("the user's")
    before = _snapshot(d)
    for _ in range(2):
        assert main([str(d / "photo.png"), str(d / "photo.png"), "-o", str(d), "--quiet"]) == 0
        assert "outputs of" in capsys.readouterr().err
        after = _snapshot(d)
        assert {p: after[p] for p in before} == before
        assert sorted(p.name for p in set(after) - set(before)) == [MANIFEST, "photo_dope.jpg", "photo_dope.json"]
    folder = OutputFolder(d)
    with pytest.raises(OverwriteRefused, match="dope did not write"):
        folder.claim(d / "other.json")
    assert folder.claim(d / "photo_dope.jpg") == d / "photo_dope.jpg"


def test_output_that_cannot_be_a_folder_is_one_line_and_exit_2_before_the_backend(tmp_path, capsys, monkeypatch):
    import dope_core.cli as cli

    monkeypatch.setattr(cli, "build_estimator", lambda *a, **k: pytest.fail("the backend was built"))
    (tmp_path / "in.jpg").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("keep me")
    assert main([str(tmp_path / "in.jpg"), "-o", str(tmp_path / "notes.txt")]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert main([str(tmp_path / "in.jpg"), "-o", str(tmp_path / "notes.txt" / "sub")]) == 2
    assert "cannot be created (Not a directory)" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_a_video_without_frames_leaves_the_previous_outputs(tmp_path, monkeypatch, capsys):
    _stub(monkeypatch)
    _write_clip(tmp_path / "clip.avi", 4)
    out = tmp_path / "out"
    assert main([str(tmp_path / "clip.avi"), "-o", str(out), "--quiet"]) == 0
    before = _snapshot(out)
    assert len((out / "clip.jsonl").read_text().splitlines()) == 4
    data = (tmp_path / "clip.avi").read_bytes()
    (tmp_path / "clip.avi").write_bytes(data[:300])   # the same name, no readable frame now
    assert main([str(tmp_path / "clip.avi"), "-o", str(out), "--quiet"]) == 1
    assert "failed 1 input(s)" in capsys.readouterr().out
    assert _snapshot(out) == before   # nothing truncated, no temporary file left


def test_a_failed_write_keeps_the_previous_output(tmp_path, portrait):
    """A full disk (a file size limit) while writing: the input is a counted failure, the output of the
    previous run stays whole."""
    cv2.imwrite(str(tmp_path / "big.png"), cv2.resize(portrait, (1024, 1200)))
    out = tmp_path / "out"
    run = [sys.executable, "-m", "dope_core.cli", str(tmp_path / "big.png"), "-o", str(out), "--quiet",
           "--parts", "body"]
    assert subprocess.run(run, cwd=REPO, capture_output=True).returncode == 0
    before = _snapshot(out)
    assert (out / "big.jpg").stat().st_size > 40_000
    limited = subprocess.run(["bash", "-c", 'ulimit -f 30 && exec "$@"', "limited", *run], cwd=REPO,
                             capture_output=True, text=True)
    assert limited.returncode == 1 and "error while processing (OSError)" in limited.stdout, limited.stderr
    assert _snapshot(out).keys() == before.keys()
    assert {p: v[0] for p, v in _snapshot(out).items()} == {p: v[0] for p, v in before.items()}


def test_ctrl_c_stops_with_the_summary_and_keeps_the_frames_done(tmp_path, monkeypatch, capsys):
    _stub(monkeypatch, interrupt_at=3)
    _write_clip(tmp_path / "clip.avi", 6)
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((40, 50, 3), np.uint8))
    out = tmp_path / "out"
    assert main([str(tmp_path / "a.png"), str(tmp_path / "clip.avi"), "-o", str(out), "--quiet"]) == 130
    captured = capsys.readouterr()
    assert "interrupted" in captured.err and "processed 1 input(s), 3 image(s)/frame(s)" in captured.out
    assert [json.loads(line)["frame"] for line in (out / "clip.jsonl").read_text().splitlines()] == [0, 1]
    assert len(list(VideoReader(out / "clip.mp4"))) == 2   # the video was closed, then kept
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "a.jpg", "a.json", "clip.jsonl", "clip.mp4"]


def test_names_that_are_not_utf8_are_processed(tmp_path):
    """OpenCV crashes on such names (a Latin-1 name from an old disk): the run must not."""
    name = os.fsdecode(b"caf\xe9")
    d = tmp_path / "in"
    d.mkdir()
    cv2.imwrite(str(d / "x.png"), np.full((48, 64, 3), 90, np.uint8))
    os.rename(d / "x.png", d / f"{name}.png")
    _write_clip(d / "v.avi", 2)
    os.rename(d / "v.avi", d / f"{name}_clip.avi")
    done = subprocess.run([sys.executable, "-m", "dope_core.cli", str(d), "-o", str(tmp_path / "out"), "--quiet",
                           "--parts", "body"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(os.listdir(tmp_path / "out")) == sorted(
        [MANIFEST, f"{name}.json", f"{name}.jpg", f"{name}_clip.jsonl", f"{name}_clip.mp4"])
    assert cv2.imdecode(np.fromfile(str(tmp_path / "out" / f"{name}.jpg"), np.uint8), cv2.IMREAD_COLOR).shape == (48, 64, 3)


def test_a_recording_under_a_file_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SystemExit) as e:
        main([str(tmp_path / "clip.avi"), "--record", str(tmp_path / "notes.txt" / "bag")])
    assert e.value.code == 2 and "notes.txt is a file, not a folder" in capsys.readouterr().err


def test_a_cameras_poses_are_written_live(tmp_path, monkeypatch):
    """A webcam runs until Ctrl-C: its JSON lines are in out/camera0.jsonl as they come (tail -f), not in a
    temporary file."""
    import dope_core.cli as cli
    from dope_core.image_io import Frame

    _stub(monkeypatch)
    out = tmp_path / "out"
    seen: list[int] = []

    class Camera:
        fps, ended_early = 10.0, False

        def __init__(self, source, **kwargs):
            assert source == 0

        def __len__(self):
            return 0

        def __iter__(self):
            for i in range(3):
                path = out / "camera0.jsonl"
                seen.append(len(path.read_text().splitlines()) if path.exists() else -1)
                yield Frame(image=np.full((48, 64, 3), 30 * i, np.uint8), source="0", index=i)

    monkeypatch.setattr(cli, "VideoReader", Camera)
    assert main(["0", "-o", str(out), "--quiet", "--no-images"]) == 0
    assert seen == [-1, 1, 2]   # opened at the first frame's line (an earlier file stays until then)
    assert len((out / "camera0.jsonl").read_text().splitlines()) == 3


class _NoFrames:
    """A ``VideoReader`` stand-in whose source opens and yields no frame (every frame undecodable, a silent camera)."""

    fps, ended_early = 10.0, False

    def __init__(self, source, **kwargs):
        pass

    def __len__(self):
        return 0

    def __iter__(self):
        return iter(())


def test_a_video_without_frames_leaves_no_empty_recording(tmp_path, monkeypatch):
    """A video that opens but yields no frame (every frame undecodable): the recording this run created is
    removed, so that a second try may record at that path."""
    import dope_core.cli as cli

    _stub(monkeypatch)

    monkeypatch.setattr(cli, "VideoReader", _NoFrames)
    _write_clip(tmp_path / "clip.avi", 2)
    assert main([str(tmp_path / "clip.avi"), "-o", str(tmp_path / "out"), "--quiet", "--record",
                 str(tmp_path / "bag")]) == 1
    assert not (tmp_path / "bag").exists()


@pytest.fixture()
def no_backend(monkeypatch) -> list[list[Path]]:
    """``build_estimator`` stops the run (exit 2, "stop here"); returns the inputs given to ``assign_names``."""
    import dope_core.cli as cli
    from dope_core.output_names import assign_names

    seen: list[list[Path]] = []

    def spy(inputs, **kwargs):
        seen.append(list(inputs))
        return assign_names(inputs, **kwargs)

    def stop(*args, **kwargs):
        raise RuntimeError("stop here")

    monkeypatch.setattr(cli, "assign_names", spy)
    monkeypatch.setattr(cli, "build_estimator", stop)
    return seen


def test_the_ends_of_documented_ranges_are_accepted_and_beyond_them_refused(tmp_path: Path, capsys,
                                                                            no_backend: list[list[Path]]) -> None:
    """``--second-opinion`` in [0, 1] (1 included); ``--hfov`` strictly between 0 and 180; ``--max-pixels`` >= 1."""
    (tmp_path / "in.jpg").write_bytes(b"x")
    base = [str(tmp_path / "in.jpg"), "-o", str(tmp_path / "o")]
    for ok in (["--second-opinion", "1"], ["--second-opinion", "0"], ["--hfov", "179.5"], ["--max-pixels", "1"]):
        assert main(base + ok) == 2 and "stop here" in capsys.readouterr().err, ok
    for bad in (["--hfov", "0"], ["--max-pixels", "0"], ["--max-side", "0"]):
        with pytest.raises(SystemExit):
            main(base + bad)


def test_the_same_file_given_twice_is_one_input_and_a_file_named_like_a_camera_is_a_file(
        tmp_path: Path, monkeypatch, capsys, no_backend: list[list[Path]]) -> None:
    """``a.jpg a.jpg`` is processed once (no renamed outputs); an existing file ``0`` is that file, not camera 0."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.jpg").write_bytes(b"x")
    assert main([str(tmp_path / "a.jpg"), "a.jpg", "-o", "o"]) == 2   # compared by the file, not the spelling
    assert no_backend[-1] == [tmp_path / "a.jpg"] and "note:" not in capsys.readouterr().err
    (tmp_path / "0").write_bytes(b"x")
    assert main(["0", "-o", "o"]) == 2
    assert no_backend[-1] == [Path("0")]


def test_a_video_device_is_its_webcam(tmp_path: Path, monkeypatch, no_backend: list[list[Path]]) -> None:
    """``/dev/video2`` (a Linux user's way to name a webcam, or a udev link to it) is OpenCV's camera 2, as ``2`` is;
    it used to be a file that did not exist ("no such file or folder")."""
    from dope_core.cli import camera_index

    monkeypatch.chdir(tmp_path)
    (tmp_path / "usb-cam-video-index0").symlink_to("/dev/video2")   # as /dev/v4l/by-id/ holds them
    assert [camera_index(x) for x in ("2", "/dev/video2", "usb-cam-video-index0", "/dev/video", "/dev/videoX",
                                      "video2.mp4")] == [2, 2, 2, None, None, None]
    assert main(["/dev/video2", "usb-cam-video-index0", "-o", "o"]) == 2
    assert no_backend[-1] == [Path("camera2"), Path("camera2")]   # outputs named after the camera


def test_an_output_folder_without_write_permission_is_one_line_and_exit_2(tmp_path: Path, capsys, monkeypatch,
                                                                          no_backend: list[list[Path]]) -> None:
    """Without write permission in ``-o`` the run stops before the backend (checked with ``os.access``)."""
    import dope_core.cli as cli

    (tmp_path / "in.jpg").write_bytes(b"x")
    monkeypatch.setattr(cli.os, "access", lambda *args, **kwargs: False)
    assert main([str(tmp_path / "in.jpg"), "-o", str(tmp_path / "o")]) == 2
    assert "no permission to write" in capsys.readouterr().err and no_backend == []


def test_an_input_is_never_an_output_even_if_an_earlier_run_wrote_it(tmp_path: Path) -> None:
    """``clip.mp4`` written by an earlier run and now given as an input: the folder's record allows it, the
    run's input guard still refuses it."""
    from dope_core.cli import Runner
    from dope_core.output_names import InputGuard

    out = tmp_path / "o"
    out.mkdir()
    (out / "clip.mp4").write_bytes(b"video")
    OutputFolder(out).adopt(out / "clip.mp4")
    args = build_parser().parse_args([str(out / "clip.mp4"), "-o", str(out)])
    runner = Runner(None, args, InputGuard([out / "clip.mp4"]), folder=OutputFolder(out))
    with pytest.raises(OverwriteRefused, match="input file"):
        runner.target("clip", ".mp4")
    assert runner.target("clip", ".jsonl") == out / "clip.jsonl"
    assert (out / "clip.mp4").read_bytes() == b"video"


class _FullDisk:
    """``cv2.VideoWriter`` on a disk that fills up: every frame is accepted and nothing reports an error, but the
    file ends cut short (no MP4 index), as OpenCV leaves it when the disk is full."""

    real = cv2.VideoWriter

    def __init__(self, path, *args) -> None:
        self.path = Path(path)
        self.writer = self.real(path, *args)

    def write(self, frame) -> None:
        self.writer.write(frame)

    def release(self) -> None:
        self.writer.release()
        data = self.path.read_bytes()
        self.path.write_bytes(data[:len(data) * 2 // 3])


def test_a_video_that_did_not_come_out_whole_fails_and_keeps_the_earlier_one(tmp_path, monkeypatch, capsys):
    """A full disk while the annotated video is written: the input is a counted failure (exit 1, the reason on
    stderr), and the earlier run's video and JSON lines stay as they were; so does the video on Ctrl-C."""
    stub = _stub(monkeypatch)
    _write_clip(tmp_path / "clip.avi", 4)
    out = tmp_path / "out"
    assert main([str(tmp_path / "clip.avi"), "-o", str(out), "--quiet"]) == 0
    before = _snapshot(out)
    capsys.readouterr()
    monkeypatch.setattr(cv2, "VideoWriter", _FullDisk)
    assert main([str(tmp_path / "clip.avi"), "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert "processed 0 input(s)" in captured.out and "1 x error while processing (OSError)" in captured.out
    assert "did not come out whole (it does not open as a video" in captured.err
    assert _snapshot(out) == before   # nothing replaced, no temporary file left
    stub.interrupt_at, stub.calls = 2, 0   # Ctrl-C at the third frame: the JSON lines done are kept, not the video
    assert main([str(tmp_path / "clip.avi"), "-o", str(out), "--quiet"]) == 130
    assert "the annotated video was not kept" in capsys.readouterr().err
    assert (out / "clip.mp4").read_bytes() == before[out / "clip.mp4"][0]
    assert len((out / "clip.jsonl").read_text().splitlines()) == 2
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "clip.jsonl", "clip.mp4"]


def test_reruns_into_the_input_folder_process_the_same_inputs_under_the_same_names(tmp_path, portrait, monkeypatch,
                                                                                    capsys):
    """``dope photos -o photos`` three times: the files the folder's list names as dope's outputs are no inputs,
    so every run processes the two photos and replaces the first run's outputs."""
    _stub(monkeypatch)
    d = tmp_path / "photos"
    d.mkdir()
    cv2.imwrite(str(d / "1.jpg"), portrait)
    cv2.imwrite(str(d / "2.jpg"), portrait[::2, ::2])
    for run in range(3):
        assert main([str(d), "-o", str(d), "--quiet"]) == 0
        assert "processed 2 input(s), 2 image(s)" in capsys.readouterr().out
        if run == 0:
            first = sorted(p.name for p in d.iterdir())
        assert sorted(p.name for p in d.iterdir()) == first
    assert first == [MANIFEST, "1.jpg", "1_dope.jpg", "1_dope.json", "2.jpg", "2_dope.jpg", "2_dope.json"]
    (d / "1.jpg").unlink(), (d / "2.jpg").unlink()   # only dope's outputs left: nothing to process, said so
    assert main([str(d), "-o", str(tmp_path / "o"), "--quiet"]) == 1
    assert "1 x folder holds no image or video file" in capsys.readouterr().out


def test_ctrl_c_before_the_first_frame_leaves_no_recording(tmp_path, monkeypatch, capsys):
    """Ctrl-C on the first frame, and while the recording is being created: the recording folder this run
    made is removed (exit 130 as before), so that the same ``--record`` works on the next try."""
    import dope_core.cli as cli

    stub = _stub(monkeypatch, interrupt_at=0)
    _write_clip(tmp_path / "clip.avi", 3)
    bag = tmp_path / "rec"
    run = [str(tmp_path / "clip.avi"), "-o", str(tmp_path / "out"), "--quiet", "--no-images", "--record", str(bag)]
    assert main(run) == 130
    assert not bag.exists()
    real = cli.Recorder

    def interrupted(path, **kwargs):
        real(path, **kwargs)   # the folder and its .mcap made, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "Recorder", interrupted)
    assert main(run) == 130
    assert not bag.exists()
    monkeypatch.setattr(cli, "Recorder", real)
    stub.interrupt_at = None
    assert main(run) == 0
    from dope_core.recording import read_recording

    assert len(list(read_recording(bag))) == 3
    (tmp_path / "mine").mkdir()
    with pytest.raises(FileExistsError):   # a folder this run did not make is never removed
        with cli._recording(tmp_path / "mine", "jpeg"):
            pass
    assert (tmp_path / "mine").is_dir()


def test_a_camera_that_gives_no_frame_leaves_the_earlier_sessions_poses(tmp_path, monkeypatch, capsys):
    """``dope 0`` where the camera opens but no frame comes: the earlier session's camera0.jsonl stays whole."""
    import dope_core.cli as cli

    _stub(monkeypatch)
    out = tmp_path / "out"
    out.mkdir()
    OutputFolder(out).claim(out / "camera0.jsonl")
    (out / "camera0.jsonl").write_text('{"frame": 0}\n{"frame": 1}\n')
    before = _snapshot(out)

    monkeypatch.setattr(cli, "VideoReader", _NoFrames)   # a camera that opens and gives no frame
    assert main(["0", "-o", str(out), "--quiet"]) == 1
    assert "1 x no readable frame" in capsys.readouterr().out
    assert _snapshot(out)[out / "camera0.jsonl"] == before[out / "camera0.jsonl"]
    assert not (out / "camera0.mp4").exists() and len(list(out.iterdir())) == 2   # no temporary file left


def test_a_video_streams_with_the_schedule_the_flags_give(tmp_path: Path) -> None:
    """The streaming flags reach the video's :class:`DetectionSchedule`: ``--background-search`` runs the
    scheduled searches beside the stream, by default on a webcam (live) and not on a file (offline runs repeat
    exactly); ``--no-background-search`` keeps them in their frames on a webcam too."""
    from dope_core.cli import Runner
    from dope_core.estimator import build_estimator
    from dope_core.output_names import InputGuard

    experts = build_estimator("experts", parts=["body"])
    for flags, live, background in (([], False, False), ([], True, True), (["--background-search"], False, True),
                                    (["--no-background-search"], True, False)):
        args = build_parser().parse_args(["clip.mp4", "-o", str(tmp_path), "--detect-every", "12",
                                          "--scan-sources-every", "3", *flags])
        stream = Runner(experts, args, InputGuard([]), folder=OutputFolder(tmp_path)).streaming(None, live=live)
        assert stream.schedule.background is background, (flags, live)
        assert stream.schedule.every_frames == 12 and stream.schedule.scan_sources_every == 3
        stream.close()


def test_a_gif_is_processed_as_a_video_and_counted_in_words(tmp_path, monkeypatch, capsys):
    """A GIF goes the video way (OpenCV's wheels decode no GIF image) and a one-frame input says "1 frame"."""
    pil = pytest.importorskip("PIL.Image")
    stub = _stub(monkeypatch)
    pil.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(tmp_path / "still.gif")
    _write_clip(tmp_path / "clip.avi", 2)
    assert main([str(tmp_path / "still.gif"), str(tmp_path / "clip.avi"), "-o", str(tmp_path / "out"),
                 "--no-images"]) == 0
    out = capsys.readouterr().out
    assert "still: 1 frame, 0 people tracked" in out and "clip: 2 frames, 0 people tracked" in out
    assert stub.calls == 3 and (tmp_path / "out" / "still.jsonl").is_file()
