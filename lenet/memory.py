"""Give memory the process has freed back to the operating system, and keep glibc from holding much.

glibc's malloc keeps freed memory for reuse, in one arena per thread that allocated it: after the
training set's representations were worked out (5.5 MB kept) the process held 128-280 MB more
than before; `malloc_trim` gave all but 16 MB of it back (measured). And with a thread for each
page run, the training, the probe and the look-alikes, up to 16 arenas (8 per core) each kept
their own: a class of 30 peaked at 1,391-1,404 MB, and at 1,140 MB with two arenas
(`MALLOC_ARENA_MAX=2`, the same scenario). Both are no-ops where the C library lacks them (macOS, musl).
"""

import ctypes
import functools

M_ARENA_MAX = -8  # mallopt's parameter for the most arenas
SERVER_ARENAS = 2


@functools.cache
def _libc_function(name: str):
    try:
        return getattr(ctypes.CDLL("libc.so.6"), name)
    except (OSError, AttributeError):
        return None


def limit_arenas(most: int = SERVER_ARENAS) -> bool:
    """At most `most` malloc arenas from now on: threads that start later share them. True if set."""
    mallopt = _libc_function("mallopt")
    return bool(mallopt(M_ARENA_MAX, most)) if mallopt is not None else False


def give_back_freed_memory() -> bool:
    """True if some memory was returned."""
    trim = _libc_function("malloc_trim")
    return bool(trim(0)) if trim is not None else False
