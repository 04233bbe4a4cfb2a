"""Import packages written for tests: one folder per report, its report.xml."""
from __future__ import annotations


def package(root, docs: list[bytes]):  # type: ignore[no-untyped-def]
    for n, xml in enumerate(docs):
        folder = root / f"{n:04d}"
        folder.mkdir(parents=True)
        (folder / "report.xml").write_bytes(xml)
    return root
