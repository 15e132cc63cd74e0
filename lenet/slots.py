"""The server-wide limit on runs that train at once, and the line of runs waiting for a turn."""

import os
import threading
from collections.abc import Callable

from lenet.devices import available_cores


def default_max_runs() -> int:
    """Runs that train at once on this server: `LENET_MAX_RUNS`, else one per four cores, at least one."""
    return max(1, int(os.environ.get("LENET_MAX_RUNS") or available_cores() // 4))


class RunSlots:
    """At most `limit` runs train at once; later runs wait in line, first come first served.

    Runs are compared by identity (the app's `TrainingRun` is an entity, `eq=False`).
    """

    def __init__(self, limit: int):
        self.limit = limit
        self._changed = threading.Condition()
        self._training: list[object] = []
        self._line: list[object] = []

    def wait_for_turn(self, run: object, give_up: Callable[[], bool]) -> bool:
        """Block until `run` may train (True) or `give_up()` says to stop waiting (False)."""
        with self._changed:
            self._line.append(run)
            while not (self._line[0] is run and len(self._training) < self.limit):
                if give_up():
                    self._line.remove(run)
                    self._changed.notify_all()
                    return False
                self._changed.wait(0.2)
            self._line.pop(0)
            self._training.append(run)
            self._changed.notify_all()
            return True

    def leave(self, run: object) -> None:
        with self._changed:
            if run in self._training:
                self._training.remove(run)
            self._changed.notify_all()

    def place(self, run: object) -> int | None:
        """1 for the next run to train, 2 after it...; None when not waiting."""
        with self._changed:
            return self._line.index(run) + 1 if run in self._line else None

    def ahead(self, run: object) -> list[object]:
        """The runs that train before `run` does: those training, then those before it in line."""
        with self._changed:
            line = self._line[: self._line.index(run)] if run in self._line else []
            return [*self._training, *line]

    def busy(self) -> tuple[int, int]:
        """(runs training, runs waiting) on this server."""
        with self._changed:
            return len(self._training), len(self._line)


SLOTS = RunSlots(default_max_runs())


def training_threads(slots: RunSlots = SLOTS) -> int:
    """Torch threads for a run inside the app: one core stays free for the server, the rest is shared.

    With every core busy, OpenMP's threads wait on each other and a run slows many times over
    (the README has the figures), so the server and the browser keep a core.
    """
    return max(1, (available_cores() - 1) // slots.limit)
