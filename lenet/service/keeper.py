"""The keeper: one thread that writes what each learner changed to the store, off every page's path.

A page hands it the learner's workspace and extras (`keep`: a dictionary write); every `every_s`
seconds the thread writes the parts that changed since it last wrote them (what to write is
`lenet.service.saved_work.changes`), each snapshot once. While a run trains, its weights and losses
are written at most every `training_every_s` seconds: a server stopped meanwhile gives the run back
stopped at its last save. A workspace no page holds any more is let go (the keeper keeps only a weak
reference). A store that fails stops the saving, says why in `problem`, and the app goes on without it.
"""

import atexit
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lenet.store.learners import LearnerStore, StoreError

SAVE_EVERY_S = 2.0
TRAINING_SAVE_EVERY_S = 10.0
log = logging.getLogger(__name__)


@dataclass
class Written:
    """What the store holds of one learner, as far as the keeper knows."""

    stored: set[str]  # the names of the parts in the store
    written: dict[str, object] = field(default_factory=dict)  # a token of what each part held when written
    model_written_at: float = 0.0  # time.monotonic() of the last write of the model part


@dataclass
class _Watched:
    workspace: "weakref.ref[Any]"
    extras: object
    kept: Written


# What to write of a workspace: (the changed parts, None for one to delete; their tokens).
Changes = Callable[[Any, Any, Written, float], tuple[dict[str, bytes | None], dict[str, object]]]


class Keeper:
    def __init__(
        self,
        store: LearnerStore | None,
        changes: Changes,
        every_s: float = SAVE_EVERY_S,
        training_every_s: float = TRAINING_SAVE_EVERY_S,
    ):
        self.store, self.changes, self.every_s, self.training_every_s = store, changes, every_s, training_every_s
        self.problem: str | None = None if store is not None else "saving is turned off on this server"
        self._watched: dict[str, _Watched] = {}
        self._lock = threading.Lock()  # the dictionary
        self._saving = threading.Lock()  # one learner written at a time; forgetting waits for it
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def saving(self) -> bool:
        return self.problem is None

    def load(self, learner: str) -> dict[str, bytes]:
        """What the store keeps for `learner`: nothing when saving is off or the store fails."""
        if not self.saving:
            return {}
        try:
            return self.store.load(learner)
        except StoreError as error:
            self._failed(error)
            return {}

    def keep(self, learner: str, ws: object, extras: object, stored: set[str] | None = None) -> None:
        """Watch `ws` and `extras` as `learner`'s work (cheap: the thread does the writing); `stored` names
        the parts the store holds, when the page has just read them."""
        if not self.saving:
            return
        with self._lock:
            watched = self._watched.get(learner)
            if watched is None or watched.workspace() is not ws:
                known = set(stored if stored is not None else watched.kept.stored if watched else ())
                # a part's name is its token when its content never changes (a snapshot's)
                written = {name: name for name in known if name.startswith("snapshot/")}
                watched = self._watched[learner] = _Watched(weakref.ref(ws), extras, Written(known, written))
            watched.extras = extras
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lenet-keeper", daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def live(self, learner: str) -> object | None:
        """The workspace a page of `learner` handed over last, while it is in memory: another tab of
        the same browser shares it (and its run, still training), rather than a copy from the store."""
        with self._lock:
            watched = self._watched.get(learner)
        ws = watched.workspace() if watched is not None else None
        return ws if ws is not None and getattr(ws, "model", None) is not None else None

    def forget(self, learner: str) -> None:
        """Stop keeping `learner`'s work and delete what the store has of it, at once."""
        with self._saving:
            with self._lock:
                self._watched.pop(learner, None)
            if self.saving:
                try:
                    self.store.forget(learner)
                except StoreError as error:
                    self._failed(error)

    def flush(self) -> None:
        """Write every learner's changed parts now."""
        with self._lock:
            watched = list(self._watched.items())
        for learner, entry in watched:
            with self._saving:
                if self.saving and self._watched.get(learner) is entry:
                    self._save(learner, entry)

    def _save(self, learner: str, watched: _Watched) -> None:
        ws = watched.workspace()
        if ws is None or ws.model is None:  # the session is gone: its last changes were written before
            with self._lock:
                self._watched.pop(learner, None)
            return
        kept = watched.kept
        changes, tokens = self.changes(ws, watched.extras, kept, self.training_every_s)
        if not changes:
            return
        try:
            self.store.save(learner, changes)
        except StoreError as error:
            self._failed(error)
            return
        except ValueError as error:  # over the learner's cap: the next change may fit
            log.warning("not saved: %s", error)
            return
        kept.written.update(tokens)
        kept.stored |= {name for name, data in changes.items() if data is not None}
        kept.stored -= {name for name, data in changes.items() if data is None}
        for name in [name for name, data in changes.items() if data is None]:
            kept.written.pop(name, None)

    def _failed(self, error: StoreError) -> None:
        if self.problem is None:
            log.warning("the learners' store failed, saving stops: %s", error)
        self.problem = str(error)

    def _run(self) -> None:
        while not self._closing.wait(self.every_s):
            try:
                self.flush()
            except Exception:  # logged (the tests fail on it); one bad round must not end the saving
                log.exception("the keeper's round failed")

    def close(self) -> None:
        """A last round, then the thread ends (at exit: a server stopped cleanly loses nothing)."""
        self._closing.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self.flush()
