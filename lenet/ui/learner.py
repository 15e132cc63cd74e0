"""The learner's work, kept for their browser: a reload, a dropped connection, a new tab or a restarted
server gives it back; "Forget me" deletes it at once.

The browser keeps a secret in a cookie (`learner.js` writes the one made here); the store keys the work
by its SHA-256. A secret that is missing, malformed or forgotten gets a new one and a fresh session; a
well-formed one nobody has used finds nothing.
"""

import hashlib
import logging
import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from lenet.store.learners import LearnerStore, StoreError
from lenet.ui import path, session, timemachine, words

if TYPE_CHECKING:  # they import torch, which the pages without a model do not wait for
    from lenet.service.keeper import Keeper

COOKIE = "lenet_learner"
SECRET = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 random bytes, base64url: 256 bits
SECRET_KEY = re.compile(r"[0-9a-f]{64}")
KEEP_DAYS = 7
MAX_STORE_MB = 1024
KEY, SECRET_SENT, FORGOTTEN, NOTICE = "learner", "learner_secret", "learner_forgotten", "learner_notice"
SEEN, HANDED = "learner_seen", "learner_extras"  # the workspace version this tab knows, the extras it handed
HERE = Path(__file__).parent
IDENTITY = st.components.v2.component(
    "lenet.learner", html="<span hidden></span>", js=(HERE / "learner.js").read_text()
)


def store_path() -> Path | None:
    """`LENET_STORE_DIR`/learners.sqlite ("off" turns saving off), else a per-user folder."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = os.environ.get("LENET_STORE_DIR") or cache / "lenet"
    return None if str(folder).lower() == "off" else Path(folder) / "learners.sqlite"


@st.cache_resource
def keeper() -> "Keeper":
    """The process's one keeper and store; a store that cannot be opened leaves the app working, unsaved."""
    from lenet.service.keeper import Keeper
    from lenet.service.saved_work import changes

    where = store_path()
    if where is None:
        return Keeper(None, changes)
    try:
        return Keeper(LearnerStore(where, max_total_bytes=MAX_STORE_MB * 2**20, keep_days=KEEP_DAYS), changes)
    except StoreError as error:
        unsaved = Keeper(None, changes)
        unsaved.problem = f"the store {where.name} cannot be used: {error}"
        logging.getLogger(__name__).warning("saving is off: %s (%s)", unsaved.problem, where)
        return unsaved


def identify() -> None:
    """Find who this browser is (once per session) and give their work back; first thing on every page.
    A browser without a valid secret gets a new one, made here."""
    if KEY in st.session_state and keeper().forgotten(st.session_state[KEY]):  # Forget me, in another tab
        _afresh(st.session_state[KEY], "Forgotten in another tab: this server keeps nothing of your work now.")
    if KEY not in st.session_state:
        secret, stored = st.context.cookies.get(COOKIE), {}
        if isinstance(secret, str) and SECRET.fullmatch(secret) and _key(secret) != st.session_state.get(FORGOTTEN):
            stored = keeper().load(_key(secret))  # read once: it tells a known secret and gives the work back
        if not stored and not _live(_key(secret) if isinstance(secret, str) else ""):
            secret = secrets.token_urlsafe(32)  # 256 random bits: only a secret this server gave is taken
        st.session_state[KEY], st.session_state[SECRET_SENT] = _key(secret), secret
        if _untouched(st.session_state.get("workspace")):
            _give_back(_key(secret), stored)
    else:
        _follow(keeper().live(st.session_state[KEY]))
    with st.container(key="learner-id"):  # hidden (app.css): it only writes the cookie
        IDENTITY(data={"secret": st.session_state[SECRET_SENT], "days": KEEP_DAYS}, key="learner-cookie")


def _live(key: str) -> bool:
    """Whether a tab of this secret's browser holds its work in memory (a secret planted by another site
    has neither that nor stored work)."""
    return SECRET_KEY.fullmatch(key) is not None and not keeper().forgotten(key) and keeper().live(key)[0] is not None


def _follow(live: tuple[object | None, int]) -> None:
    """Another tab of this browser replaced the model since this tab last looked (a run from scratch, a
    reset, a file): this tab takes the same one, unless its own is training."""
    ws, (newer, version) = st.session_state.get("workspace"), live
    behind = newer is not None and ws is not None and version > st.session_state.get(SEEN, 0) and newer is not ws
    if behind and not ws.training:
        session.adopt_workspace(newer, shared=True)
        st.session_state[SEEN] = version


def _key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _untouched(ws: object) -> bool:
    """Whether a workspace holds no work of the learner's yet (None: the session has none)."""
    from lenet.service.saved_work import untouched

    return ws is None or untouched(ws)


