"""Record and replay across processes: the demo records a live node, dope-replay plays the bag into a new node.

Same frames, same stamps, same poses (track ids aside: each node draws its own id
session), and every topic of the demo's bag on the image stamps.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import uuid

import cv2
import numpy as np
import pytest

from dope_core.msg_fields import poses_from_fields
from dope_ros.bag_io import deserialize, read_bag
from dope_ros.replay import BagPlayer, recorded_frames
from dope_ros_harness import REPO

FRAMES = 3


def _comparable(poses, track_ids: list) -> dict:
    """The poses as a dict, the people's track ids replaced by ``track_ids`` (ids are session-specific)."""
    people = [dataclasses.replace(p, track_id=i) for p, i in zip(poses.people, track_ids)]
    d = dataclasses.replace(poses, people=people).to_dict()
    d.pop("lost_track_ids", None)
    return d


@pytest.fixture(scope="module")
def demo_bag(tmp_path_factory):
    from matplotlib import cbook

    tmp = tmp_path_factory.mktemp("replay")
    portrait = cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))[::2, ::2]
    h, w = portrait.shape[:2]
    video = tmp / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (w + 20, h))
    for i in range(FRAMES):
        frame = np.zeros((h, w + 20, 3), np.uint8)
        frame[:, 5 * i:5 * i + w] = portrait
        writer.write(frame)
    writer.release()
    out = tmp / "out"
    run = subprocess.run([sys.executable, "-m", "dope_ros.demo", "--video", str(video), "--frames", str(FRAMES),
                          "--out", str(out), "--image-format", "png"], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return out / "poses_bag"


@pytest.mark.timeout(300)
def test_the_demo_bag_is_on_one_clock_and_holds_the_images(demo_bag):
    stamps = [s for s, _, _ in recorded_frames(demo_bag)]
    assert len(stamps) == FRAMES
    by_topic: dict[str, list[int]] = {}
    for topic, msgtype, t, data in read_bag(demo_bag):
        msg = deserialize(data, msgtype)
        header = msg.transforms[0].header if topic == "/tf" else msg.markers[0].header if "markers" in topic \
            else msg.header
        assert header.stamp.sec * 1_000_000_000 + header.stamp.nanosec == t, topic   # log time = image stamp
        by_topic.setdefault(topic, []).append(t)
    for topic in ("/demo/camera/image_raw/compressed", "/demo/camera/camera_info", "/demo/dope/poses",
                  "/demo/dope/markers"):
        assert sorted(by_topic[topic]) == stamps, topic
    assert set(by_topic.get("/tf", [])) <= set(stamps) and by_topic.get("/tf")   # the portrait's face frame


@pytest.mark.timeout(300)
def test_replay_through_a_node_gives_the_live_poses(demo_bag, start_node, ros_client):
    live = {}
    for _, msgtype, t, data in read_bag(demo_bag, {"/demo/dope/poses"}):
        live[t] = poses_from_fields(deserialize(data, msgtype))
    ns = f"rp_{uuid.uuid4().hex[:6]}"
    start_node(namespace=ns, image_topic="camera/image_raw", camera_info_topic="camera/camera_info",
               image_transport="compressed", device="cpu", parameters={"publish_tf": "true"})
    from dope_ros.conversions import poses_from_msg

    replayed = {}
    player = BagPlayer(ros_client, ns, on_answer=lambda t, msg: replayed.__setitem__(t, poses_from_msg(msg)))
    assert player.wait_for_node(60)
    sent = player.play(demo_bag, timeout_s=90)
    assert sent == sorted(live)   # same frames, same stamps
    assert player.answered == set(replayed) >= set(sent)
    assert any(p.people for p in live.values())
    for t in sent:
        a, b = live[t], replayed[t]
        assert len(a.people) == len(b.people)
        order = list(range(len(a.people)))
        assert _comparable(a, order) == _comparable(b, order)


@pytest.mark.timeout(300)
def test_offline_replay_re_estimates_every_recorded_frame(demo_bag, tmp_path):
    import json

    from dope_ros.replay import main

    mcap = next(demo_bag.glob("*.mcap")) if demo_bag.is_dir() else demo_bag
    for inside in (mcap, mcap.parent / "replay.jsonl"):   # never written over nor into the recording
        size = mcap.stat().st_size
        with pytest.raises(SystemExit):
            main([str(demo_bag), "--offline", "-o", str(inside)])
        assert mcap.stat().st_size == size and not (mcap.parent / "replay.jsonl").exists()
    out = tmp_path / "replay.jsonl"
    assert main([str(demo_bag), "--offline", "-o", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["stamp_ns"] for line in lines] == [s for s, _, _ in recorded_frames(demo_bag)]
    assert all(line["people"] for line in lines)
    face = lines[-1]["people"][0]["face"]
    assert "root_camera" in face and "frame" in face   # placed with the recorded camera info, framed
    assert all(line["source"] == "dope-replay" for line in lines)
    assert main([str(demo_bag), "--offline", "-o", str(out)]) == 0   # its own output: replaced


@pytest.mark.timeout(300)
def test_offline_replay_places_with_the_recorded_distortion_and_skips_a_broken_frame(tmp_path, capsys):
    import json

    from matplotlib import cbook

    from dope_core.camera import CameraModel
    from dope_core.estimator import build_estimator
    from dope_core.placement import place_poses
    from dope_core.recording import IMAGE_TOPIC, Recorder, read_recording
    from dope_ros.replay import main

    image = cv2.cvtColor(cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))[::2, ::2],
                         cv2.COLOR_BGR2RGB)
    h, w = image.shape[:2]
    # principal point far from the face, strong barrel distortion: ignoring D moves the face
    camera = CameraModel.from_calibration(width=w, height=h, k=[300.0, 0, 10, 0, 300.0, 10, 0, 0, 1],
                                          distortion_model="plumb_bob", d=[-0.35, 0.12, 0.0, 0.0, 0.0])
    bag = tmp_path / "rec"
    with Recorder(bag, image_format="png") as rec:
        rec.write(1_000_000_000, image, None, camera=camera)
        rec._write(IMAGE_TOPIC, "sensor_msgs/msg/CompressedImage", 1_100_000_000,
                   {"header": {"stamp": {"sec": 1, "nanosec": 100_000_000}, "frame_id": "cam"}, "format": "jpeg",
                    "data": np.frombuffer(b"\xff\xd8\xff broken", np.uint8)})
        rec.write(1_200_000_000, image, None, camera=camera)
    out = tmp_path / "replay.jsonl"
    # per frame, as the poses expected below are made (the placement is the point here, not the streaming)
    assert main([str(bag), "--offline", "-o", str(out), "--no-streaming"]) == 1   # a frame skipped: counted
    assert "skipped 1 (unreadable)" in capsys.readouterr().out
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["stamp_ns"] for line in lines] == [1_000_000_000, 1_200_000_000]

    frame = next(iter(read_recording(bag, on_skip=lambda *_: None)))
    poses = build_estimator("experts")(frame.image)
    with_d = place_poses(poses, camera).people[0].face.root_camera
    pinhole = place_poses(poses, CameraModel.from_matrix(camera.k, w, h)).people[0].face.root_camera
    got = np.asarray(lines[0]["people"][0]["face"]["root_camera"])
    assert np.allclose(got, with_d, atol=1e-4)
    assert np.linalg.norm(with_d - pinhole) > 0.02   # metres: the test would see distortion ignored


