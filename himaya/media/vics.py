"""Hash-list file formats (pure: no Django): VICS JSON 1.3 / 2.0, CSV, plain lines.

VICS (Project VIC / ICSE exchange) is OData JSON: `value[...]` of cases, each with
`Media[...]`; 2.0 may also nest the hashes in `MediaFiles[...]`. Partners send
booleans as strings ("true"/"False") and hex in upper case; both are normalised.
A parser either returns every entry or raises `ListFormatError` naming the first bad
item — an import is all or nothing.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

HEX_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}
HEX = re.compile(r"^[0-9a-fA-F]+$")
ALGORITHM_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64, "vpdq": 64}
CATEGORIES = {"projectvic": {"0", "1", "2", "3", "4"}, "caid": {"A", "B", "C"}, "": None}


class ListFormatError(ValueError):
    pass


@dataclass
class ParsedEntry:
    algorithm: str
    value: str
    media_id: str = ""
    category: str = ""
    victim_identified: bool | None = None
    is_distributed: bool | None = None
    series: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _bool(value: Any, where: str) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ListFormatError(f"{where}: {value!r} is not a boolean")


def _hex(algorithm: str, value: Any, where: str) -> str:
    text = str(value).strip().lower()
    if len(text) != ALGORITHM_LENGTHS[algorithm] or not HEX.match(text):
        raise ListFormatError(f"{where}: {value!r} is not a {algorithm.upper()} hash")
    return text


def check_category(category: str, scheme: str, where: str) -> str:
    category = category.strip()
    if scheme == "caid":
        category = category.upper().removeprefix("CATEGORY ").strip()
    allowed = CATEGORIES.get(scheme)
    if category and allowed is not None and category not in allowed:
        raise ListFormatError(f"{where}: category {category!r} is not in the {scheme} scheme ({', '.join(sorted(allowed))})")
    return category


_MAPPED = {"MediaID", "Category", "VictimIdentified", "IsDistributed", "Series", "MD5", "SHA1", "SHA256", "PhotoDNA", "MediaFiles"}


def _vics_media(item: dict[str, Any], where: str, scheme: str) -> Iterator[ParsedEntry]:
    if not isinstance(item, dict):
        raise ListFormatError(f"{where}: a Media item must be an object")
    common = dict(
        media_id=str(item.get("MediaID", "") or ""),
        category=check_category("" if item.get("Category") is None else str(item["Category"]), scheme, where),  # 0 is a category
        victim_identified=_bool(item.get("VictimIdentified"), f"{where}.VictimIdentified"),
        is_distributed=_bool(item.get("IsDistributed"), f"{where}.IsDistributed"),
        series=str(item.get("Series", "") or "")[:300],
    )
    # Other scalar fields (MediaSize, IsPrecategorized, DateUpdated, Tags...) are kept as received.
    common["extra"] = {k: v for k, v in item.items() if k not in _MAPPED and isinstance(v, (str, int, float, bool)) and len(str(v)) <= 500}
    sources = [item] + [f for f in item.get("MediaFiles", []) or [] if isinstance(f, dict)]
    found = 0
    for source in sources:
        for key, algorithm in (("MD5", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256")):
            if source.get(key):
                found += 1
                yield ParsedEntry(algorithm=algorithm, value=_hex(algorithm, source[key], f"{where}.{key}"), **common)
        if source.get("PhotoDNA"):
            found += 1
            yield ParsedEntry(algorithm="photodna", value=str(source["PhotoDNA"]).strip(), **common)
    if not found:
        raise ListFormatError(f"{where}: no MD5, SHA1 or PhotoDNA")


def parse_vics(data: bytes, *, scheme: str = "projectvic") -> tuple[str, list[ParsedEntry]]:
    """Returns (VICS version, entries)."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ListFormatError(f"not VICS JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("value"), list):
        raise ListFormatError("not VICS JSON: no top-level \"value\" list")
    version = "2.0" if "@odata.context" in doc else "1.3"
    entries: list[ParsedEntry] = []
    for i, case in enumerate(doc["value"]):
        if not isinstance(case, dict):
            raise ListFormatError(f"value[{i}] must be an object")
        media = case.get("Media")
        if media is None:
            # The Media entity set ("$metadata#Media"): value[] holds the media items themselves.
            entries.extend(_vics_media(case, f"value[{i}]", scheme))
            continue
        if not isinstance(media, list):
            raise ListFormatError(f"value[{i}].Media must be a list")
        for k, item in enumerate(media):
            entries.extend(_vics_media(item, f"value[{i}].Media[{k}]", scheme))
    if not entries:
        raise ListFormatError("the file lists no hashes")
    return version, entries


