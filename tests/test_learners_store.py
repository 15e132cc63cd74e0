"""The learners' SQLite store, on a real file: parts round-trip, bounds, eviction, and every fault of item 5."""

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lenet.store.learners import MAX_LEARNER_BYTES, SCHEMA_VERSION, LearnerStore, StoreError

ROOT = Path(__file__).resolve().parents[1]


def learner(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def rows(path: Path, key: str) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM parts WHERE learner = ?", (key,)).fetchone()[0]


def test_parts_round_trip_and_each_learner_sees_only_their_own(tmp_path):
    store = LearnerStore(tmp_path / "learners.sqlite")
    ann, bob = learner("ann"), learner("bob")
    store.save(ann, {"model": b"\x00" * 1000, "drawing": b"[[1,2,3,4]]"})
    store.save(bob, {"model": b"bob's"})
    store.save(ann, {"drawing": None, "snapshot/0123456789ab/8": b"weights"})
    assert store.load(ann) == {"model": b"\x00" * 1000, "snapshot/0123456789ab/8": b"weights"}
    assert store.load(bob) == {"model": b"bob's"}
    assert store.load(learner("nobody")) == {}
    store.close()
    with sqlite3.connect(tmp_path / "learners.sqlite") as db:  # SQLite's own view of the file
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        keys = {key for (key,) in db.execute("SELECT key FROM learners")}
    assert keys == {ann, bob}  # hashes of the secrets: the file never holds a secret


def test_forget_deletes_every_row_of_that_learner_at_once(tmp_path):
    store = LearnerStore(tmp_path / "learners.sqlite")
    ann, bob = learner("ann"), learner("bob")
    store.save(ann, {"model": b"a", "digits": b"d", "undo/0": b"u"})
    store.save(bob, {"model": b"b"})
    store.forget(ann)
    assert rows(tmp_path / "learners.sqlite", ann) == 0 and store.load(ann) == {}
    assert store.load(bob) == {"model": b"b"}


def test_a_learner_past_the_cap_is_refused_and_keeps_what_was_there(tmp_path):
    store = LearnerStore(tmp_path / "learners.sqlite")
    ann = learner("ann")
    store.save(ann, {"model": b"kept"})
    big = b"x" * (5 * 2**20)
    with pytest.raises(ValueError, match="kept up to"):
        store.save(ann, {f"snapshot/0123456789ab/{i}": big for i in range(MAX_LEARNER_BYTES // len(big) + 1)})
    assert store.load(ann) == {"model": b"kept"}
    with pytest.raises(ValueError):
        store.save(ann, {"../../etc": b"x"})  # a name no part has
    with pytest.raises(ValueError):
        store.save("not a key", {"model": b"x"})


def test_the_learners_idle_longest_make_room_and_none_is_kept_past_its_days(tmp_path):
    store = LearnerStore(tmp_path / "learners.sqlite", max_total_bytes=3_000, keep_days=7)
    for i, name in enumerate(["oldest", "older", "recent"]):
        store.save(learner(name), {"model": b"m" * 1_000})
        with sqlite3.connect(tmp_path / "learners.sqlite") as db:  # visits spread over the past hours
            db.execute(
                "UPDATE learners SET last_seen = ? WHERE key = ?", (time.time() - 3_600 * (3 - i), learner(name))
            )
    store.save(learner("new"), {"model": b"m" * 1_000})  # 4,000 bytes: the one idle longest goes
    assert store.load(learner("oldest")) == {}
    assert store.load(learner("older")) and store.load(learner("recent")) and store.load(learner("new"))
    with sqlite3.connect(tmp_path / "learners.sqlite") as db:
        db.execute("UPDATE learners SET last_seen = ? WHERE key = ?", (time.time() - 8 * 86_400, learner("older")))
    store.save(learner("new"), {"drawing": b"[]"})
    assert store.load(learner("older")) == {} and store.learners() == 2


def test_a_file_that_is_not_a_store_is_refused_with_its_reason(tmp_path):
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(os.urandom(8192))
    with pytest.raises(StoreError, match="not a store"):
        LearnerStore(garbage)


def test_a_truncated_store_is_refused_or_reads_without_harm(tmp_path):
    path = tmp_path / "learners.sqlite"
    store = LearnerStore(path)
    for i in range(40):
        store.save(learner(f"l{i}"), {"model": os.urandom(20_000)})
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    try:
        store = LearnerStore(path)
    except StoreError as error:
        assert "damaged" in str(error) or "not a store" in str(error)
    else:  # opened: every use fails as a StoreError, never another error
        with pytest.raises(StoreError):
            for i in range(40):
                store.load(learner(f"l{i}"))


def test_a_store_of_another_version_is_refused_not_changed(tmp_path):
    path = tmp_path / "learners.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE learners (key TEXT)")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="another version"):
        LearnerStore(path)
    assert path.read_bytes() == before


def test_a_full_disk_fails_the_write_and_loses_nothing_written_before(tmp_path):
    store = LearnerStore(tmp_path / "learners.sqlite")
    store.save(learner("ann"), {"model": b"before"})
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 2}")  # SQLite's own "database or disk is full"
    with pytest.raises(StoreError, match="full"):
        store.save(learner("ann"), {"model": b"after" * 100_000})
    assert store.load(learner("ann")) == {"model": b"before"}


def test_a_store_locked_by_another_process_fails_in_its_time(tmp_path):
    path = tmp_path / "learners.sqlite"
    LearnerStore(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import sqlite3, time; db = sqlite3.connect({str(path)!r}, isolation_level=None); "
         "db.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        store = LearnerStore(path)
        started = time.monotonic()
        with pytest.raises(StoreError, match="locked"):
            store.save(learner("ann"), {"model": b"x"})
        assert time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait()


def test_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    # root writes through permissions: the kernel's immutable flag makes the folder read-only for root too
    lock, unlock = (["chattr", "+i"], ["chattr", "-i"]) if os.geteuid() == 0 else (["chmod", "555"], ["chmod", "755"])
    subprocess.run([*lock, str(folder)], check=True)
    try:
        with pytest.raises(StoreError):
            LearnerStore(folder / "learners.sqlite")
        assert not any(folder.iterdir())
    finally:
        subprocess.run([*unlock, str(folder)], check=True)


WRITER = """
import hashlib, sys
from pathlib import Path
from lenet.store.learners import LearnerStore
store = LearnerStore(Path(sys.argv[1]))
key = hashlib.sha256(b"ann").hexdigest()
for i in range(10**6):
    store.save(key, {"model": bytes([i % 256]) * 2_000_000, "workspace": str(i).encode()})
    print(i, flush=True)
"""


def test_a_kill_9_in_the_middle_of_writes_loses_at_most_that_write(tmp_path):
    path = tmp_path / "learners.sqlite"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    done = [int(writer.stdout.readline()) for _ in range(5)][-1]
    time.sleep(0.05)  # into the next writes
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    store = LearnerStore(path)  # opens: quick_check passes
    parts = store.load(learner("ann"))
    i = int(parts["workspace"])
    assert i >= done  # nothing committed was lost
    assert parts["model"] == bytes([i % 256]) * 2_000_000  # the parts of one write, whole and together
