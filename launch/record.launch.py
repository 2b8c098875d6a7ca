"""Record a demonstration with rosbag2 (system ROS 2): ``ros2 launch dope_ros record.launch.py``.

Records, in one MCAP bag, the camera's compressed image and camera info, the DOPE
node's poses and operator, TF (the node's ``publish_tf: true``) and diagnostics, so that
``dope-replay`` (or ``ros2 bag play``) can play the demonstration back through a node.
Start the camera and the node separately (``dope.launch.py``); the topics below assume
the node ``dope`` in ``namespace`` and the camera under ``<namespace>/camera``.
"""

ARGUMENTS = {
    "namespace": ("", "namespace of the camera and the DOPE node"),
    "output": ("dope_demonstration", "bag folder to write (must not exist)"),
    "image_topic": ("camera/image_raw", "camera image topic; its /compressed is recorded"),
    "camera_info_topic": ("camera/camera_info", "camera info topic"),
}
"""Launch arguments: name -> (default, description)."""

TOPICS = ("{image_topic}/compressed", "{camera_info_topic}", "dope/poses", "dope/operator", "/tf", "/tf_static",
          "/diagnostics")
"""Recorded topics (relative ones in the namespace)."""


def generate_launch_description():
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
    from launch.substitutions import LaunchConfiguration

    def record(context):
        values = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
        ns = values["namespace"].strip("/")
        topics = []
        for topic in TOPICS:
            name = topic.format(**values)
            topics.append(name if name.startswith("/") or not ns else f"/{ns}/{name}")
        topics = [t if t.startswith("/") else "/" + t for t in topics]
        return [ExecuteProcess(cmd=["ros2", "bag", "record", "-s", "mcap", "-o", values["output"], *topics],
                               output="screen")]

    return LaunchDescription([DeclareLaunchArgument(name, default_value=default, description=text)
                              for name, (default, text) in ARGUMENTS.items()] + [OpaqueFunction(function=record)])
