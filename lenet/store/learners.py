"""Each learner's work in one SQLite file, so a reload, a dropped connection or a restarted server gives it back.

A learner is the SHA-256 of the secret their browser keeps (the file never holds the secret). Their work
is a few named parts, each bytes in a format the app already checks on upload (a checkpoint, a digit
set, JSON), written whole in one transaction. The file is bounded: at most `MAX_LEARNER_BYTES` a
learner, `max_total_bytes` in all (the learners idle longest go first), and nothing kept more than
`keep_days` after a learner's last visit. WAL mode: a page reads while the writer writes, and a
process killed in the middle of a write loses that write only.

Every failure of the file (corrupt, truncated, another version, read-only, full, locked) is a
`StoreError`: the app goes on without saving and says so.
"""

import re
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path

SCHEMA_VERSION = 1
# The largest network: its model, 1 lesson's undo and the model it replaced (18 MB), 3 runs' snapshots (12 MB), digits.
MAX_LEARNER_BYTES = 32 * 1024 * 1024
MAX_PART_BYTES = 10 * 1024 * 1024  # the largest part: a checkpoint (10 MB at most)
MAX_PARTS = 128  # 75 snapshots, 5 lessons to undo, the model, the replaced one, digits, drawing and place
PART_NAME = re.compile(r"[a-z]+(/[0-9a-f]{1,32})*(/[0-9]{1,9})?")
LEARNER = re.compile(r"[0-9a-f]{64}")
BUSY_TIMEOUT_S = 2.0
SCHEMA = """
CREATE TABLE learners (key TEXT PRIMARY KEY, last_seen REAL NOT NULL, bytes INTEGER NOT NULL DEFAULT 0);
CREATE TABLE parts (
    learner TEXT NOT NULL REFERENCES learners(key) ON DELETE CASCADE,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (learner, name)
);
CREATE INDEX learners_by_visit ON learners(last_seen);
"""


class StoreError(RuntimeError):
    """The store cannot be used; the message says why in a learner's words. `transient`: another
    process holds the file for now (a backup, a query): the next try may go through."""

    def __init__(self, message: str, transient: bool = False):
        super().__init__(message)
        self.transient = transient


