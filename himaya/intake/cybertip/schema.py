"""XSD validation of CyberTipline documents, and what the rest of the package
needs to know about the schema's shape (child order, repetition, types).

The shape is read from the packaged XSD when the module is imported, so the
writer, canonical() and the rules follow the schema file rather than a copy of
it typed by hand.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from lxml import etree

XSD_PATH: Path = Path(__file__).with_name("cybertipline-report.xsd")

_XS = "{http://www.w3.org/2001/XMLSchema}"
DOCUMENT_ROOTS = ("report", "fileDetails")
_ALL_ROOTS = ("report", "fileDetails", "reportResponse", "reportDoneResponse")


class SchemaInvalid(Exception):
    """The document does not conform to the XSD (API response code 4100)."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class ElementInfo:
    """One element declaration, as reached by a path from a document root."""

    name: str
    # A named type from the XSD ("person", "phone"), a builtin ("xs:dateTime"),
    # the base of an anonymous simple-content type, or None for anonymous
    # element-only types.
    type_name: str | None
    repeated: bool
    is_all_group: bool = False
    children: tuple[str, ...] = ()
    attributes: Mapping[str, str] = field(default_factory=dict)
    simple_content: bool = True


class _SchemaReader:
    def __init__(self, xsd: etree._ElementTree) -> None:
        root = xsd.getroot()
        self.elements = {e.get("name"): e for e in root.findall(f"{_XS}element")}
        self.complex_types = {t.get("name"): t for t in root.findall(f"{_XS}complexType")}
        self.simple_types = {t.get("name"): t for t in root.findall(f"{_XS}simpleType")}
        self.by_path: dict[str, ElementInfo] = {}

    def walk(self, decl: etree._Element, path: str, *, repeated: bool) -> None:
        name, type_name, type_el = self._resolve(decl)
        if type_el is None or type_el.tag == f"{_XS}simpleType":
            self.by_path[path] = ElementInfo(name=name, type_name=type_name, repeated=repeated)
            return
        attributes: dict[str, str] = {}
        particles: list[tuple[etree._Element, bool]] = []
        is_all = False
        simple_content = False
        for part in type_el:
            if part.tag in (f"{_XS}sequence", f"{_XS}all", f"{_XS}choice"):
                is_all = part.tag == f"{_XS}all"
                particles.extend(self._particles(part, repeated=False))
            elif part.tag == f"{_XS}simpleContent":
                simple_content = True
                extension = part[0] if len(part) else None
                if extension is not None:
                    type_name = type_name or _type_ref(extension.get("base"))
                    attributes.update(_attributes(extension))
            elif part.tag == f"{_XS}attribute":
                attributes[part.get("name")] = _type_ref(part.get("type"))
        children = tuple(self._resolve(p)[0] for p, _ in particles)
        self.by_path[path] = ElementInfo(
            name=name,
            type_name=type_name,
            repeated=repeated,
            is_all_group=is_all,
            children=children,
            attributes=MappingProxyType(attributes),
            simple_content=simple_content,
        )
        for particle, particle_repeated in particles:
            child_name = self._resolve(particle)[0]
            self.walk(particle, f"{path}/{child_name}", repeated=particle_repeated)

    def _particles(self, group: etree._Element, *, repeated: bool) -> list[tuple[etree._Element, bool]]:
        found: list[tuple[etree._Element, bool]] = []
        group_repeated = repeated or _max_occurs(group) > 1
        for item in group:
            if item.tag == f"{_XS}element":
                found.append((item, group_repeated or _max_occurs(item) > 1))
            elif item.tag in (f"{_XS}sequence", f"{_XS}choice", f"{_XS}all"):
                found.extend(self._particles(item, repeated=group_repeated))
        return found

    def _resolve(self, decl: etree._Element) -> tuple[str, str | None, etree._Element | None]:
        ref = decl.get("ref")
        if ref is not None:
            return self._resolve(self.elements[ref])
        name = decl.get("name")
        type_ref = decl.get("type")
        if type_ref is not None:
            local = _type_ref(type_ref)
            if local in self.complex_types:
                return name, local, self.complex_types[local]
            if local in self.simple_types:
                return name, local, self.simple_types[local]
            return name, local, None
        inline = decl.find(f"{_XS}complexType")
        if inline is None:
            inline = decl.find(f"{_XS}simpleType")
        return name, None, inline


def _type_ref(value: str | None) -> str:
    if value is None:
        return "xs:string"
    return value


def _max_occurs(el: etree._Element) -> int:
    value = el.get("maxOccurs", "1")
    return 1_000_000 if value == "unbounded" else int(value)


def _attributes(extension: etree._Element) -> dict[str, str]:
    return {a.get("name"): _type_ref(a.get("type")) for a in extension.findall(f"{_XS}attribute")}


def _read_schema() -> dict[str, ElementInfo]:
    reader = _SchemaReader(etree.parse(str(XSD_PATH)))
    for root_name in _ALL_ROOTS:
        reader.walk(reader.elements[root_name], f"/{root_name}", repeated=False)
    return reader.by_path


_BY_PATH: dict[str, ElementInfo] = _read_schema()


def _orders_by_tag() -> dict[str, tuple[str, ...]]:
    orders: dict[str, tuple[str, ...]] = {}
    for info in _BY_PATH.values():
        if info.children and info.name not in orders:
            orders[info.name] = info.children
    return orders


_ORDER_BY_TAG = _orders_by_tag()
ALL_GROUP_TAGS: frozenset[str] = frozenset(i.name for i in _BY_PATH.values() if i.is_all_group)


def element_info(plain_path: str) -> ElementInfo | None:
    """The declaration reached by a path without indexes, e.g. "/report/reporter"."""
    return _BY_PATH.get(plain_path)


def schema_order(parent_tag: str) -> list[str] | None:
    """Declaration order of the children of an element with element content.

    Keyed by tag alone: in this schema every tag that has element content has
    the same content model wherever it appears.
    """
    order = _ORDER_BY_TAG.get(parent_tag)
    return list(order) if order is not None else None


def is_all_group(parent_tag: str) -> bool:
    """Whether the element's children form an xs:all group (any order is valid)."""
    return parent_tag in ALL_GROUP_TAGS


_local = threading.local()
# libxml2's schema compiler is not thread-safe: threads compiling at once fail
# with "Document is not valid XML Schema". Compile one at a time.
_compile_lock = threading.Lock()


def _schema() -> etree.XMLSchema:
    # An XMLSchema object keeps its error log on itself, so two threads
    # validating with one object would read each other's errors.
    schema = getattr(_local, "schema", None)
    if schema is None:
        with _compile_lock:
            schema = etree.XMLSchema(etree.parse(str(XSD_PATH)))
        _local.schema = schema
    return schema


def validate_schema(root: etree._Element, *, expect: str) -> None:
    """Raise SchemaInvalid unless `root` is a valid `<expect>` document.

    `expect` is one of "report", "fileDetails" (also accepted: the two
    response roots, which the tests use to check our own answers).
    """
    if expect not in _ALL_ROOTS:
        raise ValueError(f"unknown document root {expect!r}")
    if root.tag != expect:
        raise SchemaInvalid([f"root element must be <{expect}>, not <{root.tag}>"])
    schema = _schema()
    if schema.validate(root):
        return
    messages = [f"line {error.line}: {error.message}" for error in schema.error_log]
    raise SchemaInvalid(messages or ["document does not conform to the schema"])
