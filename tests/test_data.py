import hashlib
from pathlib import Path

import pytest
import torch
from torchvision.datasets import MNIST

from lenet.network import data
from lenet.network.data import BACKGROUND, RAW_FILES, MnistUnavailable, ensure_mnist, normalise, raw_dir, to_pixels

# Published class counts of the MNIST training set: a reference independent of this code.
TRAIN_CLASS_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_tensors_have_the_network_input_shape(mnist):
    assert mnist.train_images.shape == (60_000, 1, 32, 32)
    assert mnist.test_images.shape == (10_000, 1, 32, 32)
    assert mnist.train_images.dtype == torch.uint8  # normalised batch by batch
    assert mnist.train_labels.dtype == torch.int64
    assert mnist.train_labels.bincount().tolist() == TRAIN_CLASS_COUNTS


def test_normalised_with_the_training_statistics(mnist):
    digits = normalise(mnist.train_images[:, :, 2:30, 2:30])  # the original 28 x 28 area
    assert digits.mean().item() == pytest.approx(0.0, abs=1e-3)
    assert digits.std().item() == pytest.approx(1.0, abs=1e-3)
    assert digits.min().item() == pytest.approx(BACKGROUND)
    assert digits.max().item() == pytest.approx((1 - 0.1307) / 0.3081)


def test_padding_is_background(mnist):
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert (mnist.test_images[:, 0, border] == 0).all()
    border_values = normalise(mnist.test_images[:100])[:, 0, border]
    torch.testing.assert_close(border_values, torch.full_like(border_values, BACKGROUND))


def test_pixels_and_labels_are_torchvisions(mnist):
    """Our IDX decoder against torchvision's MNIST, the trusted reference, for both sets."""
    for train, images, labels in (
        (False, mnist.test_images, mnist.test_labels),
        (True, mnist.train_images, mnist.train_labels),
    ):
        reference = MNIST(str(data.default_data_dir()), train=train)
        assert torch.equal(labels, reference.targets)
        assert torch.equal(to_pixels(images), reference.data)


def test_loaded_once_per_process(mnist):
    assert data.load_mnist() is mnist


def test_shipped_files_extract_to_the_originals(tmp_path):
    folder = ensure_mnist(tmp_path, download=False)
    for name, md5 in RAW_FILES.items():
        assert hashlib.md5((folder / name).read_bytes()).hexdigest() == md5


@pytest.mark.slow
def test_a_truncated_file_is_replaced_from_the_shipped_copy(tmp_path):
    folder = ensure_mnist(tmp_path, download=False)
    labels = folder / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:100])
    assert data.missing_files(tmp_path) == ["t10k-labels-idx1-ubyte"]
    ensure_mnist(tmp_path, download=False)
    assert data.missing_files(tmp_path) == []


def test_no_files_and_no_network_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])  # nothing listens there
    no_shipped = tmp_path / "nothing-shipped"
    no_shipped.mkdir()
    with pytest.raises(MnistUnavailable) as error:
        ensure_mnist(tmp_path / "data", shipped_dir=no_shipped)
    message = str(error.value)
    assert str(raw_dir(tmp_path / "data")) in message
    assert all(name in message for name in RAW_FILES)
    assert "LENET_DATA_DIR" in message


@pytest.mark.slow
def test_download_is_used_when_nothing_is_shipped(tmp_path, monkeypatch):
    """torchvision's own download path, served from a local mirror of the gzip files."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(data.SHIPPED_DIR))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(MNIST, "mirrors", [f"http://127.0.0.1:{server.server_port}/"])
        # Our archives are gzip -9 -n, not the originals: torchvision checks theirs by md5.
        shipped = [
            (f"{name}.gz", hashlib.md5((data.SHIPPED_DIR / f"{name}.gz").read_bytes()).hexdigest())
            for name in RAW_FILES
        ]
        monkeypatch.setattr(MNIST, "resources", shipped)
        ensure_mnist(tmp_path, shipped_dir=tmp_path / "none")
    finally:
        server.shutdown()
    assert data.missing_files(tmp_path) == []


def test_a_data_folder_that_cannot_be_written_says_what_to_do():
    unwritable = Path("/proc/lenet-data")  # even root cannot create folders in /proc
    with pytest.raises(MnistUnavailable) as error:
        ensure_mnist(unwritable, download=False)
    assert "MNIST/raw" in str(error.value) and "LENET_DATA_DIR" in str(error.value)
