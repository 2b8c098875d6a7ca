"""Package layout: message docs vs keypoints, import shadowing, parameters YAML, launch file, manifest."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from dope_core.keypoints import BODY_JOINTS, FACE_LANDMARKS, HAND_JOINTS
from dope_ros.parameters import PARAMETERS
from dope_ros_harness import REPO, launch_arguments, launch_command


def test_msg_comments_list_the_keypoints_in_order():
    text = (REPO / "msg" / "PartPose.msg").read_text()
    body = re.findall(r"(\d+) (\w+)", text.split("# body (13")[1].split("# hand (21)")[0])
    assert [name for _, name in body] == list(BODY_JOINTS)
    assert [int(i) for i, _ in body] == list(range(13))
    assert "0 wrist" in text and "1-4 thumb_cmc, thumb_mcp, thumb_ip, thumb_tip" in text
    assert HAND_JOINTS[1:5] == ("thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip")
    for first, last, stem in re.findall(r"(\d+)-(\d+) (\w+?)_0\.\.\d", text):
        assert FACE_LANDMARKS[int(first)] == f"{stem}_0", stem
        assert FACE_LANDMARKS[int(last)].startswith(stem), stem
    assert FACE_LANDMARKS[32] == "contour_32" and len(FACE_LANDMARKS) == 84


@pytest.mark.parametrize("cwd", ["repo", "elsewhere"])
def test_generated_messages_not_shadowed_by_source_folder(cwd, tmp_path):
    """The dope_ros/ source folder and the installed dope_ros.msg merge, from any working directory."""
    code = ("import dope_ros, dope_ros.msg, dope_ros.node, dope_ros.conversions;"
            "print(dope_ros.msg.WholeBodyPoseArray.__module__, dope_ros.node.__file__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO if cwd == "repo" else tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("dope_ros.msg._whole_body_pose_array")
    assert Path(out.stdout.split()[1]).resolve() == (REPO / "dope_ros" / "node.py").resolve()


def test_yaml_defaults_match_declared_parameters():
    data = yaml.safe_load((REPO / "config" / "dope.yaml").read_text())
    def flat(d, prefix=""):   # nested YAML groups are dotted ROS names (smoothing: {enabled} -> smoothing.enabled)
        for k, v in d.items():
            yield from flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [(f"{prefix}{k}", v)]

    params = dict(flat(data["/**"]["ros__parameters"]))
    assert set(params) == set(PARAMETERS)
    for name, p in PARAMETERS.items():
        assert params[name] == p.default, name
        assert p.description
        if p.range is not None:
            assert p.range[0] <= p.default <= p.range[1], name


def test_the_default_hand_and_face_thresholds_publish_what_the_experts_keep_at_a_body():
    """The node publishes the hands and faces the `dope` command shows: the experts keep a hand at a
    confident body's wrist from ``hand_wrist_score`` (0.2) and a face at its head from
    ``face_head_score`` (0.15), so the node's thresholds are no higher."""
    from dope_core.experts.config import ExpertsConfig

    assert PARAMETERS["hand_score_threshold"].default <= ExpertsConfig().hand_wrist_score
    assert PARAMETERS["face_score_threshold"].default <= ExpertsConfig().face_head_score


def test_launch_file_structure():
    tree = ast.parse((REPO / "launch" / "dope.launch.py").read_text())
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert "generate_launch_description" in functions
    # launch/launch_ros are imported inside the function only: the module loads without them.
    assert not [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    arguments, node_parameters, remappings = launch_arguments()
    assert {"image_topic", "camera_info_topic", "backend", "device", "params_file"} <= set(arguments)
    assert set(node_parameters) <= set(PARAMETERS)
    # The topic arguments remap the node's relative inputs; they are not (deprecated) parameters.
    assert dict(remappings) == {"image": "image_topic", "camera_info": "camera_info_topic"}
    assert not {"image_topic", "camera_info_topic"} & set(node_parameters)
    assert not arguments["image_topic"][0].startswith("/")  # relative: namespace:= moves it
    for name in node_parameters:   # not given: the parameters file decides
        assert arguments[name][0] == "" and "empty: the parameters file's" in arguments[name][1], name
    calls = {n.func.id: n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    node_call = calls["Node"]
    kwargs = {k.arg: k.value for k in node_call.keywords}
    assert ast.literal_eval(kwargs["package"]) == "dope_ros" and ast.literal_eval(kwargs["executable"]) == "dope_node"
    assert isinstance(kwargs["remappings"], ast.Name) and kwargs["remappings"].id == "remappings"
    assert "DeclareLaunchArgument" in calls
    cmake = (REPO / "CMakeLists.txt").read_text()
    assert "install(PROGRAMS scripts/dope_node DESTINATION lib/${PROJECT_NAME})" in cmake


def test_launch_arguments_left_out_leave_the_parameters_file_alone():
    """A user's params_file with backend: network is not overridden by the launch arguments' defaults."""
    spec = importlib.util.spec_from_file_location("dope_launch", REPO / "launch" / "dope.launch.py")
    launch_file = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launch_file)
    arguments, node_parameters, _ = launch_arguments()
    defaults = {name: arguments[name][0] for name in node_parameters}
    assert launch_file.node_overrides(defaults) == {}
    assert launch_file.node_overrides({**defaults, "device": "cpu"}) == {"device": "cpu"}


def test_launch_rviz_takes_the_frame_id_as_its_fixed_frame():
    spec = importlib.util.spec_from_file_location("dope_launch", REPO / "launch" / "dope.launch.py")
    launch_file = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launch_file)   # no launch import at module level
    assert launch_file.rviz_command("c.rviz", "cam_optical") == ["rviz2", "-d", "c.rviz", "-f", "cam_optical"]
    assert launch_file.rviz_command("c.rviz", "") == ["rviz2", "-d", "c.rviz"]
    arguments, node_parameters, _ = launch_arguments()
    assert arguments["rviz"][0] == "false" and "frame_id" in node_parameters   # the node's outputs use it too


