"""The learner's own digits: the set, its file (hostile ones too), how a model reads it, and teaching it the hand."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from fuzz import outcomes
from test_workspace import pretrained

from benchmarks.hand import HANDS, hand_sets
from lenet.network.augment import transformed
from lenet.network.data import to_network_input
from lenet.network.handwriting import MAX_DIGITS, MAX_SET_FILE_BYTES, DigitSet, DigitSetError, SetFull
from lenet.network.model import Net
from lenet.service.finetune import HAND_MNIST, WRITTEN_LIKE_YOURS, mixed, repeats, split, teach_my_hand
from lenet.service.slots import RunSlots
from lenet.service.workspace import Workspace


def hard_digits(mnist, n: int, seed: int = 5) -> tuple[torch.Tensor, list[int]]:
    """Test digits turned and moved hard: a stand-in for a hand MNIST never saw."""
    pixels = transformed(mnist.test_images[:n], seed=seed)[:, 0, 2:-2, 2:-2].contiguous()
    return pixels, mnist.test_labels[:n].tolist()


def a_set(mnist, n: int) -> DigitSet:
    digits = DigitSet()
    for pixels, label in zip(*hard_digits(mnist, n), strict=True):
        digits.add(pixels, label)
    return digits


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def test_a_set_adds_removes_and_clears_and_stays_small(mnist):
    digits = a_set(mnist, 200)
    assert len(digits) == 200 and digits.nbytes <= 1_000_000  # 157 KB of pixels, 1.6 KB of labels
    third = digits.pixels[2].clone()
    digits.remove(1)
    assert len(digits) == 199 and torch.equal(digits.pixels[1], third)
    version = digits.version
    digits.clear()
    assert len(digits) == 0 and digits.version > version
    with pytest.raises(ValueError, match="28 x 28 uint8"):
        digits.add(torch.zeros(28, 28), 3)
    with pytest.raises(ValueError, match="label from 0 to 9"):
        digits.add(torch.zeros(28, 28, dtype=torch.uint8), 10)


def test_a_set_holds_at_most_a_thousand_digits():
    digits = DigitSet(torch.zeros(MAX_DIGITS, 28, 28, dtype=torch.uint8), torch.zeros(MAX_DIGITS, dtype=torch.int64))
    with pytest.raises(SetFull, match="1,000"):
        digits.add(torch.zeros(28, 28, dtype=torch.uint8), 1)


def test_reading_a_set_is_the_models_own_answer_for_each_digit(mnist):
    digits, model = a_set(mnist, 50), Net().eval()
    read = digits.read_by(model)
    expected = model(to_network_input(digits.pixels)).argmax(1)
    assert read.predictions == expected.tolist()
    assert read.right == int((expected == digits.labels).sum()) and read.total == 50
    assert sum(map(sum, read.confusion)) == 50 and all(read.confusion[d][d] >= 0 for d in range(10))


def test_the_file_is_numpys_and_comes_back_the_same(mnist):
    digits = a_set(mnist, 30)
    raw = digits.to_npz()
    with np.load(io.BytesIO(raw), allow_pickle=False) as arrays:  # anyone can read it
        assert arrays["digits"].shape == (30, 28, 28) and arrays["labels"].tolist() == digits.labels.tolist()
    back = DigitSet.from_npz(raw)
    assert torch.equal(back.pixels, digits.pixels) and torch.equal(back.labels, digits.labels)


HOSTILE = [
    (b"", "not a set of digits"),
    (b"\0" * (MAX_SET_FILE_BYTES + 1), "MB; a set of digits is under 1 MB"),  # a huge file: refused by its size
    (b"PK\x03\x04 not really a zip", "not a set of digits"),
    (npz(digits=np.zeros((100_000, 28, 28), np.uint8), labels=np.zeros(100_000, np.uint8)), "unpacks to more"),
    (npz(digits=np.zeros((5, 32, 32), np.uint8), labels=np.zeros(5, np.uint8)), "(N, 28, 28) uint8"),
    (npz(digits=np.zeros((5, 28, 28), np.float32), labels=np.zeros(5, np.uint8)), "(N, 28, 28) uint8"),
    (npz(digits=np.zeros((5, 28, 28), np.uint8), labels=np.array([0, 1, 2, 3, 12])), "from 0 to 9"),
    (npz(digits=np.zeros((5, 28, 28), np.uint8), labels=np.array([0, 1, 2, 3, -1])), "from 0 to 9"),
    (npz(digits=np.zeros((5, 28, 28), np.uint8), labels=np.zeros(4, np.uint8)), "one whole number per digit"),
    (npz(digits=np.zeros((5, 28, 28), np.uint8), labels=np.full(5, 0.5)), "one whole number per digit"),
    (npz(digits=np.zeros((5, 28, 28), np.uint8)), "digits and labels"),
    (npz(digits=np.zeros((1, 28, 28), np.uint8), labels=np.zeros(1, np.uint8), extra=np.zeros(1)), "digits and labels"),
    (npz(digits=np.array([{"a": 1}], dtype=object), labels=np.zeros(1, np.uint8)), "cannot be read safely"),  # a pickle
]


@pytest.mark.parametrize(("raw", "reason"), HOSTILE, ids=range(len(HOSTILE)))
def test_a_file_that_is_not_a_set_is_refused_with_its_reason(raw, reason):
    with pytest.raises(DigitSetError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        DigitSet.from_npz(raw)


@pytest.mark.slow
def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("digits.npy", b"\0" * 200_000_000)  # 200 MB of zeros in a file of 200 KB
        archive.writestr("labels.npy", b"\0")
    with pytest.raises(DigitSetError, match="unpacks to more"):
        DigitSet.from_npz(buffer.getvalue())


def from_a_later_zip_version(raw: bytes) -> bytes:
    """`raw`, its central directory saying that version 15.1 of the zip format is needed to extract it."""
    at = raw.index(b"PK\x01\x02") + 6
    return raw[:at] + (151).to_bytes(2, "little") + raw[at + 2 :]


def test_a_zip_of_a_version_python_cannot_read_is_refused(mnist):
    """Found by the fuzzer below: zipfile raises NotImplementedError for it."""
    with pytest.raises(DigitSetError, match="not a set of digits"):
        DigitSet.from_npz(from_a_later_zip_version(a_set(mnist, 12).to_npz()))


def test_fuzzed_set_files_raise_only_a_digit_set_error(mnist):
    counted = outcomes(a_set(mnist, 12).to_npz(), 400, DigitSet.from_npz, DigitSetError)
    print(f"\nfuzzed sets of digits: {counted}")
    assert counted == {"refused": 400, "read": 0}  # every flipped byte fails a zip check (a CRC at the least)


@pytest.mark.slow
def test_the_digits_outlive_a_new_model_and_are_read_at_each_epoch_end(mnist):
    ws = pretrained()
    ws.digits.replace_with(a_set(mnist, 12))
    fresh = ws.replaced_by(Workspace.from_random_init(0))
    assert fresh.digits is ws.digits and fresh.hand_accuracy().total == 12
    first = fresh.hand_accuracy()
    assert fresh.hand_accuracy() is first  # worked out once for these weights and this set
    fresh.digits.remove(0)
    assert fresh.hand_accuracy().total == 11
    from lenet.training.settings import preset

    run = fresh.start(preset("fast", epochs=2, train_subset=2_560, device="cpu"), slots=RunSlots(1))
    run.thread.join(120)
    assert sorted(run.hand_by_epoch) == [1, 2] and all(0 <= a <= 1 for a in run.hand_by_epoch.values())


def test_the_mix_is_mnist_and_the_learners_digits_repeated(mnist):
    digits = a_set(mnist, 12)
    data = mixed(mnist, digits)
    times = repeats(12)
    assert times == 84 and len(data.train_images) == HAND_MNIST + 12 * times
    assert torch.equal(data.train_images[HAND_MNIST, 0, 2:-2, 2:-2], digits.pixels[0])
    assert data.train_labels[HAND_MNIST:].tolist() == digits.labels.tolist() * times
    # MNIST's digits: the first ones written in the style of the learner's, the rest as they are
    assert not torch.equal(data.train_images[:WRITTEN_LIKE_YOURS], mnist.train_images[:WRITTEN_LIKE_YOURS])
    assert torch.equal(
        data.train_images[WRITTEN_LIKE_YOURS:HAND_MNIST], mnist.train_images[WRITTEN_LIKE_YOURS:HAND_MNIST]
    )
    assert repeats(1_000) == 5 and repeats(1) == 100


def test_a_third_of_the_digits_is_kept_out_of_the_lesson_label_by_label(mnist):
    digits = a_set(mnist, 40)
    taught, new = split(digits)
    assert len(taught) + len(new) == 40 and len(new) == 13
    assert abs(torch.bincount(new.labels, minlength=10) - torch.bincount(digits.labels, minlength=10) / 3).max() < 1
    for image, label in zip(new.pixels, new.labels, strict=True):  # each one of the learner's, never taught
        assert any(torch.equal(image, d) for d in digits.pixels[digits.labels == label])
        assert not any(torch.equal(image, d) for d in taught.pixels)
    data = mixed(mnist, taught)
    learner = data.train_images[HAND_MNIST:, 0, 2:-2, 2:-2]
    assert not any(torch.equal(digit, seen) for digit in new.pixels for seen in learner[: len(taught)])
    two_each = DigitSet(digits.pixels[:12], torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 7, 7]))
    assert len(split(two_each)[1]) == 4  # two of each of six labels: four kept out, not none


@pytest.mark.slow
def test_teaching_it_my_hand_reads_new_digits_of_my_hand_better_and_keeps_mnist(mnist):
    """On a hand of our own making (benchmarks/hand.py): 30 of its digits labelled, 300 others never shown."""
    ws = pretrained()
    with pytest.raises(ValueError, match="at least 10"):
        teach_my_hand(ws, slots=RunSlots(1))
    mine, unseen = hand_sets(HANDS[0], mnist.test_images[:, 0, 2:-2, 2:-2], mnist.test_labels, seed=0)
    ws.digits.replace_with(mine)
    unseen_before = unseen.read_by(ws.inference_model()).accuracy
    run, taught, new = teach_my_hand(ws, slots=RunSlots(1))
    run.thread.join(120)
    assert run.state == "completed" and run.config.augment
    before = run.hand_before
    assert before["digits"] == len(taught) == 20 and before["new_digits"] == len(new) == 10
    assert before["mnist"] > 0.99
    model = ws.inference_model()
    after = {"taught": taught.read_by(model).accuracy, "unseen": unseen.read_by(model).accuracy}
    print(
        f"\ntaught digits {before['taught']:.0%} -> {after['taught']:.0%}, 300 new digits of that hand "
        f"{unseen_before:.0%} -> {after['unseen']:.0%}, MNIST {before['mnist']:.2%} -> {run.end_accuracy:.2%}"
    )
    assert after["taught"] > before["taught"] and after["unseen"] >= unseen_before + 0.10
    assert run.end_accuracy > 0.98
    assert "taught your hand" in run.start


DRAWN = Path(__file__).parent / "data" / "drawn_digits.npz"  # made by tools/draw_set.py in Chromium


def test_the_projects_own_drawn_digits_are_read_by_the_pretrained_model():
    from lenet.store.checkpoint import pretrained

    drawn = DigitSet.from_npz(DRAWN.read_bytes())
    assert len(drawn) == 63 and all(drawn.labels.tolist().count(d) >= 6 for d in range(10))
    model = Net()
    model.load_state_dict(pretrained().weights)
    read = drawn.read_by(model.eval())
    print(f"\nthe pretrained model reads {read.right} of the {read.total} digits drawn in Chromium")
    assert read.accuracy >= 0.95  # measured: 63 of 63