def test_the_replay_output_replaces_only_an_earlier_replay(tmp_path, capsys, monkeypatch):
    """A user's file, a folder, a missing folder, the recording's own files: one line, exit 2, before the
    estimator loads, the file untouched; an earlier replay's output is replaced."""
    import dope_ros.replay as replay
    from dope_core.recording import Recorder

    bag = tmp_path / "rec"
    with Recorder(bag) as rec:
        rec.write(1_000_000_000, np.zeros((48, 64, 3), np.uint8), None)
    mcap = next(bag.glob("*.mcap"))
    (tmp_path / "notes.jsonl").write_text('{"my": "data"}\n')
    (tmp_path / "earlier.jsonl").write_text(_replay_line_before_the_marker())
    assert replay.output_problem(tmp_path / "earlier.jsonl", bag) is None
    assert replay.output_problem(tmp_path / "new.jsonl", mcap) is None
    monkeypatch.setattr("dope_core.estimator.build_estimator", lambda *a, **k: pytest.fail("the estimator loaded"))
    for out, bag_arg, why in ((tmp_path / "notes.jsonl", bag, "is not an earlier replay's output"),
                              (bag / "metadata.yaml", mcap, "would write into the recording"),
                              (tmp_path, bag, "is a folder"),
                              (tmp_path / "missing" / "x.jsonl", bag, "does not exist")):
        with pytest.raises(SystemExit) as e:
            replay.main([str(bag_arg), "--offline", "-o", str(out)])
        assert e.value.code == 2 and why in capsys.readouterr().err
    assert (tmp_path / "notes.jsonl").read_text() == '{"my": "data"}\n'