def test_launch_command_passes_arguments():
    cmd = launch_command(backend="experts", device="cpu", namespace="ns1", image_topic="/cam/img")
    assert cmd[2:4] == ["--ros-args", "-r"] and "__ns:=/ns1" in cmd
    assert "device:=cpu" in cmd and not any(c.startswith("checkpoint:=") for c in cmd)   # left to the file
    assert cmd[cmd.index("image:=/cam/img") - 1] == "-r" and "camera_info:=camera/camera_info" in cmd
    assert cmd[cmd.index("--params-file") + 1] == str(REPO / "config" / "dope.yaml")


def test_launch_arguments_start_the_node(start_node):
    """The node started exactly as the launch file would start it comes up; a bad backend fails cleanly."""
    node = start_node(namespace="launch_check", device="cpu")
    assert "backend experts on cpu" in node.output()
    assert "images from /launch_check/camera/image_raw (raw), camera info from /launch_check/camera/camera_info" \
        in node.output()
    if importlib.util.find_spec("hri_msgs") is None:  # the ROS4HRI bridge is off, said once
        assert node.output().count("ROS4HRI outputs off: hri_msgs is not importable") == 1
    assert node.stop() == 0



def test_unknown_backend_exits_with_message(tmp_path):
    out = subprocess.run(launch_command(backend="nope"), capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 2 and "unknown backend 'nope'" in out.stderr



def test_network_parameters_with_the_experts_backend_exit_with_one_line():
    """checkpoint (or fp16, postprocess) set while the backend is experts: refused at start-up, as device cuda is."""
    cmd = launch_command() + ["-p", "checkpoint:=student.pth", "-p", "postprocess:=nms"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 2 and "checkpoint and postprocess are for backend 'network'" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_unknown_person_detector_exits_with_one_line():
    cmd = launch_command() + ["-p", "person_detectors:=[blazepose,yolo9000]"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 2 and "unknown person detector 'yolo9000'" in out.stderr
    assert "Traceback" not in out.stderr


def test_person_detectors_left_at_default_keep_the_experts_files(tmp_path):
    from dope_ros.node import experts_config

    f = tmp_path / "experts.yaml"
    f.write_text("experts:\n  person_detectors: [blazepose]\n  max_people: 5\n")
    assert experts_config(str(f), ["ssd", "blazepose", "faces"]).person_detectors == ("blazepose",)   # the file's
    assert experts_config(str(f), ["faces"]).person_detectors == ("faces",) and experts_config(str(f), ["faces"]).max_people == 5
    assert experts_config("", ["blazepose"]).person_detectors == ("blazepose",)
    assert experts_config(str(f), ["blazepose", "faces"], "mediapipe_lite").hand == "mediapipe_lite"
    assert experts_config(str(f), ["blazepose", "faces"], "").hand == "mediapipe"


def test_unknown_hand_expert_exits_with_one_line():
    cmd = launch_command() + ["-p", "hand_expert:=mediapipe_ultra"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 2 and "unknown hand expert 'mediapipe_ultra'" in out.stderr
    assert "Traceback" not in out.stderr


def test_unknown_loss_rule_exits_with_one_line():
    cmd = launch_command() + ["-p", "detect_on_loss:=everywhere"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 2 and "on_loss must be one of local, search, got 'everywhere'" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_uninstalled_extra_exits_with_one_line():
    """experts_config naming the opt-in YOLO detector, the extra hidden: exit code 2, one line, no traceback."""
    cmd = launch_command() + ["-p", f"experts_config:={REPO / 'config' / 'experts_yolo.yaml'}"]
    hide = "import runpy, sys; sys.modules['ultralytics'] = None; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    out = subprocess.run([cmd[0], "-c", hide, *cmd[1:]], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 2 and "needs the optional 'yolo' extra" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_package_manifest():
    root = ET.parse(REPO / "package.xml").getroot()
    assert root.get("format") == "3" and root.findtext("name") == "dope_ros"
    deps = {e.text for e in root if e.tag.endswith("depend")}
    assert {"ament_cmake", "rosidl_default_generators", "rclpy", "sensor_msgs", "visualization_msgs",
            "diagnostic_msgs", "std_msgs", "geometry_msgs", "rosidl_default_runtime"} <= deps
    assert root.find("member_of_group").text == "rosidl_interface_packages"
    assert root.find("export/build_type").text == "ament_cmake"


def test_rviz_and_fastdds_configs():
    rviz = yaml.safe_load((REPO / "config" / "dope.rviz").read_text())
    topics = [d["Topic"]["Value"] for d in rviz["Visualization Manager"]["Displays"] if "Topic" in d]
    assert topics == ["/dope/markers", "/dope/annotated_image"]
    # The frame of the README's RealSense example (image_topic:=/camera/color/image_raw).
    fixed = rviz["Visualization Manager"]["Global Options"]["Fixed Frame"]
    assert fixed == "camera_color_optical_frame"
    readme = (REPO / "README.md").read_text()
    assert "image_topic:=/camera/color/image_raw" in readme and fixed in readme
    root = ET.parse(REPO / "config" / "fastdds_large_images.xml").getroot()
    ns = {"d": "http://www.eprosima.com"}
    shm = [t for t in root.iterfind(".//d:transport_descriptor", ns) if t.findtext("d:type", namespaces=ns) == "SHM"]
    assert int(shm[0].findtext("d:segment_size", namespaces=ns)) >= 2 * 3840 * 2160 * 3   # two 4K rgb8 frames
    udp = [t for t in root.iterfind(".//d:transport_descriptor", ns) if t.findtext("d:type", namespaces=ns) == "UDPv4"]
    assert [a.text for a in udp[0].iterfind(".//d:address", ns)] == ["127.0.0.1"]
    assert root.findtext(".//d:useBuiltinTransports", namespaces=ns) == "false"


# ROS packages the code may import that this machine cannot install (no registry carries them).
_ROS_NOT_INSTALLABLE_HERE = {"launch", "launch_ros", "tf2_ros", "tf2_msgs", "hri_msgs", "rclpy_components"}
# Optional ROS packages: imported inside try/except ImportError only, the feature is off without them.
_OPTIONAL_ROS = {"hri_msgs"}
# rosdep keys of the system Python packages the code imports.
_PYTHON_ROSDEP_KEYS = {"numpy": "python3-numpy", "cv2": "python3-opencv", "yaml": "python3-yaml"}


def _imported_top_level_modules() -> dict[str, str]:
    """Top-level module -> first file importing it, over the shipped code (not the tests)."""
    found: dict[str, str] = {}
    files = [*REPO.glob("dope_ros/**/*.py"), *REPO.glob("dope_core/**/*.py"), *REPO.glob("launch/*.py"),
             REPO / "scripts" / "dope_node"]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(REPO)))
    return found


def _is_ros_package(name: str) -> bool:
    """A ROS package: it has share/<name>/package.xml in an installed prefix (or cannot be installed here)."""
    import os

    prefixes = [sys.prefix, *os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep)]
    return name in _ROS_NOT_INSTALLABLE_HERE or any((Path(p) / "share" / name / "package.xml").is_file()
                                                    for p in prefixes if p)


def test_every_imported_ros_package_is_declared():
    root = ET.parse(REPO / "package.xml").getroot()
    run_deps = {e.text for e in root if e.tag in ("depend", "exec_depend")}
    imported = _imported_top_level_modules()
    ros = {name: where for name, where in imported.items() if name != "dope_ros" and _is_ros_package(name)}
    assert {"rclpy", "rcl_interfaces", "builtin_interfaces", "sensor_msgs", "ament_index_python"} <= set(ros)
    missing = {name: where for name, where in ros.items() if name not in run_deps | _OPTIONAL_ROS}
    assert not missing, f"imported but not in package.xml: {missing}"
    for module, key in _PYTHON_ROSDEP_KEYS.items():
        assert module not in imported or key in run_deps, key
    assert "rosbags" in imported and "rosbags" in (REPO / "package.xml").read_text()  # said how it is installed


def test_record_launch_file():
    import importlib.util

    spec = importlib.util.spec_from_file_location("record_launch", REPO / "launch" / "record.launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)   # launch is imported inside the function only: loads without it
    assert callable(module.generate_launch_description)
    assert {"{image_topic}/compressed", "{camera_info_topic}", "dope/poses", "/tf", "/diagnostics"} <= set(module.TOPICS)
    assert set(module.ARGUMENTS) == {"namespace", "output", "image_topic", "camera_info_topic"}
