"""Synthetic hash lists (benign reference images, invented series names) and drawn test images."""
from __future__ import annotations

import csv
import hashlib
import io
import json

from PIL import Image, ImageDraw

from tests.conftest import PDQ_IMAGES, REFERENCE

EXPECTED = {row["path"].removeprefix("images/"): row for row in csv.DictReader((REFERENCE / "pdq" / "expected.csv").open())}
BRIDGE = "aaa-orig.jpg"
BRIDGE_MODS = ["blur-a-little.jpg", "blur-a-lot.jpg", "high-contrast.jpg", "high-saturation.jpg", "sharpen-a-little.jpg", "sharpen-a-lot.jpg",
               "shrink-a-little.jpg", "shrink-a-lot.jpg", "square-128x128.jpg", "square-256x256.jpg", "square-512x512.jpg"]


def drawn_image(seed: int, size: tuple[int, int] = (320, 240), fmt: str = "PNG") -> bytes:
    """A benign picture of shapes, different for every seed."""
    import random

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


def reference_bytes(name: str) -> bytes:
    return (PDQ_IMAGES / name).read_bytes()
