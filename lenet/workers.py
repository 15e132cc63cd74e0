"""A queue of jobs worked through by one background thread, stopped between two jobs at exit."""

import atexit
import threading


class QueueWorker:
    """One daemon thread at a time, started when work arrives (`_wake`), ending when the queue is empty.

    `close`, registered at exit, stops it between two jobs and waits for it: a thread still inside
    torch when the interpreter exits aborts it ("terminate called without an active exception").
    A subclass holds its queue under `_lock` and works it in `_work`, setting `_worker` to None
    as it ends.
    """

    def __init__(self, name: str):
        self._name = name
        self._lock = threading.Condition()
        self._worker: threading.Thread | None = None
        self._closing = threading.Event()
        atexit.register(self.close)

    def _wake(self) -> None:
        """Start the thread unless one works (with `_lock` held)."""
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._work, name=self._name, daemon=True)
            self._worker.start()

    def close(self) -> None:
        self._closing.set()
        if (worker := self._worker) is not None:
            worker.join()

    def _work(self) -> None:
        raise NotImplementedError
