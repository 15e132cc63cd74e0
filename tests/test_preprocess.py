import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fuzz import outcomes
from PIL import Image, ImageDraw

from lenet.network.data import normalise, to_network_input, to_pixels
from lenet.network.model import Net
from lenet.network.preprocess import NotADigit, center_digit, prepare, read_image
from lenet.store.checkpoint import PRETRAINED, read_checkpoint


@torch.no_grad()
def predicted(model, x):
    """The digit `model` reads in each of the network inputs `x`."""
    return model(x).argmax(1)


def canvas_with(digit: np.ndarray, size: int, top: int, left: int, scale: int) -> np.ndarray:
    """A black RGBA canvas like the sketch pad's, with a 28 x 28 digit drawn `scale` times larger."""
    big = F.interpolate(torch.from_numpy(digit).float()[None, None], scale_factor=scale, mode="bilinear")[0, 0]
    canvas = np.zeros((size, size, 4), dtype=np.uint8)
    canvas[..., 3] = 255
    region = big.clamp(0, 255).round().byte().numpy()
    h, w = region.shape
    canvas[top : top + h, left : left + w, :3] = region[..., None]
    return canvas


def center_of_mass(field: torch.Tensor) -> tuple[float, float]:
    f = field.float()
    ys, xs = torch.arange(28).float(), torch.arange(28).float()
    return (f.sum(1) @ ys / f.sum()).item(), (f.sum(0) @ xs / f.sum()).item()


def extent(field: torch.Tensor) -> int:
    rows, cols = field.nonzero()[:, 0], field.nonzero()[:, 1]
    return max(rows.max() - rows.min(), cols.max() - cols.min()).item() + 1


def test_a_centred_mnist_digit_stays_put(mnist):
    for digit in to_pixels(mnist.test_images[:200]):
        again = center_digit(digit.float() / 255)
        before, after = center_of_mass(digit), center_of_mass(again)
        assert abs(before[0] - after[0]) <= 1 and abs(before[1] - after[1]) <= 1  # integer shifts, as MNIST
        assert abs(extent(again) - extent(digit)) <= 2


def test_a_small_off_centre_digit_is_moved_and_scaled():
    image = np.zeros((280, 280), dtype=np.uint8)
    image[10:40, 230:245] = 255  # a small bar in the top-right corner: 30 px high, 15 wide
    field = center_digit(torch.from_numpy(image).float() / 255)
    rows, cols = field.nonzero()[:, 0], field.nonzero()[:, 1]
    assert rows.max() - rows.min() + 1 == 20  # the longer side scaled to 20 px
    assert cols.max() - cols.min() + 1 == 10  # the aspect ratio kept
    com_y, com_x = center_of_mass(field)
    assert abs(com_y - 14) <= 0.5 and abs(com_x - 14) <= 0.5  # where MNIST puts it


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((280, 280), np.uint8), "Nothing drawn"),
        (np.pad(np.full((4, 4), 255, np.uint8), 138), "dot"),
        (np.full((280, 280), 255, np.uint8), "mostly ink"),
    ],
)
def test_inputs_that_are_not_digits_say_so(image, message):
    with pytest.raises(NotADigit, match=message):
        prepare(image)


@pytest.mark.slow
def test_drawn_mnist_digits_keep_the_models_prediction(mnist):
    """Test digits drawn 10x larger at other places on a 280 x 280 canvas read as the originals."""
    model = Net()
    model.load_state_dict(read_checkpoint(PRETRAINED).weights)
    count, generator = 300, torch.Generator().manual_seed(0)
    digits = to_pixels(mnist.test_images[:count]).numpy()
    expected = predicted(model, normalise(mnist.test_images[:count]))
    redrawn = []
    for digit in digits:
        scale = int(torch.randint(5, 10, (1,), generator=generator))
        top, left = (int(v) for v in torch.randint(0, 280 - 28 * scale + 1, (2,), generator=generator))
        redrawn.append(prepare(canvas_with(digit, 280, top, left, scale))[1])
    agreement = (predicted(model, torch.cat(redrawn)) == expected).float().mean().item()
    print(f"prediction agreement after drawing and preprocessing: {agreement:.1%}")
    assert agreement >= 0.97


def test_network_input_uses_the_training_normalisation():
    digit = torch.zeros(28, 28, dtype=torch.uint8)
    digit[4:24, 12:16] = 255
    _, x = prepare(digit.numpy())
    assert x.shape == (1, 1, 32, 32)
    torch.testing.assert_close(x, to_network_input(center_digit(digit.float() / 255)[None]))


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_black_on_white_uploads_are_inverted():
    image = Image.new("L", (300, 200), 255)
    image.paste(0, (140, 40, 160, 160))  # a dark vertical bar on paper: a 1
    digit, _ = prepare(read_image(png(image)), detect_inversion=True)
    assert digit[:, 12:16].float().mean() > 100 and digit[:, :8].max() == 0