def _give_back(key: str, stored: dict[str, bytes]) -> None:
    """The learner's work: the workspace another tab of theirs holds in memory, else the store's copy."""
    from lenet.service.saved_work import Restored, restore, restore_extras
    from lenet.ui import canvas

    live, _ = keeper().live(key)
    if live is not None and not (_untouched(live) and not stored):
        back = Restored(live, restore_extras(stored), (), ())
        session.adopt_workspace(live, shared=True)
    elif stored:
        back = restore(stored)
        session.adopt_workspace(back.workspace)
    else:
        return
    if back.extras.drawing:
        st.session_state[canvas.KEEP] = canvas.Drawing(back.extras.drawing)
    place = dict(back.extras.place)
    if isinstance(marks := place.get("path"), list):
        st.session_state[path.DONE] = {mark for mark in marks if mark in path.MARKS}
    if isinstance(run := place.get("time_machine_run"), str) and type(step := place.get("time_machine_step")) is int:
        # the time machine checks both against the runs' snapshots before it shows anything
        newest = timemachine.newest(back.workspace)
        st.session_state[timemachine.STATE] = {"run": run, "step": step, "model": None, "newest": newest}
    what = ["your model"] + (["the one before it (↩ Bring it back)"] if back.workspace.replaced else [])
    if runs := len(back.workspace.runs):
        what.append(f"{runs} run{'s' * (runs != 1)}")
    if digits := len(back.workspace.digits):
        what.append(f"{digits} digit{'s' * (digits != 1)}")
    if back.extras.drawing:
        what.append("your drawing")
    listed = f"{', '.join(what[:-1])} and {what[-1]} are" if len(what) > 1 else f"{what[0]} is"
    notice = f"Welcome back: {listed} back. Your model: {words.status_line(back.workspace)}."
    if back.interrupted:
        notice += (
            f" The server stopped while {' and '.join(back.interrupted)} trained: it came back stopped, as it "
            "was when last saved."
        )
    if back.dropped:
        notice += f" {len(back.dropped)} saved part(s) did not read back and were left out."
    st.session_state[NOTICE] = notice
    st.session_state.pop(f"{NOTICE}_page", None)
    st.session_state[SEEN] = keeper().keep(key, back.workspace, back.extras, stored=set(stored))
    st.session_state[HANDED] = back.extras


def keep() -> None:
    """Hand this session's work to the keeper (a dictionary write; its thread does the saving)."""
    from lenet.service.saved_work import Extras
    from lenet.ui import canvas

    key, ws = st.session_state.get(KEY), st.session_state.get("workspace")
    if key is None or ws is None:
        return
    drawing = canvas.kept()
    travelled = st.session_state.get(timemachine.STATE) or {"run": None, "step": timemachine.NOW}
    place = (
        ("path", sorted(st.session_state.get(path.DONE, set()))),
        ("time_machine_run", travelled["run"]),
        ("time_machine_step", travelled["step"]),
    )
    extras = Extras(drawing.strokes if drawing else None, place)
    changed = extras if extras != st.session_state.get(HANDED) else None  # another tab's stay as they are
    st.session_state[SEEN] = keeper().keep(key, ws, changed, seen=st.session_state.get(SEEN, 0))
    st.session_state[HANDED] = extras


def forget() -> None:
    """A callback: delete everything kept for this browser, and start afresh with a new secret."""
    ws = st.session_state.get("workspace")
    if ws is not None and ws.training:
        st.session_state[NOTICE] = "Stop the training run first: then Forget me deletes everything."
        st.session_state.pop(f"{NOTICE}_page", None)
        return
    key = st.session_state.get(KEY)
    if key is not None and not keeper().forget(key):
        st.session_state[NOTICE] = (
            f"Your work could not be deleted now ({keeper().problem or 'the store is busy'}): try Forget me again."
        )
        st.session_state.pop(f"{NOTICE}_page", None)
        return
    _afresh(key, "Forgotten: this server keeps nothing of your work now. You start afresh.")


def _afresh(key: str | None, notice: str) -> None:
    """A new session in this tab: nothing of the old one, a new secret on the next run, a pad drawn anew."""
    pad = st.session_state.get(canvas_key := "pad_generation", 0)
    for name in list(st.session_state):
        del st.session_state[name]  # the next run makes a new secret: the cookie's is forgotten
    st.session_state[FORGOTTEN], st.session_state[NOTICE], st.session_state[canvas_key] = key, notice, pad + 1


def notice(page: str) -> None:
    """The notice of work given back or forgotten, at the top of the page (a phone hides the sidebar); it
    stays on the page where it was first shown, through that page's reruns."""
    if (notice := st.session_state.get(NOTICE)) is not None:
        shown_on = st.session_state.setdefault(f"{NOTICE}_page", page)
        if shown_on == page:
            st.info(words.plain(notice))  # it names the model's origin: a visitor's file name
        else:
            del st.session_state[NOTICE], st.session_state[f"{NOTICE}_page"]


def sidebar_line() -> None:
    """Whether the work is kept, for how long, and the way to have it forgotten."""
    problem = keeper().problem
    if problem is not None:
        st.caption(f"Your work is not saved on this server ({problem}): a reload starts afresh.")
        return
    if (too_big := keeper().too_big(st.session_state.get(KEY, ""))) is not None:
        st.caption(f"Your latest work could not be saved: {too_big}. A smaller network keeps less.")
    st.caption(
        f"Your work is kept for this browser for {KEEP_DAYS} days after your last visit: a reload or a "
        "restarted server gives it back. Nobody else's browser can reach it."
    )
    st.button("Forget me", on_click=forget, help="Deletes everything this server keeps of your work, at once.")
