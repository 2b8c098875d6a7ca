"""Reading and writing ROS 2 bags (MCAP) of serialized messages, dope_ros types included.

Built on ``rosbags`` (pure Python): no ROS installation needed to write or read a bag.
Messages travel as CDR bytes, exactly as ``rclpy`` serializes them
(``rclpy.serialization.serialize_message``, or subscriptions created with ``raw=True``),
so a recorded bag replays into a live node unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore, get_types_from_msg
from rosbags.typesys.store import Typestore


def _msg_dir() -> Path:
    source = Path(__file__).resolve().parents[1] / "msg"
    if source.is_dir():
        return source
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory("dope_ros")) / "msg"


def dope_typestore() -> Typestore:
    """The ROS 2 Kilted typestore with the ``dope_ros/msg/*`` types added."""
    store = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for path in sorted(_msg_dir().glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"dope_ros/msg/{path.stem}"))
    store.register(types)
    return store


class BagWriter:
    """An MCAP bag being written: declare topics, then append serialized messages.

    Args:
        path: output folder (must not exist; rosbag2 layout: metadata.yaml + .mcap).
        typestore: types of the topics (default :func:`dope_typestore`).
    """

    def __init__(self, path: str | Path, *, typestore: Typestore | None = None) -> None:
        self._typestore = typestore or dope_typestore()
        self._writer = Writer(Path(path), version=9, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._connections: dict[str, object] = {}
        self.counts: dict[str, int] = {}

    def add_topic(self, topic: str, msgtype: str) -> None:
        """Declare ``topic`` carrying ``msgtype`` (``pkg/msg/Name``)."""
        self._connections[topic] = self._writer.add_connection(topic, msgtype, typestore=self._typestore)
        self.counts[topic] = 0

    def write(self, topic: str, stamp_ns: int, data: bytes) -> None:
        """Append one CDR-serialized message received at ``stamp_ns`` (nanoseconds)."""
        self._writer.write(self._connections[topic], int(stamp_ns), bytes(data))
        self.counts[topic] += 1

    def flush(self) -> None:
        """Close the pending MCAP chunk and flush the file: a process killed later loses nothing written so far.

        (rosbags closes a chunk every MiB; this reaches into its MCAP writer, guarded.)
        """
        storage = getattr(self._writer, "storage", None)
        chunk = getattr(storage, "chunk", None)
        if chunk is not None and chunk.bio.tell() > 0:
            storage.close_chunk()
        bio = getattr(storage, "bio", None)
        if bio is not None:
            bio.flush()

    def close(self) -> None:
        """Finish the bag (writes metadata.yaml)."""
        self._writer.close()

    def __enter__(self) -> "BagWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_bag(path: str | Path, topics: set[str] | None = None) -> Iterator[tuple[str, str, int, bytes]]:
    """Yield ``(topic, msgtype, stamp_ns, CDR bytes)`` of a bag, in time order."""
    with Reader(Path(path)) as reader:
        connections = [c for c in reader.connections if topics is None or c.topic in topics]
        if not connections:   # rosbags reads every topic for an empty list
            return
        for connection, stamp, data in reader.messages(connections=connections):
            yield connection.topic, connection.msgtype, stamp, bytes(data)


def deserialize(data: bytes, msgtype: str, typestore: Typestore | None = None) -> object:
    """A rosbags message object (dataclass) from CDR bytes, for reading bags without ROS."""
    return (typestore or dope_typestore()).deserialize_cdr(data, msgtype)