def _replay_line_before_the_marker() -> str:
    """A line of an offline replay written before the ``source`` marker: the stamp, then the poses' keys."""
    import json

    from dope_core.structures import WholeBodyPoses

    return json.dumps({"stamp_ns": 5, **WholeBodyPoses(image_size=(64, 48), backend="experts").to_json_dict()}) + "\n"


@pytest.mark.parametrize("name, first_line", [
    ("list.json", '["stamp_ns", 1]\n'),
    ("string.json", '"stamp_ns"\n'),
    ("clip.jsonl", None),   # dope's own per-video output: frame, stamp_ns, the poses
    ("truth.jsonl", '{"stamp_ns": 5, "people": [{"id": 1, "joints": []}]}\n'),   # another tool's, with stamp_ns
])
def test_a_file_dope_replay_did_not_write_is_never_replaced(name, first_line, tmp_path, capsys, monkeypatch):
    """Containing "stamp_ns" is not enough: a JSON list or string, dope's per-video JSON lines and another
    tool's objects with a stamp are refused (one line, exit 2, before the estimator loads, the file untouched)."""
    import json

    import dope_ros.replay as replay
    from dope_core.recording import Recorder
    from dope_core.structures import WholeBodyPoses

    bag = tmp_path / "rec"
    with Recorder(bag) as rec:
        rec.write(1_000_000_000, np.zeros((48, 64, 3), np.uint8), None)
    if first_line is None:
        first_line = json.dumps({"frame": 0, "stamp_ns": 5,
                                 **WholeBodyPoses(image_size=(64, 48), backend="experts").to_json_dict()}) + "\n"
    out = tmp_path / name
    out.write_text(first_line + '{"stamp_ns": 6}\n')
    assert "is not an earlier replay's output" in replay.output_problem(out, bag)
    monkeypatch.setattr("dope_core.estimator.build_estimator", lambda *a, **k: pytest.fail("the estimator loaded"))
    with pytest.raises(SystemExit) as e:
        replay.main([str(bag), "--offline", "-o", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and "is not an earlier replay's output" in err[-1]
    assert out.read_text() == first_line + '{"stamp_ns": 6}\n'


def test_the_output_of_dope_replay_is_replaced_the_earlier_format_too(tmp_path):
    """What dope-replay writes (marked ``"source": "dope-replay"``), and its lines from before the marker
    (exactly the stamp and the poses' keys), may be replaced; an empty file too (nothing to lose)."""
    import json

    from dope_core.recording import Recorder
    from dope_core.structures import WholeBodyPoses
    from dope_ros.replay import REPLAY_SOURCE, output_problem, replay_line

    bag = tmp_path / "rec"
    with Recorder(bag) as rec:
        rec.write(1_000_000_000, np.zeros((48, 64, 3), np.uint8), None)
    poses = WholeBodyPoses(image_size=(64, 48), backend="experts", lost_track_ids=[3])
    line = replay_line(7, poses)
    assert json.loads(line) == {"source": REPLAY_SOURCE, "stamp_ns": 7, **poses.to_json_dict()}
    for name, text in (("now.jsonl", line + "\n"), ("earlier.jsonl", _replay_line_before_the_marker()),
                       ("empty.jsonl", "")):
        (tmp_path / name).write_text(text)
        assert output_problem(tmp_path / name, bag) is None, name


def test_what_is_not_a_recording_is_one_line_and_exit_2(tmp_path, capsys):
    from dope_ros.replay import main

    (tmp_path / "rec").mkdir()
    (tmp_path / "rec" / "metadata.yaml").write_text("\x00\x01 not yaml")
    assert main([str(tmp_path / "rec"), "--offline", "-o", str(tmp_path / "out.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dope-replay:") and "\n" not in err
    assert not (tmp_path / "out.jsonl").exists()
    # played into a node: the recording is checked before any node is awaited (no ROS started, at once)
    (tmp_path / "empty").mkdir()
    for bad in (tmp_path / "rec", tmp_path / "empty"):
        assert main([str(bad), "--namespace", "/"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("dope-replay:") and "\n" not in err and "no node listens" not in err


@pytest.mark.timeout(300)
def test_a_png_recording_of_dope_re_estimates_offline_to_its_poses(tmp_path):
    """``dope`` streams a video and records it losslessly; ``dope-replay --offline`` streams the recorded
    frames the same way, so every person's 2D keypoints come back as ``dope`` wrote them."""
    import json

    from dope_core.cli import main as dope
    from dope_ros.replay import main

    from matplotlib import cbook

    portrait = cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))[::2, ::2]
    h, w = portrait.shape[:2]
    video = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (2 * w, h))
    for i in range(6):   # a person walking right, then a second one stepping in (a search finds her)
        frame = np.zeros((h, 2 * w, 3), np.uint8)
        frame[:, 6 * i:6 * i + w - 40] = portrait[:, :w - 40]
        if i >= 3:
            frame[:, w + 20:2 * w] = portrait[:, :w - 20]
        writer.write(frame)
    writer.release()
    assert dope([str(video), "-o", str(tmp_path / "out"), "--quiet", "--no-images", "--hfov", "60",
                 "--record", str(tmp_path / "bag"), "--record-format", "png"]) == 0
    live = [json.loads(line) for line in (tmp_path / "out" / "walk.jsonl").read_text().splitlines()]

    def bodies(line: dict) -> list:
        return sorted(np.round(np.asarray(p["body"]["keypoints_2d"]), 3).tolist() for p in line["people"]
                      if p.get("body"))

    runs = {}
    for flags in ([], ["--no-streaming"]):
        out = tmp_path / f"replay{len(flags)}.jsonl"
        assert main([str(tmp_path / "bag"), "--offline", "-o", str(out), *flags]) == 0
        runs[bool(flags)] = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(live) == len(runs[False]) == len(runs[True]) == 6 and all(bodies(line) for line in live)
    # the frames of the one person (search, then followed) come back as dope wrote them; once the second person
    # steps in, streaming is not repeatable to the pixel run to run (nor is dope itself), so the same people
    assert [bodies(a) for a in live[:3]] == [bodies(b) for b in runs[False][:3]]
    assert [len(a["people"]) for a in live] == [len(b["people"]) for b in runs[False]]


@pytest.mark.parametrize("namespace, base", [
    ("replay", "/replay"), ("/", ""), ("", ""), ("//", ""), ("/cam1", "/cam1"), ("cam1/", "/cam1"),
    ("/robot/cam_1/", "/robot/cam_1"), ("robot/cam1", "/robot/cam1"), ("_a/B2", "/_a/B2")])
def test_replay_topics_of_root_nested_and_slashed_namespaces(namespace, base):
    from dope_ros.replay import node_namespace, replay_topics

    assert node_namespace(namespace) == (base or "/")
    assert replay_topics(namespace) == (f"{base}/camera/image_raw/compressed", f"{base}/camera/camera_info",
                                        f"{base}/dope/poses")


@pytest.mark.parametrize("namespace", ["a b", "1abc", "cam/2d", "a//b", "a-b", "~", "é", "a" * 230])
def test_an_invalid_namespace_is_refused(namespace):
    from dope_ros.replay import node_namespace

    with pytest.raises(ValueError):
        node_namespace(namespace)


def test_the_root_namespace_names_topics_ros_takes(ros_client):
    """The crash of ``--namespace /`` (``//camera/...``): the player's topics are valid ROS names."""
    import rclpy

    node = rclpy.create_node(f"replay_root_{uuid.uuid4().hex[:6]}", context=ros_client.context)
    try:
        player = BagPlayer(node, "/")
        assert player.image_pub.topic_name == "/camera/image_raw/compressed"
        assert player.info_pub.topic_name == "/camera/camera_info"
    finally:
        node.destroy_node()


@pytest.mark.parametrize("namespace", ["a b", "1abc"])
def test_an_invalid_namespace_is_one_line_and_exit_2_before_ros_starts(namespace, tmp_path, capsys, monkeypatch):
    import dope_ros.replay as replay
    from dope_core.recording import Recorder

    bag = tmp_path / "rec"
    with Recorder(bag) as rec:
        rec.write(1_000_000_000, np.zeros((48, 64, 3), np.uint8), None)
    monkeypatch.setattr(replay, "_play", lambda args: pytest.fail("ROS started"))
    assert replay.main([str(bag), "--namespace", namespace]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dope-replay: --namespace") and "\n" not in err
