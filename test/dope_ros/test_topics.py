"""Input topic resolution (pure): relative names, remappings, compressed transport, camera_info sibling."""

from __future__ import annotations

import pytest

from dope_ros.topics import input_topics


def _resolver(namespace: str, remaps: dict[str, str]):
    """(resolve, expand) like rclpy's for a node in ``namespace`` with ``name:=target`` remappings."""
    def expand(name: str) -> str:
        return name if name.startswith("/") else f"{namespace.rstrip('/')}/{name}"

    def resolve(name: str) -> str:
        return expand(remaps.get(name, name))

    return resolve, expand


@pytest.mark.parametrize("namespace,remaps,transport,image,info", [
    ("/", {}, "raw", "/image", "/camera_info"),
    ("/cam1", {}, "raw", "/cam1/image", "/cam1/camera_info"),
    ("/cam1", {}, "compressed", "/cam1/image/compressed", "/cam1/camera_info"),
    # Remapping the image only: camera_info is its sibling, as image_transport's CameraSubscriber does.
    ("/", {"image": "/camera/color/image_raw"}, "raw", "/camera/color/image_raw", "/camera/color/camera_info"),
    ("/", {"image": "/camera/color/image_raw"}, "compressed", "/camera/color/image_raw/compressed",
     "/camera/color/camera_info"),
    # Relative remapping targets resolve in the namespace (the launch file's defaults).
    ("/cam1", {"image": "camera/image_raw", "camera_info": "camera/camera_info"}, "compressed",
     "/cam1/camera/image_raw/compressed", "/cam1/camera/camera_info"),
    ("/", {"image": "/a/image_raw", "camera_info": "/b/info"}, "raw", "/a/image_raw", "/b/info"),
    ("/", {"image/compressed": "/jpeg/stream"}, "compressed", "/jpeg/stream", "/camera_info"),
])
def test_input_topics(namespace, remaps, transport, image, info):
    topics = input_topics(*_resolver(namespace, remaps), transport=transport)
    assert (topics.image, topics.camera_info) == (image, info)


def test_deprecated_parameters_replace_the_names():
    resolve, expand = _resolver("/ns", {"image": "/ignored"})
    topics = input_topics(resolve, expand, transport="compressed", image_topic="/old/image_raw")
    assert (topics.image, topics.camera_info) == ("/old/image_raw/compressed", "/old/camera_info")
    topics = input_topics(resolve, expand, transport="raw", image_topic="cam/image_raw", camera_info_topic="/i")
    assert (topics.image, topics.camera_info) == ("/ns/cam/image_raw", "/i")


def test_unknown_transport():
    with pytest.raises(ValueError, match="image_transport"):
        input_topics(*_resolver("/", {}), transport="theora")


def test_deprecated_image_topic_ignores_a_compressed_remapping() -> None:
    """A non-empty image_topic replaces 'image'; a remapping of image/compressed does not apply then."""
    resolve, expand = _resolver("/", {"image/compressed": "/other/compressed"})
    topics = input_topics(resolve, expand, transport="compressed", image_topic="/old/image_raw")
    assert topics.image == "/old/image_raw/compressed"
    assert input_topics(resolve, expand, transport="compressed").image == "/other/compressed"
