"""Input topic names, resolved as image_transport's ``CameraSubscriber`` resolves them (pure, no ROS).

The node subscribes to the relative names ``image`` (raw transport), ``image/compressed``
(compressed transport) and ``camera_info``, so ``__ns:=`` and remappings move them as they
move every image_pipeline node's inputs:

* ``image`` resolves in the node's namespace, after remapping (``image:=/camera/color/image_raw``);
* the compressed transport subscribes ``<resolved image>/compressed``, unless
  ``image/compressed`` itself is remapped;
* ``camera_info``, unless remapped itself, is the sibling of the resolved image topic
  (``/camera/color/image_raw`` -> ``/camera/color/camera_info``), as image_transport does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

IMAGE = "image"
"""Relative name of the raw image input (``sensor_msgs/Image``)."""
COMPRESSED_IMAGE = "image/compressed"
"""Relative name of the compressed image input (``sensor_msgs/CompressedImage``)."""
CAMERA_INFO = "camera_info"
"""Relative name of the camera info input (``sensor_msgs/CameraInfo``)."""
TRANSPORTS = ("raw", "compressed")


@dataclass(frozen=True)
class InputTopics:
    """Fully qualified input topics of the node.

    Attributes:
        image: the image topic subscribed (``.../compressed`` for the compressed transport).
        camera_info: the camera info topic subscribed.
    """

    image: str
    camera_info: str


def input_topics(resolve: Callable[[str], str], expand: Callable[[str], str], *, transport: str,
                 image_topic: str = "", camera_info_topic: str = "") -> InputTopics:
    """The node's input topics.

    Args:
        resolve: name -> fully qualified name after remapping (``Node.resolve_topic_name``).
        expand: name -> fully qualified name without remapping (``only_expand=True``).
        transport: ``raw`` or ``compressed``.
        image_topic, camera_info_topic: the deprecated topic parameters; non-empty values
            replace ``image`` / ``camera_info`` (remappings of those names do not apply then).

    Raises:
        ValueError: unknown transport.
    """
    if transport not in TRANSPORTS:
        raise ValueError(f"image_transport must be one of {TRANSPORTS}, got {transport!r}")
    base = resolve(image_topic or IMAGE)
    image = base
    if transport == "compressed":
        explicit = resolve(COMPRESSED_IMAGE)
        remapped = not image_topic and explicit != expand(COMPRESSED_IMAGE)
        image = explicit if remapped else base.rstrip("/") + "/compressed"
    if camera_info_topic:
        info = resolve(camera_info_topic)
    elif resolve(CAMERA_INFO) != expand(CAMERA_INFO):
        info = resolve(CAMERA_INFO)
    else:
        info = base.rsplit("/", 1)[0] + "/" + CAMERA_INFO
    return InputTopics(image=image, camera_info=info)
