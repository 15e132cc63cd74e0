"""Text that comes from a visitor (a file's name, a checkpoint's entries), made safe to keep and to send.

Streamlit sends every string as UTF-8: a lone surrogate ("\\ud800", which a pickle can hold) raises
on every rerun that shows it. So text the app makes from a visitor's is cleaned where it is made,
and text read from a file is refused unless it is already clean.
"""

import itertools
import unicodedata
from collections.abc import Collection


def clean(text: str, limit: int) -> str:
    """`text` with what cannot be encoded or shown as it is (lone surrogates, control characters,
    invisible format characters such as U+202E, which turns the text after it around) replaced by
    "?", line breaks by spaces, and cut to `limit` characters (an ellipsis says so)."""
    text = text.encode("utf-8", "replace").decode("utf-8").replace("\n", " ").replace("\r", " ")
    text = "".join("?" if unicodedata.category(c) in ("Cc", "Cs", "Cf") else c for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_clean(text: object, limit: int) -> bool:
    """Whether `text` is a string of at most `limit` characters that can be encoded and shown as it is."""
    return type(text) is str and len(text) <= limit and clean(text, limit) == text


def described(value: object, limit: int = 40) -> str:
    """A value from a visitor's file, named in a message without building its repr first: a shared
    900 KB string in 3,500 keys made a joined repr of 3 GB."""
    if isinstance(value, str):
        return repr(clean(value[:limit], limit + 1) + ("…" if len(value) > limit else ""))
    if value is None or type(value) in (bool, float) or (type(value) is int and abs(value) < 10**15):
        return repr(value)
    return f"a {type(value).__name__}"


def listed(values: Collection[object], most: int = 5) -> str:
    """The first `most` of `values`, each `described`, and how many more there are."""
    shown = ", ".join(described(value) for value in itertools.islice(values, most))
    return shown + (f" and {len(values) - most:,} more" if len(values) > most else "")