def parse_csv(data: bytes, *, scheme: str = "") -> list[ParsedEntry]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ListFormatError(f"not UTF-8 text: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip().lower(): c for c in reader.fieldnames or []}
    algorithms = [a for a in ("md5", "sha1", "sha256", "pdq", "vpdq", "photodna") if a in columns]
    if not algorithms:
        raise ListFormatError("CSV needs a header with at least one of md5, sha1, sha256, pdq, vpdq, photodna")
    if "vpdq" in algorithms and "media_id" not in columns:
        raise ListFormatError("vpdq frame hashes need a media_id column naming the video they belong to")
    entries: list[ParsedEntry] = []
    for n, row in enumerate(reader, start=2):
        where = f"line {n}"
        get = lambda key: (row.get(columns[key]) or "").strip() if key in columns else ""  # noqa: E731
        common = dict(
            media_id=get("media_id")[:100],
            category=check_category(get("category"), scheme, where),
            series=get("series")[:300],
            victim_identified=_bool(get("victim_identified") or None, f"{where} victim_identified"),
            is_distributed=_bool(get("is_distributed") or None, f"{where} is_distributed"),
        )
        values = 0
        for algorithm in algorithms:
            value = get(algorithm)
            if value:
                values += 1
                value = value if algorithm == "photodna" else _hex(algorithm, value, where)
                entries.append(ParsedEntry(algorithm=algorithm, value=value, **common))
        if not values:
            raise ListFormatError(f"{where}: no hash")
    if not entries:
        raise ListFormatError("the file lists no hashes")
    return entries


def parse_lines(data: bytes, *, algorithm: str = "") -> list[ParsedEntry]:
    """One hash a line; `algorithm:hash` names it, else its length does (64 digits are SHA-256 unless algorithm="pdq")."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ListFormatError(f"not UTF-8 text: {exc}") from exc
    entries = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, value = line.rpartition(":")
        name = name.strip().lower().replace("-", "") or algorithm
        if not name:
            name = HEX_LENGTHS.get(len(value), "")
        if name not in ALGORITHM_LENGTHS:
            raise ListFormatError(f"line {n}: cannot tell which hash {line[:80]!r} is")
        entries.append(ParsedEntry(algorithm=name, value=_hex(name, value, f"line {n}")))
    if not entries:
        raise ListFormatError("the file lists no hashes")
    return entries


def export_vics(*, name: str, version: int, entries: list[dict[str, Any]]) -> bytes:
    """VICS 2.0 JSON: one Media item per media_id (or per hash when there is none)."""
    media: dict[str, dict[str, Any]] = {}
    for n, e in enumerate(entries):
        if e["algorithm"] == "vpdq":
            continue  # VICS has no field for video frame hashes; exchange them as CSV
        key = e.get("media_id") or f"h{n}"
        item = media.setdefault(key, {"MediaID": e.get("media_id") or str(len(media) + 1)})
        field_name = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256", "photodna": "PhotoDNA", "pdq": "PDQ"}[e["algorithm"]]
        item[field_name] = e["value"].upper() if e["algorithm"] in ("md5", "sha1", "sha256") else e["value"]
        if e.get("category"):
            item["Category"] = int(e["category"]) if e["category"].isdigit() else e["category"]
        if e.get("series"):
            item["Series"] = e["series"]
        for key_, out in (("victim_identified", "VictimIdentified"), ("is_distributed", "IsDistributed")):
            if e.get(key_) is not None:
                item[out] = e[key_]
    doc = {
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Cases",
        "value": [{"CaseID": name, "SourceApplicationName": "Himaya", "SourceApplicationVersion": str(version), "Media": list(media.values())}],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode()


def entry_dict(entry: ParsedEntry) -> dict[str, Any]:
    return asdict(entry)
