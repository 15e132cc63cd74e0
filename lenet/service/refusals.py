"""What a workspace says when it will not do what was asked."""


class Refused(RuntimeError):
    """The workspace will not do what was asked: the message says why, and what to do instead."""


class Busy(Refused):
    """The workspace is training: the message says what to do first."""
