"""Zip archives from anyone (a checkpoint, a set of digits): opened to read what they declare, and read
record by record with bounds, never trusting a record to stop where it says it does.

A record's declared size bounds nothing by itself: zipfile inflates a whole deflate stream when asked
for "everything" and keeps only the declared bytes (a 2 MB record declaring 1 KB inflated to 2 GB),
and it inflates bzip2 and LZMA without any bound. So only stored and deflated records are read, each
with a read of its declared size, which inflates no more than that.
"""

import io
import zipfile

# What a broken or hostile archive raises as it is opened or read (NotImplementedError: a zip version
# or compression zipfile lacks; RuntimeError: an encrypted record).
BROKEN = (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, NotImplementedError, EOFError, RuntimeError)
READABLE = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}


class NotAnArchive(ValueError):
    """Not a zip archive this app reads; the message says why."""


def open_archive(raw: bytes) -> zipfile.ZipFile:
    """The archive in `raw`, its directory read and nothing unpacked: every record stored or deflated,
    none encrypted."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        records = archive.infolist()
    except BROKEN:
        raise NotAnArchive("not a zip archive") from None
    for record in records:
        if record.flag_bits & 0x1:
            raise NotAnArchive(f"its record {record.filename[:80]!r} is encrypted")
        if record.compress_type not in READABLE:
            raise NotAnArchive(f"its record {record.filename[:80]!r} is compressed in a way this app does not read")
    return archive


def unpacked_bytes(records: list[zipfile.ZipInfo]) -> int:
    """What `records` declare they unpack to: a bomb that admits its size is refused on this."""
    return sum(record.file_size for record in records)


def read_record(archive: zipfile.ZipFile, record: zipfile.ZipInfo) -> bytes:
    """A record's declared bytes, and no more inflated; `NotAnArchive` if it is broken."""
    try:
        with archive.open(record) as stream:
            return stream.read(record.file_size)
    except BROKEN:
        raise NotAnArchive(f"its record {record.filename[:80]!r} is broken") from None
