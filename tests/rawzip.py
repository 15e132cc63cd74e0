"""Zip archives written byte by byte, as a hostile visitor writes them: records that declare one size
and inflate to another, flags and names zipfile's own writer would never set."""

import bz2
import io
import struct
import zlib
from typing import NamedTuple


class Record(NamedTuple):
    name: str
    data: bytes  # as stored: compressed already when `method` says so
    declared: int  # the size it says it unpacks to
    crc: int
    method: int = 0  # 0 stored, 8 deflated, 12 bzip2
    flags: int = 0  # bit 0: encrypted


def stored(name: str, data: bytes, flags: int = 0) -> Record:
    return Record(name, data, len(data), zlib.crc32(data), 0, flags)


def inflating(name: str, data: bytes, extra_zeros: int, method: int = 8) -> Record:
    """`data`, then `extra_zeros` zero bytes in the same stream; declares only `data`."""
    compressor = bz2.BZ2Compressor(9) if method == 12 else zlib.compressobj(9, zlib.DEFLATED, -15)
    parts, chunk = [compressor.compress(data)], b"\0" * (1 << 24)
    for _ in range(extra_zeros >> 24):
        parts.append(compressor.compress(chunk))
    return Record(name, b"".join(parts) + compressor.flush(), len(data), zlib.crc32(data), method)


def archive(records: list[Record]) -> bytes:
    out, central = io.BytesIO(), []
    for r in records:
        name, offset = r.name.encode(), out.tell()
        sizes = (r.crc, len(r.data), r.declared, len(name))
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 46, r.flags, r.method, 0, 0, *sizes, 0) + name + r.data)
        central.append(
            struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 46, 46, r.flags, r.method, 0, 0, *sizes, 0, 0, 0, 0, 0, offset)
            + name
        )
    start, directory = out.tell(), b"".join(central)
    out.write(directory)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(records), len(records), len(directory), start, 0))
    return out.getvalue()
