"""Python packaging of dope_ros: the ROS-free library ``dope_core`` and the node ``dope_ros``.

The ROS messages in ``msg/`` are built by CMake (rosidl); see CMakeLists.txt and
scripts/setup_env.sh. This file installs the Python code and the command-line tools.
"""

from setuptools import find_packages, setup

setup(
    name="dope_ros",
    version="0.1.0",
    description="DOPE (Distillation Of Part Experts): whole-body 2D/3D human pose for ROS 2",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["dope_core", "dope_core.*", "dope_ros", "dope_ros.*"]),
    package_data={"dope_core": ["py.typed"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/dope_ros"]),
        ("share/dope_ros", ["package.xml"]),
    ],
    entry_points={
        "console_scripts": [
            "dope = dope_core.cli:main",
            "dope-train = dope_core.train.cli:main",
            "dope_node = dope_ros.node:main",
            "dope-replay = dope_ros.replay:main",
        ],
    },
)
