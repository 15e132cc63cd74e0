"""What a hostile or careless visitor sends a shared server: each case of issue 21, and what it costs.

Cases that could take the process down run in a subprocess, so a regression fails this test instead
of killing the test run; memory is the subprocess's peak (ru_maxrss) over its own baseline.
"""

import dataclasses
import io
import json
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rawzip
import torch
from fuzz import outcomes
from PIL import EpsImagePlugin, Image

from lenet.network.model import Net
from lenet.network.preprocess import NotADigit, read_image
from lenet.network.strokes import MAX_PATH_PX, MAX_POINTS, MAX_STROKES, PAD_PX, checked, drawn
from lenet.store.checkpoint import CheckpointError, checkpoint_bytes, read_checkpoint
from lenet.store.pickle_shape import MAX_DEPTH, MAX_OPS, PickleShapeError, check_shape
from lenet.store.records import MAX_HISTORY, MAX_RUNS, EpochRecord, RunRecord
from lenet.training.settings import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def in_subprocess(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def with_pickle(data: bytes) -> bytes:
    """A real checkpoint's archive with its pickle replaced by `data`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(checkpoint_bytes(Net()))) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, data if info.filename.endswith("data.pkl") else source.read(info))
    return out.getvalue()


def nested_key(depth: int) -> bytes:
    """A pickle of {((...(0,)...),): None}: a tuple `depth` deep, used as a dict key."""
    return b"\x80\x02}K\x00" + b"\x85" * depth + b"Ns."


@pytest.mark.parametrize("depth", [50_000, 300_000])
@pytest.mark.slow
def test_a_deeply_nested_pickle_is_refused_and_the_process_survives(depth, tmp_path):
    hostile = tmp_path / "deep.pt"
    hostile.write_bytes(with_pickle(nested_key(depth)))
    print(f"\n{depth:,} deep: {hostile.stat().st_size / 1e3:.0f} KB")
    ours = in_subprocess(
        "import sys, pathlib\n"
        "from lenet.store.checkpoint import read_checkpoint, CheckpointError\n"
        "from lenet.network.model import Net\n"
        "try:\n"
        f"    read_checkpoint(pathlib.Path({str(hostile)!r}))\n"
        "except CheckpointError as error:\n"
        "    print('refused:', error)\n"
    )
    assert ours.returncode == 0, f"the process died ({ours.returncode}): {ours.stderr[-2000:]}"
    assert "refused: its pickle cannot be loaded safely: it " in ours.stdout
    torch_alone = in_subprocess(
        f"import torch, pathlib\ntorch.load(pathlib.Path({str(hostile)!r}), weights_only=True)\nprint('loaded')"
    )
    print(f"torch.load alone: exit {torch_alone.returncode}, {(torch_alone.stderr.strip().splitlines() or [''])[-1]}")


def test_the_shape_check_follows_memo_references_and_refuses_cycles():
    chain = b"\x80\x02]q\x000"  # lists that each hold the one before, put together through the memo
    for i in range(1, 100):
        chain += b"]q" + bytes([i]) + b"h" + bytes([i - 1]) + b"a0"
    with pytest.raises(PickleShapeError, match="nests objects more than"):
        check_shape(chain + b"hc.")
    with pytest.raises(PickleShapeError, match="contains itself"):
        check_shape(b"\x80\x02]q\x00h\x00a.")  # a list that holds itself
    assert check_shape(pickle.dumps([[[1]]], protocol=2)) == 4
    assert check_shape(pickle.dumps([[1]] * 3, protocol=4)) == 3


@pytest.mark.slow
def test_the_largest_checkpoint_the_app_writes_is_well_within_the_shape_limits():
    """1,000 epochs of history whose configs hold 64-character values, and 20 runs at every limit: what a
    session can download after loading two files that are each valid (the hostile helper's case)."""
    from test_round_trip import record_of_the_largest_run

    names = [f.name for f in dataclasses.fields(TrainConfig)]
    history = [
        EpochRecord(epoch=i + 1, test_accuracy=0.5, config={n: f"{i:04d}{n}".ljust(64, "x")[:64] for n in names})
        for i in range(MAX_HISTORY)
    ]
    runs = [RunRecord.from_dict({**record_of_the_largest_run(), "id": f"run{i}"}) for i in range(MAX_RUNS)]
    raw = checkpoint_bytes(Net(), history=history, runs=runs)
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        data = next(archive.read(name) for name in archive.namelist() if name.endswith(".pkl"))
    assert check_shape(data) <= MAX_DEPTH // 4
    assert check_shape(data, max_ops=MAX_OPS // 2)  # half the limit would still take it
    back = read_checkpoint(raw)
    assert len(back.history) == MAX_HISTORY and len(back.runs) == MAX_RUNS


def test_fuzzed_pickles_give_a_depth_or_the_shape_error():
    data = pickle.dumps({"model": {"a": [1.0, 2.0]}, "history": [{"epoch": 1}], "x": ("t", 1)}, protocol=2)

    def measured(mutated: bytes) -> None:
        assert 0 < check_shape(mutated) <= MAX_DEPTH

    counted = outcomes(data, 2_000, measured, PickleShapeError)
    print(f"\nfuzzed pickles: {counted}")
    assert counted["refused"] > 1_000 and counted["read"] > 10


def test_float8_weights_are_the_apps_own_error():
    state = {k: v.to(torch.float8_e4m3fn) for k, v in Net().state_dict().items()}
    buffer = io.BytesIO()
    torch.save({"model": state}, buffer)
    with pytest.raises(CheckpointError, match="holds float8_e4m3fn values; weights are floats"):
        read_checkpoint(buffer.getvalue())


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


IMAGES = (
    "from PIL import Image\n"
    "from lenet.network.preprocess import NotADigit as Refusal, read_image\n"
    "small = io.BytesIO(); Image.new('RGBA', (280, 280)).save(small, 'PNG')\n"
    "read_image(small.getvalue())  # warmed up: what any reading costs\n"
)
CHECKPOINTS = (
    "import zipfile\n"
    "from lenet.network.model import Net\n"
    "from lenet.store.checkpoint import CheckpointError as Refusal, checkpoint_bytes, read_checkpoint\n"
    "read_checkpoint(checkpoint_bytes(Net()))  # warmed up\n"
)
DIGIT_SETS = (
    "import zipfile\n"
    "from lenet.network.handwriting import DigitSet, DigitSetError as Refusal\n"
    "np.savez(empty := io.BytesIO(), digits=np.zeros((0, 28, 28), np.uint8), labels=np.zeros(0, np.uint8))\n"
    "DigitSet.from_npz(empty.getvalue())  # warmed up\n"
)


def peak_growth_mb(call: str, payload: bytes, tmp_path: Path, setup: str = IMAGES) -> tuple[float, str]:
    """The subprocess's peak memory over its warmed-up resident memory while `call` reads `payload`,
    and what it said. Linux resets the peak (VmHWM) on request: torch's import peaks higher than it
    stays, so the lifetime peak (ru_maxrss) would hide a read that costs less than that. `setup`
    imports the reader (its refusal as `Refusal`) and warms it up."""
    source = tmp_path / "payload.bin"
    source.write_bytes(payload)
    result = in_subprocess(
        "import io, re, pathlib, numpy as np\n" + setup + "def kb(field):\n"
        "    return int(re.search(field + r':\\s+(\\d+) kB', pathlib.Path('/proc/self/status').read_text()).group(1))\n"
        f"raw = pathlib.Path({str(source)!r}).read_bytes()\n"
        "pathlib.Path('/proc/self/clear_refs').write_text('5')  # the peak, from now on\n"
        "before = kb('VmRSS')\n"
        "try:\n"
        f"    result = {call}(raw)\n"
        "    said = 'read ' + str(getattr(result, 'shape', type(result).__name__))\n"
        "except Refusal as error:\n"
        "    said = 'refused: ' + str(error)\n"
        "print((kb('VmHWM') - before) / 1024)\n"
        "print(said)\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    growth, said = result.stdout.strip().splitlines()[-2:]
    return float(growth), said


def read_pad_messages(messages: list) -> None:
    """An app (for AppTest: the pad's state lives in a Streamlit session) that reads each message as the
    Sketch pad reads the pad's, and keeps what came of it."""
    import streamlit as st

    from lenet.network.preprocess import NotADigit
    from lenet.ui.canvas import received

    outcomes = []
    for sent in messages:
        try:
            image = received(sent, 20)
            outcomes.append(None if image is None else int(image.sum() // 255))
        except NotADigit as error:
            outcomes.append(f"refused: {error}")
    st.session_state["outcomes"] = outcomes


HOSTILE_STROKES = {
    "text": "a 7",
    "a dict": {"strokes": []},
    "a stroke that is a number": [7],
    "an empty stroke": [[]],
    "an odd number of values": [[10, 10, 20]],
    "text for a point": [["10", "10"]],
    "a boolean": [[True, False]],
    "not a number": [[float("nan"), 10]],
    "infinity": [[float("inf"), 10]],
    "off the pad": [[-1, 10]],
    "far off the pad": [[10, 10**300]],
    "an int no float holds": [[10, 10**400]],
    "a scribble longer than any digit": [[0, 0, 280, 280] * 40],
    "nested": [[[10, 10]]],
    "too many strokes": [[10, 10]] * (MAX_STROKES + 1),
    "too many points": [[10, 10] * (MAX_POINTS // 2 + 1)] * 2,
}


@pytest.mark.parametrize("sent", HOSTILE_STROKES.values(), ids=HOSTILE_STROKES.keys())
def test_what_no_pad_sends_is_not_a_digit(sent):
    with pytest.raises(NotADigit, match=r"^the drawing"):
        checked(sent)


def test_the_most_a_pad_sends_is_read():
    a_seven = [[70, 60, 210, 60], [210, 60, 120, 255]]
    assert checked(a_seven) == ((70, 60, 210, 60), (210, 60, 120, 255))
    assert checked([[0.4, PAD_PX]]) == ((0, PAD_PX),)  # a point at the edge, and one not rounded by the browser
    most = [[PAD_PX, 0] * (MAX_POINTS // MAX_STROKES)] * MAX_STROKES  # every point there is, on one spot
    assert drawn(checked(most), 20).shape == (PAD_PX, PAD_PX)
    longest = [[0, 0, 280, 0] * (MAX_PATH_PX // 560)]  # the longest path there is
    assert drawn(checked(longest), 20).shape == (PAD_PX, PAD_PX)


def test_what_the_pad_sends_is_read_kept_and_anything_else_kept_out():
    from streamlit.testing.v1 import AppTest

    one = [[140, 40, 140, 240]]
    sent = [
        one,  # a drawing: read and kept
        None,  # a pad just mounted again, showing the kept strokes: the kept drawing
        *HOSTILE_STROKES.values(),  # refused, and nothing of them kept
        None,  # still the drawing
        [],  # cleared
        None,  # nothing kept any more
    ]
    at = AppTest.from_function(read_pad_messages, args=(sent,), default_timeout=60)
    at.run()
    assert not at.exception
    read, kept, *refused, still, cleared, gone = at.session_state["outcomes"]
    print("\npad messages no pad sends:", refused)
    assert read == kept == still and read > 200 * 18 and cleared is None and gone is None
    assert all(str(outcome).startswith("refused: the drawing") for outcome in refused)


def ico_holding(image_png: bytes) -> bytes:
    """An .ico whose one entry is `image_png` (the format allows a PNG of any size there)."""
    entry = struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(image_png), 6 + 16)
    return struct.pack("<HHH", 0, 1, 1) + entry + image_png


@pytest.mark.slow
def test_an_ico_named_png_is_refused_without_decoding_its_image(tmp_path):
    ico = ico_holding(png(Image.new("1", (13000, 13000))))
    grown, said = peak_growth_mb("read_image", ico, tmp_path)
    print(f"\na {len(ico) / 1e3:.0f} KB ICO holding a 13000 x 13000 PNG: {said}; peak +{grown:.1f} MB")
    assert said == "refused: it is not an image this app can read: it reads PNG, JPEG, BMP, GIF and WebP"
    assert grown < 100


@pytest.mark.slow
def test_an_eps_file_never_reaches_ghostscript(tmp_path, monkeypatch):
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nnewpath 0 0 moveto 100 100 lineto stroke\n"
    opened = []
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", lambda self: opened.append(self))
    with pytest.raises(NotADigit, match="it reads PNG, JPEG, BMP, GIF and WebP"):
        read_image(eps)
    assert not opened, "Pillow's EPS plugin was tried"
    grown, said = peak_growth_mb("read_image", eps, tmp_path)
    print(f"\nan EPS file: {said}; peak +{grown:.1f} MB")
    assert said.startswith("refused:") and grown < 100


def test_an_image_error_says_one_plain_sentence():
    noise = png(Image.effect_noise((200, 200), 60))
    for raw in [b"not an image at all", noise[: len(noise) // 2]]:
        with pytest.raises(NotADigit) as refused:
            read_image(raw)
        assert str(refused.value).startswith("it is not an image this app can read: ")
        assert "BytesIO" not in str(refused.value) and "0x" not in str(refused.value)


def test_fuzzed_pad_messages_raise_only_not_a_digit():
    """A drawing's message as JSON bytes, mutated: whatever still parses is read or refused."""
    message = json.dumps([[70, 60, 140, 60, 210, 60], [210, 60, 165, 158, 120, 255]]).encode()

    def read(data: bytes) -> None:
        try:
            sent = json.loads(data)
        except (ValueError, RecursionError):  # Streamlit refuses what is not JSON before the app sees it
            raise NotADigit("not JSON") from None
        assert drawn(checked(sent), 20).shape == (PAD_PX, PAD_PX)

    counted = outcomes(message, 300, read, NotADigit)
    print(f"\nfuzzed pad messages: {json.dumps(counted)}")
    assert counted["refused"] > 100 and counted["read"] > 0


def test_a_pickle_whose_shared_objects_would_take_forever_to_hash_is_refused():
    """A tuple that holds the one before twice, 29 times over: 300 bytes, 2**29 places to hash as a key."""
    bomb = b"\x80\x02}K\x00\x85q\x000"
    for i in range(1, 30):
        bomb += b"h" + bytes([i - 1]) + b"h" + bytes([i - 1]) + b"\x86q" + bytes([i]) + b"0"
    bomb += b"h" + bytes([29]) + b"Ns."
    with pytest.raises(PickleShapeError, match="counted at every place they appear"):
        check_shape(bomb)
    with pytest.raises(CheckpointError, match="counted at every place they appear"):
        read_checkpoint(with_pickle(bomb))


def test_a_message_about_a_file_names_its_parts_without_building_their_repr():
    """3,500 keys sharing one 900 KB string: their joined repr was 3.2 GB before being cut to 200 characters."""
    shared = "x" * 900_000
    buffer = io.BytesIO()
    torch.save({"model": Net().state_dict(), **{(shared, i): 1 for i in range(3_500)}}, buffer)
    with pytest.raises(CheckpointError) as refused:
        read_checkpoint(buffer.getvalue())
    assert str(refused.value).startswith(
        "unexpected entries: a tuple, a tuple, a tuple, a tuple, a tuple and 3,495 more"
    )
    buffer = io.BytesIO()
    torch.save({"model": Net().state_dict(), "history": [{"epoch": 1, "test_accuracy": shared}]}, buffer)
    with pytest.raises(CheckpointError, match="not between 0 and 1: 'xxx") as refused:
        read_checkpoint(buffer.getvalue())
    assert len(str(refused.value)) < 300


def test_invisible_characters_that_turn_text_around_are_replaced():
    from lenet.text import clean

    assert clean("lenet\u202etp.exe", 50) == "lenet?tp.exe"


def test_a_jpeg_that_repeats_its_scans_is_refused_before_it_is_decoded():
    """A progressive JPEG whose last scan is repeated: libjpeg decodes every repeat (2,000 took 80 s)."""
    buffer = io.BytesIO()
    Image.effect_noise((400, 400), 60).save(buffer, "JPEG", progressive=True)
    photo = buffer.getvalue()
    assert read_image(photo).shape == (400, 400)  # an honest progressive JPEG is read
    last_scan = photo.rindex(b"\xff\xda")
    repeated = photo[:last_scan] + photo[last_scan:-2] * 100 + b"\xff\xd9"
    with pytest.raises(NotADigit, match="scans"):
        read_image(repeated)


def test_a_browser_may_send_at_most_a_megabyte():
    """Streamlit's cap on what a browser sends (widget values), which the canvas's payload falls under."""
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxWidgetStateSize"] == 1


def zip_records(raw: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(raw)) as source:
        return [(info.filename, source.read(info)) for info in source.infolist()]


UNBOUNDED_INFLATE = "(lambda raw: zipfile.ZipFile(io.BytesIO(raw)).read({name!r}))"  # zipfile's own read()


@pytest.mark.parametrize("method", [8, 12], ids=["deflated", "bzip2"])
@pytest.mark.slow
def test_a_checkpoint_record_that_inflates_past_its_declared_size_costs_no_memory(method, tmp_path):
    """The hostile helper's case: a 1.4 MB file whose pickle inflated to 2 GB as it was checked."""
    records = [
        rawzip.inflating(name, data, 1 << 30, method) if name.endswith("data.pkl") else rawzip.stored(name, data)
        for name, data in zip_records(checkpoint_bytes(Net()))
    ]
    raw = rawzip.archive(records)
    grown, said = peak_growth_mb("(lambda raw: read_checkpoint(raw))", raw, tmp_path, CHECKPOINTS)
    print(f"\na {len(raw) / 1e6:.1f} MB checkpoint whose pickle inflates to 1 GB: {said}; peak +{grown:.1f} MB")
    # deflated: its declared bytes are a good pickle, nothing past them is inflated
    assert said == "read Checkpoint" if method == 8 else "compressed in a way" in said
    assert grown < 50
    inflated, _ = peak_growth_mb(UNBOUNDED_INFLATE.format(name="archive/data.pkl"), raw, tmp_path, CHECKPOINTS)
    assert method == 12 or inflated > 500  # the meter sees what an unbounded inflate costs


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda name, data: rawzip.stored(name, data, flags=1), "encrypted"),
        (lambda name, data: rawzip.stored(name.replace("data.pkl", "data.PKL"), data), "does not write"),
        (lambda name, data: rawzip.stored(name.replace("archive/", "other/"), data), "more than one folder"),
    ],
    ids=["encrypted", "pickle renamed PKL", "two folders"],
)
def test_an_archive_torch_save_would_not_write_is_refused(change, reason):
    records = [
        change(name, data) if name.endswith("data.pkl") else rawzip.stored(name, data)
        for name, data in zip_records(checkpoint_bytes(Net()))
    ]
    with pytest.raises(CheckpointError, match=reason):
        read_checkpoint(rawzip.archive(records))


def npz_records() -> list[tuple[str, bytes]]:
    buffer = io.BytesIO()
    np.savez(buffer, digits=np.zeros((3, 28, 28), np.uint8), labels=np.zeros(3, np.uint8))
    return zip_records(buffer.getvalue())


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (lambda name, data: rawzip.stored(name, b"hello"), "cannot be read safely"),
        (lambda name, data: rawzip.inflating(name, data, 1 << 30, method=12), "compressed in a way"),
        (lambda name, data: rawzip.inflating(name, data, 1 << 30), None),  # its declared bytes are the array
        (lambda name, data: rawzip.stored(name, data, flags=1), "encrypted"),
    ],
    ids=["text, not an array", "bzip2 bomb", "deflate bomb", "encrypted"],
)
@pytest.mark.slow
def test_a_hostile_set_of_digits_is_refused_or_read_without_the_memory_it_claims(record, reason, tmp_path):
    raw = rawzip.archive([record(n, d) if n == "digits.npy" else rawzip.stored(n, d) for n, d in npz_records()])
    grown, said = peak_growth_mb("(lambda raw: DigitSet.from_npz(raw).pixels)", raw, tmp_path, DIGIT_SETS)
    print(f"\na {len(raw) / 1e3:.0f} KB set of digits: {said}; peak +{grown:.1f} MB")
    assert said == "read torch.Size([3, 28, 28])" if reason is None else reason in said
    assert grown < 50


@pytest.mark.parametrize("typed", ["0.01", "1e-3", ".5", "5.", "10"])
def test_again_takes_a_learning_rate_as_a_learner_types_it(typed):
    from lenet.ui.compare import PLAIN_NUMBER

    assert PLAIN_NUMBER.fullmatch(typed)


@pytest.mark.parametrize("typed", ["1_0", "\u0661\u0660", "nan", "inf", "-1", "0x10", "1e", ""])
def test_again_refuses_what_float_would_read_but_no_learner_types(typed):
    from lenet.ui.compare import PLAIN_NUMBER

    assert not PLAIN_NUMBER.fullmatch(typed)
