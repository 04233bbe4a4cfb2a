"""PDQ and vPDQ reproduce Meta's reference values (pure: no database)."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from himaya.media.hashing import Undecodable, image_hashes, media_hashes, video_hashes
from tests.conftest import PDQ_IMAGES, REFERENCE
from tests.media.fixtures import EXPECTED

VIDEOS = REFERENCE / "pdq" / "videos"


def hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pdq_reproduces_the_reference_exactly_in_every_pillow_mode(name):
    hashes = image_hashes((PDQ_IMAGES / name).read_bytes())
    assert (hashes.pdq, hashes.pdq_quality) == (EXPECTED[name]["pdq"], int(EXPECTED[name]["pdq_quality"]))
    assert hashes.pdq_dihedral[0] == hashes.pdq and len(hashes.pdq_dihedral) == 8


def test_rotated_and_mirrored_copies_appear_among_the_dihedral_hashes():
    original = Image.open(PDQ_IMAGES / "aaa-orig.jpg").convert("RGB")
    dihedral = image_hashes((PDQ_IMAGES / "aaa-orig.jpg").read_bytes()).pdq_dihedral
    for op in (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270, Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM):
        out = io.BytesIO()
        original.transpose(op).save(out, format="PNG")
        copy = image_hashes(out.getvalue()).pdq
        assert hamming(copy, dihedral[0]) > 31  # the plain hash would miss it...
        assert min(hamming(copy, d) for d in dihedral) <= 10  # ...a dihedral hash finds it


@pytest.mark.parametrize("data, reason", [
    (b"not an image at all", "not an image format"),
    ((PDQ_IMAGES / "aaa-orig.jpg").read_bytes()[:600], "could not be decoded"),
    (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "video could not be decoded"),
])
def test_undecodable_content_says_why(data, reason):
    with pytest.raises(Undecodable, match=reason):
        media_hashes(data)


@pytest.mark.parametrize("stem", ["chair-19-sd-bar", "pattern-sd-grey-bar", "doorknob-hd-no-bar"])
def test_vpdq_frame_hashes_are_within_a_few_bits_of_the_reference(stem):
    reference = [line.split(",") for line in (VIDEOS / f"{stem}.vpdq.txt").read_text().split()]
    frames = video_hashes((VIDEOS / f"{stem}.mp4").read_bytes()).vpdq
    assert [f[0] for f in frames] == [int(r[0]) for r in reference]
    assert all(abs(f[3] - float(r[3])) < 0.002 and abs(f[1] - int(r[1])) <= 1 for f, r in zip(frames, reference))
    distances = sorted(hamming(r[2], f[2]) for r, f in zip(reference, frames))
    # SD frames agree within 6 bits; the HD clip (hashed scaled to 1024 wide) within 12, median 4.
    assert distances[-1] <= 12 and distances[len(distances) // 2] <= 4
    assert sum(d <= 8 for d in distances) / len(distances) >= 0.99
