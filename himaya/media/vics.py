"""Hash-list file formats (pure: no Django): VICS JSON 1.3 / 2.0, CSV, plain lines.

VICS (Project VIC / ICSE exchange) is OData JSON: `value[...]` of cases, each with
`Media[...]`; 2.0 may also nest the hashes in `MediaFiles[...]`. Partners send
booleans as strings ("true"/"False") and hex in upper case; both are normalised.
A parser either returns every entry or raises `ListFormatError` naming the first bad
item — an import is all or nothing.

Perceptual hashes travel in VICS 2.0's `AlternativeHashes` list of
`{"HashName", "HashValue"}` pairs (the field VICS 2.0 producers use for hashes beyond
MD5/SHA1, e.g. PhotoDNA): `"PDQ"` for an image, and for a video one `"vPDQ"` pair per
frame hash, in frame order, on the video's Media item.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO

from himaya.media.errors import MessageError, gettext_noop

HEX_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}
HEX = re.compile(r"^[0-9a-fA-F]+$")
ALGORITHM_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64, "vpdq": 64}
CATEGORIES = {"projectvic": {"0", "1", "2", "3", "4"}, "caid": {"A", "B", "C"}, "": None}


class ListFormatError(MessageError, ValueError):
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


def _bool(value: Any, where: str, line: int | None = None) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ListFormatError(gettext_noop("{value} is not a boolean"), where=where, line=line, value=repr(value))


def _hex(algorithm: str, value: Any, where: str, line: int | None = None) -> str:
    text = str(value).strip().lower()
    if len(text) != ALGORITHM_LENGTHS[algorithm] or not HEX.match(text):
        name = {"pdq": "PDQ", "vpdq": "vPDQ"}.get(algorithm, algorithm.upper())
        raise ListFormatError(gettext_noop("{value} is not a {algorithm} hash"), where=where, line=line, value=repr(value), algorithm=name)
    return text


def check_category(category: str, scheme: str, where: str, line: int | None = None) -> str:
    category = category.strip()
    if scheme == "caid":
        category = category.upper().removeprefix("CATEGORY ").strip()
    allowed = CATEGORIES.get(scheme)
    if category and allowed is not None and category not in allowed:
        raise ListFormatError(gettext_noop("category {category} is not in the {scheme} scheme ({allowed})"), where=where, line=line,
                              category=repr(category), scheme=scheme, allowed=", ".join(sorted(allowed)))
    return category


_MAPPED = {"MediaID", "Category", "VictimIdentified", "IsDistributed", "Series", "MD5", "SHA1", "SHA256", "PhotoDNA", "PDQ", "MediaFiles", "AlternativeHashes"}
_ALTERNATIVE = {"md5": "md5", "sha1": "sha1", "sha-1": "sha1", "sha256": "sha256", "sha-256": "sha256", "pdq": "pdq", "vpdq": "vpdq", "photodna": "photodna"}


def _alternative_hashes(source: dict[str, Any], where: str) -> Iterator[tuple[str, str, str]]:
    """(algorithm, value, where) of the AlternativeHashes we match or keep; other names (F1, ImageMark...) are skipped."""
    pairs = source.get("AlternativeHashes") or []
    if not isinstance(pairs, list):
        raise ListFormatError(gettext_noop("AlternativeHashes must be a list"), where=where)
    for k, pair in enumerate(pairs):
        at = f"{where}.AlternativeHashes[{k}]"
        if not isinstance(pair, dict) or not pair.get("HashName") or not pair.get("HashValue"):
            raise ListFormatError(gettext_noop("an alternative hash needs a HashName and a HashValue"), where=at)
        algorithm = _ALTERNATIVE.get(str(pair["HashName"]).strip().lower())
        if algorithm:
            yield algorithm, str(pair["HashValue"]), at


def _vics_media(item: dict[str, Any], where: str, scheme: str) -> Iterator[ParsedEntry]:
    if not isinstance(item, dict):
        raise ListFormatError(gettext_noop("a Media item must be an object"), where=where)
    common = dict(
        media_id=str(item.get("MediaID", "") or ""),
        category=check_category("" if item.get("Category") is None else str(item["Category"]), scheme, where),  # 0 is a category
        victim_identified=_bool(item.get("VictimIdentified"), f"{where}.VictimIdentified"),
        is_distributed=_bool(item.get("IsDistributed"), f"{where}.IsDistributed"),
        series=str(item.get("Series", "") or "")[:300],
    )
    # Other scalar fields (MediaSize, IsPrecategorized, DateUpdated, Tags...) are kept as received.
    common["extra"] = {k: v for k, v in item.items() if k not in _MAPPED and isinstance(v, (str, int, float, bool)) and len(str(v)) <= 500}
    media_files = item.get("MediaFiles") or []
    if not isinstance(media_files, list):
        raise ListFormatError(gettext_noop("MediaFiles must be a list"), where=f"{where}.MediaFiles")
    sources = [item] + [f for f in media_files if isinstance(f, dict)]
    found = 0
    for n, source in enumerate(sources):
        at = where if n == 0 else f"{where}.MediaFiles[{n - 1}]"
        hashes = [(algorithm, source[key], f"{at}.{key}") for key, algorithm in (("MD5", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256"), ("PhotoDNA", "photodna"), ("PDQ", "pdq"))
                  if source.get(key)]
        for algorithm, value, place in [*hashes, *_alternative_hashes(source, at)]:
            found += 1
            entry = ParsedEntry(algorithm=algorithm, value=str(value).strip() if algorithm == "photodna" else _hex(algorithm, value, place), **common)
            if algorithm == "vpdq" and not entry.media_id:
                entry.media_id = where[:100]  # the frames of one video must share an id to be matched together
            yield entry
    if not found:
        raise ListFormatError(gettext_noop("no MD5, SHA1, PhotoDNA, PDQ or vPDQ hash"), where=where)


MAX_DEPTH = 64  # VICS nests a few levels; deeper is hostile
_BOM = b"\xef\xbb\xbf"


class _Prepended:
    """A byte stream with `head` put back in front (what was peeked for a BOM)."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head, self._stream = head, stream

    def read(self, size: int = -1) -> bytes:
        if self._head and size != 0:  # ijson probes with read(0)
            head, self._head = self._head, b""
            return head + self._stream.read(max(size - len(head), 0) if size >= 0 else -1)
        return self._stream.read(size)