def test_transparent_uploads_use_the_opaque_part_as_ink():
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    image.paste((20, 20, 20, 255), (45, 10, 55, 90))  # dark ink on a transparent background
    digit, _ = prepare(read_image(png(image)), detect_inversion=True)
    assert digit.float().mean() > 10


def test_decompression_bombs_are_refused_before_decoding():
    with pytest.raises(NotADigit, match="megapixels"):
        read_image(png(Image.new("1", (6000, 6000))))


def test_non_images_are_refused():
    with pytest.raises(NotADigit, match="not an image"):
        read_image(b"not an image at all")


def seven(size: tuple[int, int] = (300, 400), mode: str = "RGB", ink=(0, 0, 0), paper=(255, 255, 255)) -> Image.Image:
    """A 7 in dark ink on paper, as a phone photo of a handwritten digit would show it."""
    photo = Image.new(mode, size, paper)
    ImageDraw.Draw(photo).line([(80, 80), (230, 80), (130, 340)], fill=ink, width=22)
    return photo


def pretrained_reads(raw: bytes) -> int:
    model = Net()
    model.load_state_dict(read_checkpoint(PRETRAINED).weights)
    _, x = prepare(read_image(raw), detect_inversion=True)
    return int(predicted(model, x)[0])


def test_a_phone_photo_is_turned_as_its_exif_orientation_says():
    upright = seven()
    stored = upright.transpose(Image.Transpose.ROTATE_270)  # the sensor's pixels, stored turned clockwise
    exif = Image.Exif()
    exif[0x0112] = 8  # Orientation: turn 90 degrees anticlockwise to show
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", exif=exif)
    assert pretrained_reads(buffer.getvalue()) == 7
    sideways = io.BytesIO()
    stored.save(sideways, format="JPEG")
    assert pretrained_reads(sideways.getvalue()) != 7  # without the note, it lies on its side


def test_a_16_bit_scan_is_read_not_clipped():
    scan = seven(mode="I;16", ink=9_000, paper=52_000)
    assert np.asarray(scan).max() > 255
    assert pretrained_reads(png(scan)) == 7


@pytest.mark.parametrize(
    "raw",
    [
        png(seven())[:200],  # cut short
        png(seven())[:60] + b"\xff" * 40 + png(seven())[100:],  # a corrupt chunk
        b"GIF89a" + b"\0" * 20,
        b"\x89PNG\r\n\x1a\n" + b"\0" * 30,
    ],
)
def test_broken_image_files_are_a_clear_not_a_digit(raw):
    with pytest.raises(NotADigit, match="not an image"):
        read_image(raw)


def test_fuzzed_images_raise_only_not_a_digit():
    raw = png(seven(size=(60, 80)))
    counted = outcomes(raw, 300, lambda data: prepare(read_image(data), detect_inversion=True), NotADigit)
    print(f"\nfuzzed images: {counted}")
    # Measured: 288 refused, 12 read. Every third mutation cuts the file short: never a digit.
    assert counted["refused"] >= 100 and counted["read"] > 0


def test_a_single_click_on_the_canvas_is_a_dot():
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[..., 3] = 255
    yy, xx = np.mgrid[:280, :280]
    canvas[(yy - 140) ** 2 + (xx - 140) ** 2 <= 10**2, :3] = 255  # one press of the 20 px brush
    with pytest.raises(NotADigit, match="dot"):
        prepare(canvas, min_extent_px=40)
    canvas[60:220, 135:145, :3] = 255  # a stroke: a 1
    digit, _ = prepare(canvas, min_extent_px=40)
    assert digit.max() == 255


def test_a_model_whose_output_is_not_a_number_says_so_instead_of_a_nan_percentage():
    from lenet.network.inference import OutputNotFinite, read_digit

    model = Net()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1e30)  # finite weights, as a run at a far too high learning rate can leave them
    canvas = np.zeros((280, 280), np.uint8)
    canvas[60:220, 135:145] = 255
    with pytest.raises(OutputNotFinite, match="not a number"):
        read_digit(model, canvas)


def test_one_reading_gives_the_models_probabilities_and_feature_maps():
    """read_digit records one forward pass for both: the same as asking for each on its own."""
    from lenet.network.inference import read_digit

    model = Net()
    model.load_state_dict(read_checkpoint(PRETRAINED).weights)
    canvas = np.zeros((280, 280), np.uint8)
    canvas[60:220, 135:145] = 255
    reading = read_digit(model, canvas)
    with torch.no_grad():
        conv1 = F.relu(model.conv1(reading.x))
        conv2 = F.relu(model.conv2(F.max_pool2d(conv1, 2)))
        torch.testing.assert_close(reading.probabilities, F.softmax(model(reading.x), dim=1)[0])
    torch.testing.assert_close(reading.feature_maps["conv1"], conv1[0])
    torch.testing.assert_close(reading.feature_maps["conv2"], conv2[0])
    assert reading.prediction == 1
