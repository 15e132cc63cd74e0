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
import gc
import threading

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


_COLLECT = threading.Event()


def collect_soon() -> None:
    """Ask for one full garbage collection (`collect_if_asked`): a model was replaced."""
    _COLLECT.set()


def collect_if_asked() -> bool:
    """One full collection if a model was replaced since the last: a page's globals and its fragments hold
    the replaced workspace in a reference cycle that only a full collection frees (8 MB a press of the
    largest network; 300 presses held 394 MB until Python got round to it). True if it collected."""
    if not _COLLECT.is_set():
        return False
    _COLLECT.clear()
    gc.collect()
    return True