def iter_vics(stream: BinaryIO, *, scheme: str = "projectvic", info: dict[str, str] | None = None) -> Iterator[ParsedEntry]:
    """The entries of a VICS document read as a stream of JSON events (ijson): one case (without its
    Media) and one Media item are in memory at a time, whatever the size of the file. `info["version"]`
    is the VICS version ("2.0" with an "@odata.context", else "1.3") once the document has been read."""
    import ijson

    head = stream.read(3)
    events = ijson.parse(_Prepended(b"" if head == _BOM else head, stream), use_float=True)
    version, has_value, found = "1.3", False, 0
    i, depth = -1, 0
    case: Any = None  # the case being built (its Media items are handled one by one)
    case_error = ""  # a case that is not an object: skipped to its end, then refused
    in_media, media_seen, k = False, False, -1
    item: Any = None
    item_depth = 0
    try:
        for prefix, event, value in events:
            if event in ("start_map", "start_array"):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ListFormatError(gettext_noop("not VICS JSON: nested too deeply"))
            elif event in ("end_map", "end_array"):
                depth -= 1
            if prefix == "":
                if event == "map_key" and value == "@odata.context":
                    version = "2.0"
                elif event not in ("start_map", "end_map", "map_key"):
                    raise ListFormatError(gettext_noop("not VICS JSON: no top-level \"value\" list"))
                continue
            if prefix == "value":
                if event == "start_array":
                    has_value = True
                elif event != "end_array":
                    raise ListFormatError(gettext_noop("not VICS JSON: no top-level \"value\" list"))
                continue
            if not prefix.startswith("value.item"):
                continue  # another top-level member
            if prefix == "value.item" and case is None and not case_error:  # a case begins
                i += 1
                if event != "start_map":
                    case_error = "must be an object"
                    if event not in ("start_array",):
                        raise ListFormatError(gettext_noop("must be an object"), where=f"value[{i}]")
                    continue
                case, in_media, media_seen, k = ijson.ObjectBuilder(), False, False, -1
                case.event(event, value)
                continue
            if case_error:
                if prefix == "value.item" and event == "end_array" and depth == 2:
                    raise ListFormatError(gettext_noop("must be an object"), where=f"value[{i}]")
                continue
            if prefix == "value.item.Media":
                if event == "start_array":
                    in_media = True
                elif event == "end_array":
                    in_media = False
                elif event == "null":
                    media_seen = False  # "Media": null is no Media at all
                else:
                    raise ListFormatError(gettext_noop("must be a list"), where=f"value[{i}].Media")
                continue
            if in_media and prefix.startswith("value.item.Media.item"):
                if item is None:
                    k += 1
                    item, item_depth = ijson.ObjectBuilder(), 0
                item.event(event, value)
                item_depth += {"start_map": 1, "start_array": 1, "end_map": -1, "end_array": -1}.get(event, 0)
                if item_depth == 0:
                    for entry in _vics_media(item.value, f"value[{i}].Media[{k}]", scheme):
                        found += 1
                        yield entry
                    item = None
                continue
            if prefix == "value.item" and event == "map_key" and value == "Media":
                media_seen = True
                continue
            case.event(event, value)
            if prefix == "value.item" and event == "end_map":  # the case ends
                if not media_seen:
                    # The Media entity set ("$metadata#Media"): value[] holds the media items themselves.
                    for entry in _vics_media(case.value, f"value[{i}]", scheme):
                        found += 1
                        yield entry
                case = None
    except ijson.JSONError as exc:
        raise ListFormatError(gettext_noop("not VICS JSON: {error}"), error=str(exc)) from None
    if not has_value:
        raise ListFormatError(gettext_noop("not VICS JSON: no top-level \"value\" list"))
    if not found:
        raise ListFormatError(gettext_noop("the file lists no hashes"))
    if info is not None:
        info["version"] = version


