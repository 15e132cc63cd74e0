"""Text that comes from a visitor (a file's name, a checkpoint's entries), made safe to keep and to send.

Streamlit sends every string as UTF-8: a lone surrogate ("\\ud800", which a pickle can hold) raises
on every rerun that shows it. So text the app makes from a visitor's is cleaned where it is made,
and text read from a file is refused unless it is already clean.
"""

import unicodedata


def clean(text: str, limit: int) -> str:
    """`text` with what cannot be encoded or shown (lone surrogates, control characters) replaced by
    "?", line breaks by spaces, and cut to `limit` characters (an ellipsis says so)."""
    text = text.encode("utf-8", "replace").decode("utf-8").replace("\n", " ").replace("\r", " ")
    text = "".join("?" if unicodedata.category(c) in ("Cc", "Cs") else c for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_clean(text: object, limit: int) -> bool:
    """Whether `text` is a string of at most `limit` characters that can be encoded and shown as it is."""
    return type(text) is str and len(text) <= limit and clean(text, limit) == text
