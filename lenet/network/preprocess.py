"""Turn a drawing or a photo of a digit into the network's input, the way MNIST was made.

MNIST's recipe: the digit's bounding box scaled (aspect kept) so its longer side is 20 px, placed
in a 28 x 28 field with its centre of mass at the centre, white ink on black.
"""

import contextlib
import io
from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from lenet.network.data import to_network_input

INK = 0.2  # a pixel is ink above this share of full brightness
DIGIT_SIZE = 20  # longer side of the digit's box, in MNIST pixels
FIELD = 28
MIN_EXTENT = 0.04  # a mark smaller than this share of the drawing's size is a dot, not a digit
MAX_INK = 0.6  # more ink than this share of the area is not a digit on a background
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")  # what a photo or scan of a digit comes in; no other is tried
MAX_FILE_BYTES = 20 * 10**6  # a phone's JPEG is 2-12 MB
MAX_PIXELS = 25_000_000  # JPEG: larger images are refused before they are decoded (decompression bombs)
MAX_LOSSLESS_PIXELS = 12_000_000  # the others decode whole: 48 MB as RGBA
# A progressive JPEG refines its picture in scans (start-of-scan markers, FF DA: entropy-coded data
# never holds them); cameras write about 10. A file that repeats one scan thousands of times keeps a
# core decoding for hours (2,000 took 80 s).
MAX_JPEG_SCANS = 64
WORKING_SIZE = 560  # uploads are shrunk to at most this many pixels a side before the MNIST steps
WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")  # grey levels wider than 8 bits


class NotADigit(ValueError):
    """The image holds nothing that can be read as a digit; the message says what to do."""


def grayscale(image: np.ndarray) -> torch.Tensor:
    """(H, W), (H, W, 3) or (H, W, 4) uint8 -> (H, W) float in [0, 1]; transparency is black."""
    pixels = torch.from_numpy(np.array(image)).float() / 255  # a copy: decoded images are read-only
    if pixels.ndim == 2:
        return pixels
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3, 4):
        raise NotADigit(f"expected a grayscale, RGB or RGBA image, got an array of shape {tuple(image.shape)}")
    gray = pixels[..., :3].amax(dim=2) if pixels.shape[2] >= 3 else pixels[..., 0]
    return gray * pixels[..., 3] if pixels.shape[2] == 4 else gray


def read_image(raw: bytes) -> np.ndarray:
    """An uploaded image file -> (H, W) uint8 gray; `NotADigit` for anything else.

    Only the formats a digit's photo or scan comes in are tried (`FORMATS`), each decoded only once
    its true size is known: Pillow's other plugins decode while opening (an ICO holds a PNG of any
    size) or hand the file to other programs (EPS to Ghostscript). Transparent images: the opaque
    part is the ink.
    """
    if len(raw) > MAX_FILE_BYTES:
        megabytes = MAX_FILE_BYTES // 10**6
        raise NotADigit(f"the file is {len(raw) / 1e6:.1f} MB; a photo of a digit is under {megabytes} MB")
    with _opened(raw, FORMATS) as image:
        width, height = image.size
        if image.format == "JPEG" and (scans := raw.count(b"\xff\xda")) > MAX_JPEG_SCANS:
            raise NotADigit(f"the JPEG has {scans:,} scans; a photo has at most a few dozen")
        limit = MAX_PIXELS if image.format == "JPEG" else MAX_LOSSLESS_PIXELS
        if width * height > limit:
            raise NotADigit(f"the image is {width:,} x {height:,} pixels; at most {limit // 1_000_000} megapixels")
        return _decoded(lambda: _gray(image))


@contextlib.contextmanager
def _opened(raw: bytes, formats: tuple[str, ...]) -> Iterator[Image.Image]:
    """The image of `raw`, its header read and nothing decoded yet, if it is one of `formats`."""
    try:
        image = Image.open(io.BytesIO(raw), formats=formats)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):  # UnidentifiedImageError is an OSError
        names = ", ".join(formats[:-1]) + " and " + formats[-1] if len(formats) > 1 else formats[0]
        raise NotADigit(f"it is not an image this app can read: it reads {names.replace('WEBP', 'WebP')}") from None
    with image:
        yield image