class LearnerStore:
    """The learners' parts in `path`: created on first use, refused (`StoreError`) when it is not this
    version's file or cannot be read and written."""

    def __init__(self, path: Path, max_total_bytes: int = 1024**3, keep_days: float = 7.0):
        self.path, self.max_total_bytes, self.keep_s = Path(path), max_total_bytes, keep_days * 86_400
        self._lock = threading.Lock()  # one connection, shared by the page threads and the writer
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA journal_size_limit = 67108864")  # the log shrinks back to 64 MB
            self._schema()  # first: a file of another version is left as it is
            if self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                raise StoreError("its folder does not allow SQLite's write-ahead log")
            if (check := self._db.execute("PRAGMA quick_check").fetchone()[0]) != "ok":
                raise StoreError(f"the file is damaged ({str(check)[:80]})")
        except (sqlite3.Error, OSError) as error:
            raise StoreError(_reason(error)) from None

    def _schema(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if version != 0 or tables:
            raise StoreError(f"the file is of another version ({version}; this app reads version {SCHEMA_VERSION})")
        with self._transaction():
            self._db.executescript(f"BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")

    def _transaction(self) -> "_Transaction":
        return _Transaction(self)

    def load(self, learner: str) -> dict[str, bytes]:
        """The learner's parts by name (empty for one never seen or forgotten); marks the visit."""
        _check_learner(learner)
        with self._transaction():
            self._db.execute("BEGIN IMMEDIATE")
            rows = self._db.execute(
                "SELECT name, data FROM parts WHERE learner = ? LIMIT ?", (learner, MAX_PARTS + 1)
            ).fetchall()
            self._db.execute("UPDATE learners SET last_seen = ? WHERE key = ?", (time.time(), learner))
            self._db.execute("COMMIT")
        return {name: bytes(data) for name, data in rows if isinstance(name, str) and isinstance(data, bytes)}

    def save(self, learner: str, parts: Mapping[str, bytes | None]) -> bool:
        """Write `parts` (a None deletes that part) in one transaction; refused past the learner's cap.
        Makes room first by dropping the learners idle longest, and any kept past their days. True when
        the store did not hold the learner before (new, or dropped meanwhile)."""
        _check_learner(learner)
        if bad := [name for name in parts if not PART_NAME.fullmatch(name)]:
            raise ValueError(f"not a part's name: {bad[0]!r}")
        if any(data is not None and len(data) > MAX_PART_BYTES for data in parts.values()):
            raise ValueError("a part is larger than any the app writes")
        with self._transaction():
            self._db.execute("BEGIN IMMEDIATE")
            now = time.time()
            created = self._db.execute("SELECT 1 FROM learners WHERE key = ?", (learner,)).fetchone() is None
            self._db.execute(
                "INSERT INTO learners (key, last_seen) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET last_seen = ?",
                (learner, now, now),
            )
            for name, data in parts.items():
                if data is None:
                    self._db.execute("DELETE FROM parts WHERE learner = ? AND name = ?", (learner, name))
                else:
                    self._db.execute(
                        "INSERT OR REPLACE INTO parts (learner, name, data) VALUES (?, ?, ?)", (learner, name, data)
                    )
            size, count = self._db.execute(
                "SELECT coalesce(sum(length(data)), 0), count(*) FROM parts WHERE learner = ?", (learner,)
            ).fetchone()
            if size > MAX_LEARNER_BYTES or count > MAX_PARTS:
                self._db.execute("ROLLBACK")
                raise ValueError(
                    f"a learner's work is kept up to {MAX_LEARNER_BYTES // 2**20} MB in {MAX_PARTS} parts "
                    f"(this one: {size / 2**20:.1f} MB in {count}): not saved"
                )
            self._db.execute("UPDATE learners SET bytes = ? WHERE key = ?", (size, learner))
            self._make_room(learner, now)
            self._db.execute("COMMIT")
        return created

    def _make_room(self, learner: str, now: float) -> None:
        self._db.execute("DELETE FROM learners WHERE last_seen < ? AND key != ?", (now - self.keep_s, learner))
        total = self._db.execute("SELECT coalesce(sum(bytes), 0) FROM learners").fetchone()[0]
        for key, size in self._db.execute(
            "SELECT key, bytes FROM learners WHERE key != ? ORDER BY last_seen", (learner,)
        ).fetchall():
            if total <= self.max_total_bytes:
                break
            self._db.execute("DELETE FROM learners WHERE key = ?", (key,))
            total -= size

    def forget(self, learner: str) -> None:
        """Everything kept for this learner, deleted now."""
        _check_learner(learner)
        with self._transaction():
            self._db.execute("DELETE FROM learners WHERE key = ?", (learner,))

    def learners(self) -> int:
        with self._transaction():
            return self._db.execute("SELECT count(*) FROM learners").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Transaction:
    """The store's lock held, and every SQLite or OS failure inside turned into a `StoreError`
    (a transaction left open by one is rolled back)."""

    def __init__(self, store: LearnerStore):
        self.store = store

    def __enter__(self) -> None:
        self.store._lock.acquire()

    def __exit__(self, kind, error, trace) -> bool:
        try:
            if error is not None and self.store._db.in_transaction:
                self.store._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        finally:
            self.store._lock.release()
        if isinstance(error, (sqlite3.Error, OSError)):
            busy = isinstance(error, sqlite3.OperationalError) and re.search(r"locked|busy", str(error)) is not None
            raise StoreError(_reason(error), transient=busy) from None
        return False


def _check_learner(learner: str) -> None:
    if not isinstance(learner, str) or not LEARNER.fullmatch(learner):
        raise ValueError("a learner is the hex SHA-256 of their secret")


def _reason(error: BaseException) -> str:
    text = str(error).strip()[:120] or type(error).__name__
    if isinstance(error, sqlite3.DatabaseError) and not isinstance(error, sqlite3.OperationalError):
        return f"the file is not a store this app can read ({text})"
    return text
