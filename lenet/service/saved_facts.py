"""The small JSON parts of a learner's saved work (the workspace's facts, the drawing, the place), read
back within their bounds: a store file may have been changed by anyone with the disk.
"""

import json
import re

from lenet.network.strokes import Strokes, checked
from lenet.service.undo import UNDO_LESSONS
from lenet.store.records import MAX_HISTORY
from lenet.text import is_clean

MAX_JSON_BYTES = 16 * 1024  # the workspace's facts and the place: under 1 KB as the app writes them
MAX_DRAWING_BYTES = 128 * 1024  # 5,000 points as JSON: under 40 KB
MAX_ORIGIN = 120
REPLACED = "replaced"  # the facts of the model the workspace replaced, within its own
# Facts that a store written by an earlier version lacks, and a replaced model's.
OPTIONAL_FACTS = {"ended", "accuracy", REPLACED}
RUN_LABEL = re.compile(r"run [1-9][0-9]{0,8}")


class SavedWorkError(ValueError):
    """A part does not read back as what the app writes."""


def _json(raw: bytes, most: int) -> object:
    if len(raw) > most:
        raise SavedWorkError(f"larger than {most:,} bytes")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise SavedWorkError(f"not JSON ({type(error).__name__})") from None


def _whole(value: object, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def _share(value: object) -> bool:
    return type(value) is float and 0.0 <= value <= 1.0  # NaN fails both comparisons


def read_facts(raw: bytes) -> dict:
    return checked_facts(_json(raw, MAX_JSON_BYTES))


def checked_facts(facts: object, nested: bool = False) -> dict:
    """A workspace's facts (or, `nested`, those of the model it replaced: checked with its part) within bounds."""
    keys = {
        "origin",
        "init_seed",
        "inherited",
        "lessons",
        "before_run",
        "undo_tested",
        "after",
        "before",
        "partial_steps",
    }
    if not isinstance(facts, dict) or not keys <= set(facts) <= keys | OPTIONAL_FACTS - (
        {REPLACED} if nested else set()
    ):
        raise SavedWorkError("not the workspace's facts")
    facts.setdefault("ended", None)  # written before they were kept
    facts.setdefault("accuracy", None)
    undo = facts["undo_tested"]
    if not (
        is_clean(facts["origin"], MAX_ORIGIN)
        and (facts["init_seed"] is None or _whole(facts["init_seed"], 0, 2**31 - 1))
        and _whole(facts["inherited"], 0, MAX_HISTORY)
        and _whole(facts["lessons"], 0, 10**6)
        and _whole(facts["before_run"], 0, facts["lessons"])
        and _whole(facts["partial_steps"], 0, 10**9)
        and isinstance(undo, list)
        and len(undo) <= UNDO_LESSONS
        and all(map(_share, undo))
        and all(facts[key] is None or _share(facts[key]) for key in ("after", "before", "accuracy"))
        and (facts["after"] is None or facts["before"] is not None)  # the first lesson sets both
        and len(undo) <= facts["lessons"] - facts["before_run"]  # a lesson to undo for each taught since the run
        and (facts["ended"] is None or (type(facts["ended"]) is str and RUN_LABEL.fullmatch(facts["ended"])))
    ):
        raise SavedWorkError("the workspace's facts are out of their bounds")
    return facts


def read_drawing(raw: bytes) -> Strokes:
    return checked(_json(raw, MAX_DRAWING_BYTES))


def read_place(raw: bytes) -> tuple[tuple[str, object], ...]:
    """Plain values by short names: the page checks each one it uses."""
    place = _json(raw, MAX_JSON_BYTES)
    if not isinstance(place, dict) or len(place) > 16 or not all(is_clean(key, 32) for key in place):
        raise SavedWorkError("not a place")
    plain = (str, int, float, bool, type(None))
    for value in place.values():
        if not (
            type(value) in plain
            or (isinstance(value, list) and len(value) <= 16 and all(type(item) in plain for item in value))
        ):
            raise SavedWorkError("a place holds only plain values")
    return tuple(sorted(place.items()))
