"""Zip archives from anyone (a checkpoint, a set of digits): opened to read what they declare, before
anything in them is unpacked."""

import io
import zipfile

# What a broken or hostile archive raises as it is opened or read (NotImplementedError: a zip version
# or compression zipfile lacks).
BROKEN = (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, NotImplementedError, EOFError)


def open_archive(raw: bytes) -> zipfile.ZipFile | None:
    """The archive in `raw`, its directory read and nothing unpacked; None when `raw` is not one."""
    try:
        return zipfile.ZipFile(io.BytesIO(raw))
    except BROKEN:
        return None


def unpacked_bytes(entries: list[zipfile.ZipInfo]) -> int:
    """What `entries` declare they unpack to: a bomb is refused on this, before it is unpacked."""
    return sum(entry.file_size for entry in entries)