def parse_vics(data: bytes, *, scheme: str = "projectvic") -> tuple[str, list[ParsedEntry]]:
    """Returns (VICS version, entries)."""
    info: dict[str, str] = {}
    entries = list(iter_vics(io.BytesIO(data), scheme=scheme, info=info))
    return info["version"], entries


MAX_LINE = 1 << 16  # a hash line or CSV record longer than this is not a hash list


def _text_lines(stream: BinaryIO, *, csv_records: bool = False) -> Iterator[str]:
    """The lines of a UTF-8 byte stream, one at a time (bounded: no line over MAX_LINE bytes)."""
    for n in itertools.count(1):
        raw = stream.readline(MAX_LINE + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE:
            if csv_records:
                raise ListFormatError(gettext_noop("not readable as CSV: {error}"), line=n, error=f"a line longer than {MAX_LINE} bytes")
            raise ListFormatError(gettext_noop("a line longer than {limit} bytes"), line=n, limit=MAX_LINE)
        try:
            yield raw.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise ListFormatError(gettext_noop("not UTF-8 text: {error}"), line=n, error=str(exc)) from exc


def iter_csv(stream: BinaryIO, *, scheme: str = "") -> Iterator[ParsedEntry]:
    """The entries of a CSV list, read a record at a time: memory does not grow with the file."""
    reader = csv.DictReader(_text_lines(stream, csv_records=True))
    try:
        fieldnames = reader.fieldnames or []
    except csv.Error as exc:
        raise ListFormatError(gettext_noop("not readable as CSV: {error}"), line=1, error=str(exc)) from None
    columns = {c.strip().lower(): c for c in fieldnames}
    algorithms = [a for a in ("md5", "sha1", "sha256", "pdq", "vpdq", "photodna") if a in columns]
    if not algorithms:
        raise ListFormatError(gettext_noop("CSV needs a header with at least one of md5, sha1, sha256, pdq, vpdq, photodna"))
    if "vpdq" in algorithms and "media_id" not in columns:
        raise ListFormatError(gettext_noop("vpdq frame hashes need a media_id column naming the video they belong to"))
    found = 0
    while True:
        try:
            row = next(reader, None)
        except csv.Error as exc:
            raise ListFormatError(gettext_noop("not readable as CSV: {error}"), line=reader.line_num, error=str(exc)) from None
        if row is None:
            break
        n = reader.line_num
        get = lambda key: (row.get(columns[key]) or "").strip() if key in columns else ""  # noqa: E731
        common = dict(
            media_id=get("media_id")[:100],
            category=check_category(get("category"), scheme, "category", n),
            series=get("series")[:300],
            victim_identified=_bool(get("victim_identified") or None, "victim_identified", n),
            is_distributed=_bool(get("is_distributed") or None, "is_distributed", n),
        )
        values = 0
        for algorithm in algorithms:
            value = get(algorithm)
            if value:
                values += 1
                value = value if algorithm == "photodna" else _hex(algorithm, value, algorithm, n)
                found += 1
                yield ParsedEntry(algorithm=algorithm, value=value, **common)
        if not values:
            raise ListFormatError(gettext_noop("no hash"), line=n)
    if not found:
        raise ListFormatError(gettext_noop("the file lists no hashes"))


def parse_csv(data: bytes, *, scheme: str = "") -> list[ParsedEntry]:
    return list(iter_csv(io.BytesIO(data), scheme=scheme))


def iter_lines(stream: BinaryIO, *, algorithm: str = "") -> Iterator[ParsedEntry]:
    """One hash a line; `algorithm:hash` names it, else its length does (64 digits are SHA-256 unless algorithm="pdq").
    Read a line at a time: memory does not grow with the file."""
    found = 0
    for n, line in enumerate(_text_lines(stream), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, value = line.rpartition(":")
        name = name.strip().lower().replace("-", "") or algorithm
        if not name:
            name = HEX_LENGTHS.get(len(value), "")
        if name not in ALGORITHM_LENGTHS:
            raise ListFormatError(gettext_noop("cannot tell which hash {text} is"), line=n, text=repr(line[:80]))
        found += 1
        yield ParsedEntry(algorithm=name, value=_hex(name, value, "", n))
    if not found:
        raise ListFormatError(gettext_noop("the file lists no hashes"))


def parse_lines(data: bytes, *, algorithm: str = "") -> list[ParsedEntry]:
    return list(iter_lines(io.BytesIO(data), algorithm=algorithm))


def export_vics(*, name: str, version: int, entries: list[dict[str, Any]]) -> bytes:
    """VICS 2.0 JSON: one Media item per media_id (or per hash when there is none).

    PDQ and vPDQ go in `AlternativeHashes` (a video's frame hashes in their order), so a
    list exported here and imported again matches the same images and videos.
    """
    media: dict[str, dict[str, Any]] = {}
    for n, e in enumerate(entries):
        key = e.get("media_id") or f"h{n}"
        item = media.setdefault(key, {"MediaID": e.get("media_id") or str(len(media) + 1)})
        algorithm = e["algorithm"]
        if algorithm in ("pdq", "vpdq"):
            item.setdefault("AlternativeHashes", []).append({"HashName": "PDQ" if algorithm == "pdq" else "vPDQ", "HashValue": e["value"]})
        else:
            field_name = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256", "photodna": "PhotoDNA"}[algorithm]
            item[field_name] = e["value"].upper() if algorithm in ("md5", "sha1", "sha256") else e["value"]
        if e.get("category"):
            item["Category"] = int(e["category"]) if e["category"].isdigit() else e["category"]
        if e.get("series"):
            item["Series"] = e["series"]
        for key_, out in (("victim_identified", "VictimIdentified"), ("is_distributed", "IsDistributed")):
            if e.get(key_) is not None:
                item[out] = e[key_]
        for extra_key, value in (e.get("extra") or {}).items():
            item.setdefault(extra_key, value)  # MediaSize, DateUpdated, Tags... as received
    doc = {
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Cases",
        "value": [{"CaseID": name, "SourceApplicationName": "Himaya", "SourceApplicationVersion": str(version), "Media": list(media.values())}],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode()


def entry_dict(entry: ParsedEntry) -> dict[str, Any]:
    return asdict(entry)
