"""The portal's tests: test-sized Argon2 and proof of work, the same code paths."""
from __future__ import annotations

import re
from datetime import date
from urllib.parse import quote

import pytest
from django.test import Client

from himaya.portal import pow
from himaya.portal.document import Answers

FAST_ARGON2 = {"time_cost": 1, "memory_cost": 8 * 1024, "parallelism": 1}


@pytest.fixture(autouse=True)
def portal_settings(settings):  # type: ignore[no-untyped-def]
    settings.HIMAYA_PORTAL_ARGON2 = FAST_ARGON2
    settings.HIMAYA_PORTAL_POW_BITS = 8
    return settings


@pytest.fixture
def fixed_window(monkeypatch):  # type: ignore[no-untyped-def]
    """The rate-limit clock stands still mid-window, so a test never straddles two windows."""
    import time as real_time

    from himaya.portal import throttle

    moment = (int(real_time.time()) // 3600) * 3600 + 1800
    monkeypatch.setattr(throttle, "clock", lambda: moment)
    return moment


def sextortion_answers(**changes) -> Answers:  # type: ignore[no-untyped-def]
    fields = dict(
        what="sextortion", who="child", child_age=14,
        story="He said he will send my pictures to my school if I do not send more. سأنشر صورك",
        platform="ExampleChat", url="https://example.com/u/shadow_fox_21", account="shadow_fox_21",
        when=date.today(),
    )
    fields.update(changes)
    return Answers(**fields)


def png_bytes(marker: str = "himaya-portal-test-file", size: int = 64, colour: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    """A benign picture the test draws itself, carrying a marker to search for."""
    import io

    from PIL import Image, ImageDraw
    from PIL.PngImagePlugin import PngInfo

    image = Image.new("RGB", (size, size), colour)
    ImageDraw.Draw(image).ellipse((8, 8, size - 8, size - 8), fill=(250, 200, 40))
    info = PngInfo()
    info.add_text("Comment", marker)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


CHALLENGE = re.compile(r'data-challenge="([^"]+)"')
RECEIPT = re.compile(r"data-receipt>([0-9 ]+)<")
TOKEN = re.compile(r'name="token" value="([^"]+)"')


def form_fields(**changes: str) -> dict[str, str]:
    fields = {
        "what": "sextortion", "who": "child", "child_age": "14",
        "story": "He said he will send my pictures to my school if I do not send more. سأنشر صورك",
        "platform": "ExampleChat", "url": "https://example.com/u/shadow_fox_21", "account": "shadow_fox_21",
        "contact_choice": "anonymous",
    }
    fields.update(changes)
    return fields


def challenge_from(client: Client, path: str = "/portal/report/") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return CHALLENGE.search(response.content.decode()).group(1)


def submit(client: Client, fields: dict[str, str] | None = None, files: list[tuple[str, bytes]] = (), *, solve: bool = True, **extra):  # type: ignore[no-untyped-def]
    """Through the form as a browser would: a challenge, its solution in the query string."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    challenge = challenge_from(client)
    nonce = pow.solve(challenge) if solve else unsolved(challenge)
    data: dict = dict(fields or form_fields())
    if files:
        data["files"] = [SimpleUploadedFile(name, content) for name, content in files]
    return client.post(f"/portal/report/?c={quote(challenge)}&n={nonce}", data, **extra)


def unsolved(challenge: str) -> str:
    """A counter that does not solve the challenge."""
    import hashlib

    difficulty = int(challenge.split(":")[0].split(".")[1])
    return str(next(n for n in range(10_000) if pow.leading_zero_bits(hashlib.sha256(f"{challenge}:{n}".encode()).digest()) < difficulty))


def receipt_of(response) -> str:  # type: ignore[no-untyped-def]
    return RECEIPT.search(response.content.decode()).group(1).replace(" ", "")
