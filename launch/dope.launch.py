"""Launch the DOPE node on a camera: ``ros2 launch dope_ros dope.launch.py image_topic:=/cam/image_raw``.

Arguments (name: default): see ``ARGUMENTS``. The node reads ``params_file`` first,
then the arguments of ``NODE_PARAMETERS`` that are given (not empty) override the matching
parameters: left out, the parameters file decides (``backend: network`` in your own file stays).
``image_topic`` and ``camera_info_topic`` are remappings of the node's relative inputs
``image`` and ``camera_info`` (``REMAPPINGS``); relative values resolve in the node's
namespace, so ``namespace:=cam1`` reads ``/cam1/camera/image_raw`` by default.
"""

ARGUMENTS = {
    "image_topic": ("camera/image_raw", "image topic remapped to the node's 'image' input (relative: in the "
                                        "namespace); compressed transport reads <image_topic>/compressed"),
    "camera_info_topic": ("camera/camera_info", "camera info topic remapped to the node's 'camera_info' input"),
    "image_transport": ("", "raw or compressed (subscribes <image_topic>/compressed); empty: the parameters "
                            "file's (raw in config/dope.yaml)"),
    "backend": ("", "experts or network; empty: the parameters file's (experts in config/dope.yaml)"),
    "checkpoint": ("", "network checkpoint path (backend network); empty: the parameters file's"),
    "device": ("", "auto, cpu, cuda or cuda:N; empty: the parameters file's (auto in config/dope.yaml)"),
    "params_file": ("", "parameters YAML; empty: the package's config/dope.yaml"),
    "namespace": ("", "namespace of the node"),
    "frame_id": ("", "frame id of every output (the node's frame_id parameter); empty: the parameters file's "
                     "(in config/dope.yaml empty: the image's). Give the camera's optical frame here to have RViz "
                     "(rviz:=true) use it as its fixed frame"),
    "rviz": ("false", "true: also start RViz 2 with the package's config/dope.rviz (topics of the node 'dope' in "
                      "the root namespace), its fixed frame the frame_id argument when given"),
}
"""Launch arguments: name -> (default, description)."""

NODE_PARAMETERS = ("image_transport", "backend", "checkpoint", "device", "frame_id")
"""Arguments passed to the node as parameter overrides (after params_file), when given."""

REMAPPINGS = (("image", "image_topic"), ("camera_info", "camera_info_topic"))
"""(node's topic name, launch argument whose value it is remapped to)."""


def node_overrides(values: dict[str, str]) -> dict[str, str]:
    """The parameter overrides of the launch arguments ``values`` (of ``NODE_PARAMETERS``): the ones given, not
    empty; an empty one leaves the parameters file's value."""
    return {name: value for name, value in values.items() if value != ""}


def rviz_command(config: str, frame_id: str) -> list[str]:
    """RViz 2 on ``config``, with ``frame_id`` as its fixed frame when not empty (else the config's)."""
    return ["rviz2", "-d", config] + (["-f", frame_id] if frame_id else [])


def generate_launch_description():
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
    from launch.conditions import IfCondition
    from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
    from launch_ros.actions import Node
    from launch_ros.substitutions import FindPackageShare

    default_params = PathJoinSubstitution([FindPackageShare("dope_ros"), "config", "dope.yaml"])
    remappings = [(name, LaunchConfiguration(argument)) for name, argument in REMAPPINGS]

    def node(context):
        params_file = LaunchConfiguration("params_file").perform(context) or default_params.perform(context)
        overrides = node_overrides({name: LaunchConfiguration(name).perform(context) for name in NODE_PARAMETERS})
        return [Node(
            package="dope_ros",
            executable="dope_node",
            name="dope",
            namespace=LaunchConfiguration("namespace"),
            parameters=[params_file, overrides] if overrides else [params_file],
            remappings=remappings,
            output="screen",
        )]

    def rviz(context):
        config = PathJoinSubstitution([FindPackageShare("dope_ros"), "config", "dope.rviz"]).perform(context)
        return [ExecuteProcess(cmd=rviz_command(config, LaunchConfiguration("frame_id").perform(context)),
                               output="screen")]

    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=text)
         for name, (default, text) in ARGUMENTS.items()]
        + [OpaqueFunction(function=node),
           OpaqueFunction(function=rviz, condition=IfCondition(LaunchConfiguration("rviz")))]
    )
