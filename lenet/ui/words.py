"""Figures and text as a person reads them."""

import re

from lenet.text import clean


def duration(seconds: float) -> str:
    """45 s, 3 min, 1 h 5 min: rounded to what matters for a wait."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds // 3600:.0f} h {seconds % 3600 / 60:.0f} min"


# Every ASCII punctuation character: CommonMark shows each literally after a backslash.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# Where GitHub-flavoured Markdown turns bare text into a link ("https://", "www.", "a@b"), escapes or
# not: a zero-width space there keeps it text.
_AUTOLINK = re.compile(r"(?i)(?<=:/)(?=/)|(?<=www)(?=\.)|(?<=@)")
MAX_SHOWN = 500  # characters of a message shown


def plain(text: object) -> str:
    """`text` (a file's name or entries, a message that quotes them) for Streamlit's Markdown, to show
    as it is: no link, image, HTML or formatting can come out of it."""
    return _PUNCTUATION.sub(r"\\\1", _AUTOLINK.sub("\u200b", clean(str(text), MAX_SHOWN)))


def status_line(ws) -> str:  # a Workspace: this module imports neither torch nor the service
    """Where the weights came from and what was trained here: "pretrained (3 epochs) + 1 epoch and 40 steps here"."""
    source = f"{ws.origin} ({_count(ws.inherited_epochs, 'epoch')})" if ws.inherited_epochs else ws.origin
    done = ((ws.epochs_trained_here, "epoch"), (ws.partial_steps_here, "step"), (ws.lessons, "lesson"))
    here = [_count(n, unit) for n, unit in done if n]
    return f"{source} + {' and '.join(here)} here" if here else source


def _count(n: int, unit: str) -> str:
    return f"{n:,} {unit}" + ("" if n == 1 else "s")


def sentence(text: str) -> str:
    """`text` with a capital first letter, to begin a sentence: "The tutorial's network"."""
    return text[:1].upper() + text[1:]


def maps(shape: tuple[int, int, int]) -> str:
    """(6, 30, 30) -> "6 maps of 30 x 30"."""
    count, rows, cols = shape
    return f"{count} map{'s' * (count != 1)} of {rows} x {cols}"
