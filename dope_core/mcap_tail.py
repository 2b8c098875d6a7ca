"""Reading an MCAP file that was cut off (its writer killed): every complete message, in file order.

An MCAP file is a magic, then records (``opcode`` 1 byte, ``length`` 8 bytes little
endian, ``content``); messages lie in chunk records (opcode 0x06) or directly (0x05);
schemas (0x03) and channels (0x04) come before the messages that use them. The
summary and footer are written last, so a killed writer leaves a file that regular
readers refuse. This scanner walks the records from the start and stops at the first
one that is incomplete, yielding every message of the complete ones (chunks without
compression or with zstd/lz4, as rosbags writes them).
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path
from typing import Iterator, Optional

MAGIC = b"\x89MCAP0\r\n"


def _string(buf: bytes, pos: int) -> tuple[str, int]:
    (n,) = struct.unpack_from("<I", buf, pos)
    return buf[pos + 4:pos + 4 + n].decode(), pos + 4 + n


def _decompress(data: bytes, compression: str, size: int) -> bytes:
    if compression == "":
        return data
    if compression == "zstd":   # ros2 bag record's MCAP default; the module rosbags itself reads them with
        try:
            from compression import zstd   # Python 3.14
        except ImportError:
            from backports import zstd
        return zstd.decompress(data)
    if compression == "lz4":
        import lz4.frame

        return lz4.frame.decompress(data)
    raise ValueError(f"unknown MCAP chunk compression {compression!r}")


def _records(buf: bytes, pos: int, end: int) -> Iterator[tuple[int, bytes]]:
    """``(opcode, content)`` of the complete records of ``buf[pos:end]``."""
    while pos + 9 <= end:
        op = buf[pos]
        (length,) = struct.unpack_from("<Q", buf, pos + 1)
        if pos + 9 + length > end:
            return
        yield op, buf[pos + 9:pos + 9 + length]
        pos += 9 + length


def complete_length(path: str | Path) -> int:
    """Bytes of ``path`` (an MCAP file) up to the end of its last complete record: the file's size when
    nothing is cut off or damaged, less when its end is a partly written record or a record's length
    field is corrupt (then everything from there on is unread). Reads the record headers only.

    Raises:
        ValueError: the file does not start like an MCAP file.
    """
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise ValueError(f"{path} is not an MCAP file")
        size = f.seek(0, 2)
        pos = len(MAGIC)
        while pos + 9 <= size:
            f.seek(pos + 1)
            (length,) = struct.unpack("<Q", f.read(8))
            if pos + 9 + length > size:
                break
            pos += 9 + length
        # a complete file ends with the footer record's closing magic
        f.seek(pos)
        return size if pos + len(MAGIC) == size and f.read(len(MAGIC)) == MAGIC else pos


def read_complete_messages(path: str | Path, topics: Optional[set[str]] = None) -> Iterator[tuple[str, str, int, bytes]]:
    """``(topic, message type, log time ns, CDR bytes)`` of every complete message of ``path``.

    Raises:
        ValueError: the file does not start like an MCAP file.
    """
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise ValueError(f"{path} is not an MCAP file")
        # mapped, not read: a long recording is many times the memory of one message
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            yield from _messages(buf, topics)


def _messages(buf: mmap.mmap, topics: Optional[set[str]]) -> Iterator[tuple[str, str, int, bytes]]:
    schemas: dict[int, str] = {}
    channels: dict[int, tuple[str, str]] = {}

    def handle(op: int, content: bytes) -> Iterator[tuple[str, str, int, bytes]]:
        if op == 0x03:
            (sid,) = struct.unpack_from("<H", content, 0)
            name, _ = _string(content, 2)
            schemas[sid] = name
        elif op == 0x04:
            cid, sid = struct.unpack_from("<HH", content, 0)
            topic, _ = _string(content, 4)
            channels[cid] = (topic, schemas.get(sid, ""))
        elif op == 0x05:
            cid, _, log_time, _ = struct.unpack_from("<HIQQ", content, 0)
            if cid in channels and (topics is None or channels[cid][0] in topics):
                topic, msgtype = channels[cid]
                yield topic, msgtype, log_time, content[22:]
        elif op == 0x06:
            _, _, size, _ = struct.unpack_from("<QQQI", content, 0)
            compression, p = _string(content, 28)
            (n,) = struct.unpack_from("<Q", content, p)
            inner = _decompress(content[p + 8:p + 8 + n], compression, size)
            for sub_op, sub in _records(inner, 0, len(inner)):
                yield from handle(sub_op, sub)

    for op, content in _records(buf, len(MAGIC), len(buf)):
        if op == 0x0F or op == 0x02:   # data end, footer: the summary follows
            return
        yield from handle(op, content)
