"""Benign test media and synthetic hash lists (invented series names).

Everything here ships with the code: the ThreatExchange images the package carries
(himaya/demo/images/, BSD licence beside them), variants of them drawn here with Pillow,
pictures of shapes, and short clips of moving shapes encoded here with PyAV. Hashes are
computed by `himaya.media.hashing`, which tests/media/test_hashing.py checks against Meta's
published reference values wherever that reference folder is present.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import random
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from himaya.demo.generator import IMAGES_DIR
from himaya.media.hashing import image_hashes

# ThreatExchange's bridge photograph, full size (1600 x 1004), as the package ships it.
BRIDGE = "bridge"


def _shipped(name: str) -> Callable[[], bytes]:
    return lambda: (IMAGES_DIR / name).read_bytes()


def _bridge_as(change: Callable[[Image.Image], Image.Image], *, quality: int = 90) -> Callable[[], bytes]:
    def make() -> bytes:
        with Image.open(IMAGES_DIR / "blur-a-lot.jpg") as src:
            out = io.BytesIO()
            change(src.convert("RGB")).save(out, format="JPEG", quality=quality)
        return out.getvalue()
    return make


# Copies of the bridge a person would still call the same picture: each within PDQ's match distance of it.
BRIDGE_MODS = ["bridge-blur", "bridge-sharpen", "bridge-contrast", "bridge-saturation", "bridge-shrink", "bridge-grey-low-quality",
               "square-128x128", "square-256x256", "square-512x512", "shrink-a-lot", "mode-1"]
BENIGN: dict[str, Callable[[], bytes]] = {
    BRIDGE: _shipped("blur-a-lot.jpg"),
    "bridge-blur": _bridge_as(lambda im: im.filter(ImageFilter.GaussianBlur(12))),
    "bridge-sharpen": _bridge_as(lambda im: im.filter(ImageFilter.UnsharpMask(4, 300, 2))),
    "bridge-contrast": _bridge_as(lambda im: ImageEnhance.Contrast(im).enhance(1.8)),
    "bridge-saturation": _bridge_as(lambda im: ImageEnhance.Color(im).enhance(2.5)),
    "bridge-shrink": _bridge_as(lambda im: im.resize((400, 251))),
    "bridge-grey-low-quality": _bridge_as(lambda im: im.convert("L"), quality=20),
    "square-128x128": _shipped("square-128x128.jpg"),
    "square-256x256": _shipped("square-256x256.jpg"),
    "square-512x512": _shipped("square-512x512.jpg"),
    "shrink-a-lot": _shipped("shrink-a-lot.jpg"),
    "mode-1": _shipped("mode-1.png"),  # bilevel PNG
    "wee": _shipped("wee.jpg"),  # another photograph, 34 x 42: unrelated to the bridge
    "small": _shipped("small.jpg"),  # almost flat: PDQ quality 0, never matched perceptually
    "shapes": lambda: drawn_image(101),  # unrelated to the bridge, PDQ quality 100
}


@functools.cache
def benign(name: str) -> bytes:
    return BENIGN[name]()


@functools.cache
def pdq(name: str) -> str:
    return image_hashes(benign(name)).pdq


def drawn_image(seed: int, size: tuple[int, int] = (320, 240), fmt: str = "PNG") -> bytes:
    """A benign picture of shapes, different for every seed."""
    rnd = random.Random(seed)
    im = Image.new("RGB", size, tuple(rnd.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(im)
    for _ in range(12):
        x0, y0 = rnd.randrange(size[0]), rnd.randrange(size[1])
        box = [x0, y0, x0 + rnd.randrange(20, 160), y0 + rnd.randrange(20, 120)]
        (draw.ellipse if rnd.random() < 0.5 else draw.rectangle)(box, fill=tuple(rnd.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    im.save(out, format=fmt)
    return out.getvalue()


def vics_13(media: list[dict]) -> bytes:
    return json.dumps({"odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml/$metadata#Cases",
                       "value": [{"CaseNumber": "EXAMPLE-1", "Media": media}]}).encode()


def vics_20(media: list[dict]) -> bytes:
    return json.dumps({"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases",
                       "value": [{"CaseID": "EXAMPLE-2", "Media": media}]}).encode()


def vics_item(data: bytes, *, media_id: str, category: str = "1", series: str = "Blue Kite (invented)") -> dict:
    # Upper-case hex and string booleans, as partners send them.
    return {"MediaID": media_id, "Category": category, "MD5": hashlib.md5(data).hexdigest().upper(),
            "SHA1": hashlib.sha1(data).hexdigest().upper(), "PhotoDNA": "QUJDREVGR0g=", "VictimIdentified": "True",
            "IsDistributed": "false", "Series": series}


@functools.cache
def drawn_video(seed: int, frames: int = 30, size: tuple[int, int] = (320, 240), bit_rate: int = 400_000) -> bytes:
    """A benign three-second MPEG-4 clip of coloured shapes drifting across a plain ground, different for every seed
    (the same seed at another bit rate: the same clip, re-encoded)."""
    import av

    rnd = random.Random(seed)
    ground = tuple(rnd.randrange(256) for _ in range(3))
    shapes = [(rnd.randrange(size[0]), rnd.randrange(size[1]), rnd.randrange(30, 120), rnd.randrange(30, 90), tuple(rnd.randrange(256) for _ in range(3)),
               rnd.random() < 0.5, rnd.randrange(-4, 5), rnd.randrange(-3, 4)) for _ in range(10)]
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt, stream.bit_rate = size[0], size[1], "yuv420p", bit_rate
        for n in range(frames):
            im = Image.new("RGB", size, ground)
            draw = ImageDraw.Draw(im)
            for x, y, w, h, colour, round_, dx, dy in shapes:
                x0, y0 = (x + n * dx) % size[0], (y + n * dy) % size[1]
                (draw.ellipse if round_ else draw.rectangle)([x0, y0, x0 + w, y0 + h], fill=colour)
            container.mux(stream.encode(av.VideoFrame.from_image(im)))
        container.mux(stream.encode())
    return out.getvalue()


def vpdq_rows(data: bytes) -> list[str]:
    """A clip's frame hashes, as a partner's vPDQ list of it would carry them."""
    from himaya.media.hashing import video_hashes

    return [frame[2] for frame in video_hashes(data).vpdq]
