"""dope_core/mcap_tail.py: reading an MCAP file that was cut off or damaged, record by record."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from dope_core.mcap_tail import MAGIC, complete_length, read_complete_messages
from dope_core.recording import IMAGE_TOPIC, Recorder

K = np.array([[300.0, 0, 160], [0, 300.0, 120], [0, 0, 1]])


def _bag(path: Path, frames: int, *, close: bool) -> Path:
    """A recording of ``frames`` grey frames (no people); left open (its writer 'killed') unless ``close``."""
    from dope_core.structures import WholeBodyPoses

    rec = Recorder(path)
    for i in range(frames):
        rec.write(1_000_000_000 * (i + 1), np.full((240, 320, 3), 40 * i, np.uint8),
                  WholeBodyPoses(image_size=(320, 240)), camera=K)
    if close:
        rec.close()
    return next(path.glob("*.mcap"))


def _records(data: bytes) -> list[tuple[int, int]]:
    """``(offset, opcode)`` of the top-level records of a complete-so-far MCAP byte string."""
    out, pos = [], len(MAGIC)
    while pos + 9 <= len(data):
        (length,) = struct.unpack_from("<Q", data, pos + 1)
        if pos + 9 + length > len(data):
            break
        out.append((pos, data[pos]))
        pos += 9 + length
    return out


def test_a_closed_file_is_complete_to_its_last_byte(tmp_path: Path) -> None:
    """A recording closed by its writer ends with the footer and the closing magic: all of it is complete."""
    mcap = _bag(tmp_path / "rec", 2, close=True)
    assert mcap.read_bytes().endswith(MAGIC) and complete_length(mcap) == mcap.stat().st_size


def test_a_partly_written_record_at_the_end_is_not_counted(tmp_path: Path) -> None:
    """A killed writer's file plus a record whose length runs past the end: the complete part stops before
    it, and the messages of the complete part are all read (3 frames: 3 images)."""
    mcap = _bag(tmp_path / "rec", 3, close=False)
    data = mcap.read_bytes()
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(data + b"\x06" + struct.pack("<Q", 1000) + b"partial")
    assert complete_length(cut) == len(data)
    assert [t for t, _, _, _ in read_complete_messages(cut, {IMAGE_TOPIC})] == [IMAGE_TOPIC] * 3


def test_a_damaged_length_field_stops_the_reading_there(tmp_path: Path) -> None:
    """A record whose length field is corrupt (far past the end of the file) ends the complete part at that
    record: the records before it are read, none after."""
    mcap = _bag(tmp_path / "rec", 3, close=False)
    data = bytearray(mcap.read_bytes())
    offsets = [pos for pos, _ in _records(bytes(data))]
    damaged = offsets[len(offsets) // 2]
    data[damaged + 1:damaged + 9] = struct.pack("<Q", 2 ** 62)
    bad = tmp_path / "bad.mcap"
    bad.write_bytes(bytes(data))
    assert complete_length(bad) == damaged
    full = list(read_complete_messages(mcap))
    kept = list(read_complete_messages(bad))
    assert 0 < len(kept) < len(full) and kept == full[:len(kept)]


def test_not_an_mcap_file_is_refused(tmp_path: Path) -> None:
    """A file without the MCAP magic is refused by both readers."""
    other = tmp_path / "x.mcap"
    other.write_bytes(b"PK\x03\x04 a zip, not a bag")
    with pytest.raises(ValueError, match="not an MCAP file"):
        complete_length(other)
    with pytest.raises(ValueError, match="not an MCAP file"):
        list(read_complete_messages(other))


def test_a_zstd_recording_without_its_metadata_reads_to_its_last_frame(tmp_path: Path) -> None:
    """``ros2 bag record -s mcap`` compresses its chunks with zstd by default: a recording killed before its
    metadata.yaml was written is read from its .mcap, chunk by chunk, as an uncompressed one."""
    from rosbags.rosbag2 import Reader, StoragePlugin, Writer
    from rosbags.rosbag2.enums import CompressionFormat, CompressionMode

    from dope_core.recording import read_recording
    from dope_ros.bag_io import dope_typestore

    plain = _bag(tmp_path / "plain", 3, close=True).parent
    packed = tmp_path / "packed"
    store = dope_typestore()
    writer = Writer(packed, version=9, storage_plugin=StoragePlugin.MCAP)
    writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
    writer.open()
    with Reader(plain) as reader:
        connections = {c.id: writer.add_connection(c.topic, c.msgtype, typestore=store) for c in reader.connections}
        for c, stamp, data in reader.messages():
            writer.write(connections[c.id], stamp, data)
    writer.close()
    (packed / "metadata.yaml").unlink()   # killed before it was written
    frames = list(read_recording(packed))
    assert len(frames) == 3 and [f.stamp_ns for f in frames] == [1_000_000_000, 2_000_000_000, 3_000_000_000]
    assert all(f.camera_info is not None for f in frames)

