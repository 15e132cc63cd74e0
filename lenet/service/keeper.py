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
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lenet.store.learners import LearnerStore, StoreError

SAVE_EVERY_S = 2.0
TRAINING_SAVE_EVERY_S = 10.0
TOO_BIG_WAIT_S = 60.0  # a learner over their cap is tried again after this long
log = logging.getLogger(__name__)


@dataclass
class Written:
    """What the store holds of one learner, as far as the keeper knows."""

    stored: set[str]  # the names of the parts in the store
    written: dict[str, object] = field(default_factory=dict)  # a token of what each part held when written
    model_written_at: float = 0.0  # time.monotonic() of the last write of the model part
    too_big: str | None = None  # why the last save did not fit the learner's cap; tried again a minute later
    too_big_until: float = 0.0  # time.monotonic() before which it is not tried again


@dataclass
class _Watched:
    workspace: "weakref.ref[Any]"
    extras: object
    kept: Written
    version: int  # counts the workspaces handed over for this learner: a tab that saw an older one follows


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
        self._forgotten: set[str] = set()  # this process's "Forget me"s: another tab must not write them again
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

    def keep(
        self, learner: str, ws: object, extras: object | None, seen: int = 0, stored: set[str] | None = None
    ) -> int:
        """Watch `ws` and `extras` (None: as they were) as `learner`'s work; the thread does the writing.
        `seen` is the version the calling tab knows: a tab behind another's newer workspace hands over
        nothing (it follows on its next run). `stored` names the parts the store holds, when the page
        has just read them. Returns the version the tab knows now."""
        if not self.saving or learner in self._forgotten:
            return seen
        with self._lock:
            watched = self._watched.get(learner)
            if watched is None or watched.workspace() is not ws:
                if watched is not None and watched.workspace() is not None and seen < watched.version:
                    return seen
                known = set(stored if stored is not None else watched.kept.stored if watched else ())
                # a part's name is its token when its content never changes (a snapshot's)
                written = {name: name for name in known if name.startswith("snapshot/")}
                version = watched.version + 1 if watched else 1
                kept_extras = watched.extras if watched is not None else None  # a new model, the same drawing
                watched = _Watched(weakref.ref(ws), kept_extras, Written(known, written), version)
                self._watched[learner] = watched
            if extras is not None:
                watched.extras = extras
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lenet-keeper", daemon=True)
                self._thread.start()
                atexit.register(self.close)
            return watched.version

    def live(self, learner: str) -> tuple[object | None, int]:
        """The workspace a page of `learner` handed over last, while it is in memory, and its version:
        another tab of the same browser shares it (and its run, still training), rather than a copy."""
        with self._lock:
            watched = self._watched.get(learner)
        ws = watched.workspace() if watched is not None else None
        alive = ws is not None and getattr(ws, "model", None) is not None
        return (ws, watched.version) if alive else (None, 0)

    def too_big(self, learner: str) -> str | None:
        """Why `learner`'s work did not fit their cap at the last save, or None."""
        with self._lock:
            watched = self._watched.get(learner)
        return watched.kept.too_big if watched is not None else None

    def forgotten(self, learner: str) -> bool:
        return learner in self._forgotten

    def forget(self, learner: str) -> bool:
        """Stop keeping `learner`'s work and delete what the store has of it, at once; False when the
        store could not delete it."""
        with self._saving:
            with self._lock:
                self._watched.pop(learner, None)
                self._forgotten.add(learner)
            if self.store is None:
                return True  # nothing was ever kept
            try:
                self.store.forget(learner)
                return True
            except StoreError as error:
                self._failed(error)
                return False

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
        if time.monotonic() < kept.too_big_until:  # over the cap: writing it all again each round would churn
            return
        changes, tokens = self.changes(ws, watched.extras, kept, self.training_every_s)
        if not changes:
            return
        try:
            created = self.store.save(learner, changes)
        except StoreError as error:
            self._failed(error)
            return
        except ValueError as error:  # over the learner's cap: a minute later, the next change may fit
            log.warning("not saved: %s", error)
            kept.too_big, kept.too_big_until = str(error), time.monotonic() + TOO_BIG_WAIT_S
            return
        kept.too_big = None
        if created and kept.stored:  # the store had dropped the learner (their days, or the total cap)
            kept.stored, kept.written = set(), {}  # every part again on the next round
            return
        self.problem = None  # a write went through: a lock held for a while has been let go
        kept.written.update(tokens)
        kept.stored |= {name for name, data in changes.items() if data is not None}
        kept.stored -= {name for name, data in changes.items() if data is None}
        for name in [name for name, data in changes.items() if data is None]:
            kept.written.pop(name, None)

    def _failed(self, error: StoreError) -> None:
        if error.transient:  # another process holds the file for a while: the next round tries again
            log.warning("the learners' store is busy, saving waits: %s", error)
            return
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
