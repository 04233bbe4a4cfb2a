"""PDQ and vPDQ reproduce Meta's reference values (pure: no database).

The comparisons with Meta's published values run where the reference folder exists (CI);
elsewhere they are skipped with that reason and the rest runs on the benign images the package ships."""
from __future__ import annotations

import csv
import io

import pytest
from PIL import Image

from himaya.media.hashing import Undecodable, image_hashes, media_hashes, video_hashes
from tests.conftest import PDQ_IMAGES, REFERENCE, needs_reference
from tests.media.fixtures import BRIDGE, benign, drawn_video

VIDEOS = REFERENCE / "pdq" / "videos"
EXPECTED_CSV = REFERENCE / "pdq" / "expected.csv"
EXPECTED = {row["path"].removeprefix("images/"): row for row in csv.DictReader(EXPECTED_CSV.open())} if EXPECTED_CSV.is_file() else {}


def hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


@needs_reference
@pytest.mark.parametrize("name", sorted(EXPECTED) or ["(reference absent)"])
def test_pdq_reproduces_the_reference_exactly_in_every_pillow_mode(name):
    hashes = image_hashes((PDQ_IMAGES / name).read_bytes())
    assert (hashes.pdq, hashes.pdq_quality) == (EXPECTED[name]["pdq"], int(EXPECTED[name]["pdq_quality"]))
    assert hashes.pdq_dihedral[0] == hashes.pdq and len(hashes.pdq_dihedral) == 8


# Meta's published values (ThreatExchange pdq/expected.csv) for the images the package ships, byte-identical
# to the reference's: the one anchor a fresh clone has (every other media test hashes with the code under test).
SHIPPED_EXPECTED = {
    "blur-a-lot.jpg": ("f8f8f0cee0f4a84f0637022a038f67f0b36e26d596621e1d33e6b39c4e9c9b22", 100),
    "mode-1.png": ("f8f8f0cee0f4a84f06370a22038f67f0b36e2ed596221e1d33e6b39c4e9c9b22", 100),
    "shrink-a-lot.jpg": ("d0f8f1ccc0f4a84d0a370a3a228f67f0b36e2ed5b6623e1d33e6339c4e9c9b22", 100),
    "small.jpg": ("0007001f003f003f007f00ff00ff00ff01ff01ff01ff03ff03ff03ff03ff03ff", 0),
    "square-128x128.jpg": ("d8f8f1eec0f4a84f0e37022a078f63f0b36e2ed596621e1d33e6239c4e9c9b22", 100),
    "square-256x256.jpg": ("d8f8f0cec4f4a84f0637022a078f67f0b36e2ee5b6621e1d33e6239c4e9c9b22", 100),
    "square-512x512.jpg": ("d8f8f0cec0f4a84f0637022a278f67f0b36e2ed596621e1d33e6339c4e9c9b22", 100),
    "wee.jpg": ("6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d", 100),
}


@pytest.mark.parametrize("name", sorted(SHIPPED_EXPECTED))
def test_pdq_of_the_shipped_images_is_metas_published_value(name):
    from himaya.demo.generator import IMAGES_DIR

    hashes = image_hashes((IMAGES_DIR / name).read_bytes())
    assert (hashes.pdq, hashes.pdq_quality) == SHIPPED_EXPECTED[name]


def test_rotated_and_mirrored_copies_appear_among_the_dihedral_hashes():
    original = Image.open(io.BytesIO(benign(BRIDGE))).convert("RGB")
    dihedral = image_hashes(benign(BRIDGE)).pdq_dihedral
    for op in (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270, Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM):
        out = io.BytesIO()
        original.transpose(op).save(out, format="PNG")
        copy = image_hashes(out.getvalue()).pdq
        assert hamming(copy, dihedral[0]) > 31  # the plain hash would miss it...
        assert min(hamming(copy, d) for d in dihedral) <= 10  # ...a dihedral hash finds it


@pytest.mark.parametrize("data, reason", [
    (b"not an image at all", "not an image format"),
    (benign(BRIDGE)[:600], "could not be decoded"),
    (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "video could not be decoded"),
])
def test_undecodable_content_says_why(data, reason):
    with pytest.raises(Undecodable, match=reason):
        media_hashes(data)


@needs_reference
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


def test_a_clip_is_hashed_frame_by_frame_with_times_and_qualities():
    frames = video_hashes(drawn_video(1)).vpdq
    assert [f[0] for f in frames] == list(range(30)) and [f[3] for f in frames[:3]] == [0.0, 0.1, 0.2]
    assert all(len(f[2]) == 64 and 50 <= f[1] <= 100 for f in frames)
    assert media_hashes(drawn_video(1)).kind == "video" and frames != video_hashes(drawn_video(2)).vpdq
