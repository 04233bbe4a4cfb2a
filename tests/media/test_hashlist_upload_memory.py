"""A hash list uploaded on the page streams to disk (encrypted, intake's upload handler) and is
parsed from there a chunk at a time: the web worker never holds the list whole (issue 18: a 200 MB
list took 6.3 GiB). The list here is 12 MB, far over Django's 2.5 MB in-memory upload threshold."""
from __future__ import annotations

import hashlib
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import encode_multipart

from himaya.media.models import HashEntry, HashList
from tests.media.test_hashlists_ui import login

BOUNDARY = "h8-hashlist-boundary"


@pytest.mark.django_db
def test_a_large_uploaded_list_is_imported_without_reading_it_whole_into_memory():
    client = login("natsup", perms=("manage_hashlists",))
    hashes = b"".join(hashlib.md5(str(n).encode()).hexdigest().encode() + b"\n" for n in range(3_000))
    padding = (b"# " + b"x" * 1_000 + b"\n") * 12_000  # comment lines: a large file that costs the database nothing
    data = hashes + padding
    body = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("national.txt", data), "name": "national", "kind": "known",
                                       "format": "lines", "scheme": "auto", "provenance": "", "algorithm": ""})
    warm = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("w.txt", hashes[:330]), "name": "warm-up", "kind": "known",
                                       "format": "lines", "scheme": "auto", "provenance": "", "algorithm": ""})
    assert client.post("/media/lists/", warm, content_type=f"multipart/form-data; boundary={BOUNDARY}").status_code == 302  # first-use caches
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        response = client.post("/media/lists/", body, content_type=f"multipart/form-data; boundary={BOUNDARY}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    peak -= start
    assert response.status_code == 302, response.content[:500]
    hash_list = HashList.objects.get(name="national")
    assert (hash_list.entry_count, HashEntry.objects.filter(hash_list=hash_list).count()) == (3_000, 3_000)
    assert hash_list.source_sha256 == hashlib.sha256(data).hexdigest()
    # The test client itself holds the request body once (FakePayload) and the page about half as
    # much again; reading the list whole (the old `b"".join(decrypt_stream(...))`) took two more copies.
    assert peak < len(body) * 2, f"peak {peak / 1e6:.1f} MB for a {len(body) / 1e6:.1f} MB upload"
