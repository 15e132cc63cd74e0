"""Figures as a person reads them."""


def duration(seconds: float) -> str:
    """45 s, 3 min, 1 h 5 min: rounded to what matters for a wait."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds // 3600:.0f} h {seconds % 3600 / 60:.0f} min"