def _decoded(decode: Callable[[], np.ndarray]) -> np.ndarray:
    # Pillow reports broken files with all of these, corrupt PNG chunks as SyntaxError among them.
    try:
        return decode()
    except NotADigit:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        raise NotADigit("it is not an image this app can read: the file is damaged or cut short") from None


def _gray(image: Image.Image) -> np.ndarray:
    image.draft("L", (WORKING_SIZE, WORKING_SIZE))  # JPEG: decode at a reduced size
    upright = ImageOps.exif_transpose(image)  # a phone stores its photos sideways, with a note how to turn them
    upright.thumbnail((WORKING_SIZE, WORKING_SIZE))
    if upright.mode in WIDE_MODES:
        return _to_8_bits(np.asarray(upright, dtype=np.float64))
    if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
        alpha = np.asarray(upright.convert("RGBA"))[..., 3]
        if alpha.min() < 128 <= alpha.max():
            return alpha
    return np.asarray(upright.convert("L"))


def _to_8_bits(pixels: np.ndarray) -> np.ndarray:
    """16-bit, 32-bit and float grey levels, stretched to 0-255 (Pillow's convert("L") clips them at 255)."""
    pixels = np.nan_to_num(pixels, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = pixels.min(), pixels.max()
    if high <= low:
        return np.zeros(pixels.shape, dtype=np.uint8)
    return np.round((pixels - low) * (255 / (high - low))).astype(np.uint8)


def white_on_black(gray: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """Invert dark ink on a light background (paper, photos); say whether it was inverted."""
    border = torch.cat([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if border.median() > 0.5:
        return 1 - gray, True
    return gray, False


def center_digit(gray: torch.Tensor, min_extent_px: float = 0) -> torch.Tensor:
    """A white-on-black (H, W) image -> the MNIST-style (28, 28) uint8 digit.

    A mark whose longer side is under `min_extent_px` (or MIN_EXTENT of the image) is a dot.
    """
    ink = gray > INK
    if not ink.any():
        raise NotADigit("Nothing drawn yet: draw a digit.")
    if ink.float().mean() > MAX_INK:
        raise NotADigit("The image is mostly ink: draw a single digit on an empty background.")
    rows, cols = ink.any(dim=1).nonzero().squeeze(1), ink.any(dim=0).nonzero().squeeze(1)
    top, bottom, left, right = rows[0].item(), rows[-1].item() + 1, cols[0].item(), cols[-1].item() + 1
    height, width = bottom - top, right - left
    if max(height, width) < max(MIN_EXTENT * max(gray.shape), min_extent_px):
        raise NotADigit("That is only a dot: draw a whole digit, larger.")
    digit = torch.where(ink, gray, 0.0)[top:bottom, left:right]
    scale = DIGIT_SIZE / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    digit = F.interpolate(digit[None, None], size=size, mode="bilinear", antialias=True, align_corners=False)[0, 0]
    digit = digit.clamp(0, 1) / digit.max()

    # Place it so that its centre of mass lands on the field's centre.
    ys, xs = torch.arange(size[0]).float(), torch.arange(size[1]).float()
    mass = digit.sum()
    com_y, com_x = (digit.sum(1) @ ys / mass).item(), (digit.sum(0) @ xs / mass).item()
    top = min(max(round(FIELD / 2 - com_y), 0), FIELD - size[0])
    left = min(max(round(FIELD / 2 - com_x), 0), FIELD - size[1])
    field = torch.zeros(FIELD, FIELD)
    field[top : top + size[0], left : left + size[1]] = digit
    return (field * 255).round().to(torch.uint8)


def prepare(
    image: np.ndarray, detect_inversion: bool = False, min_extent_px: float = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """An image of a digit -> (the 28 x 28 uint8 digit, the (1, 1, 32, 32) network input)."""
    gray = grayscale(image)
    if detect_inversion:
        gray, _ = white_on_black(gray)
    digit = center_digit(gray, min_extent_px)
    return digit, to_network_input(digit[None])
