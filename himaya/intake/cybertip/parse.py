"""Parse untrusted XML from providers, safely, into lxml and into a Node tree.

Anything that is not a plain, well-formed document raises XmlMalformed (API
response code 4110): empty or oversize bodies, syntax errors, and any DOCTYPE
at all, because a DTD is how XXE, billion-laughs and external-DTD attacks get
in and no CyberTipline document needs one. Comments and processing
instructions are dropped: they carry no report data.
"""
from __future__ import annotations

from lxml import etree

from himaya.intake.cybertip.tree import Node

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class XmlMalformed(Exception):
    """The body is not an acceptable XML document (API response code 4110)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _RefuseExternal(etree.Resolver):
    # Belt and braces: the parser options already forbid loading anything,
    # but should libxml2 ever ask, it gets an empty document, never a file.
    def resolve(self, system_url: str, public_id: str, context: object) -> object:
        return self.resolve_string("", context)


def _parser() -> etree.XMLParser:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        strip_cdata=True,
        collect_ids=False,
        remove_blank_text=False,
    )
    parser.resolvers.add(_RefuseExternal())
    return parser


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[etree._Element, Node]:
    """Parse a provider's document; return the lxml root (for XSD validation)
    and the Node tree (for rules and storage)."""
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise XmlMalformed("request body must be bytes")
    if len(data) > max_bytes:
        raise XmlMalformed(f"request body is larger than {max_bytes} bytes")
    if not data.strip():
        raise XmlMalformed("request body is empty")
    try:
        # A new parser per call: lxml parsers are not safe to share between threads.
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        raise XmlMalformed(f"not well-formed XML: {_first_line(str(error))}") from None
    except (etree.LxmlError, ValueError, TypeError, LookupError, MemoryError) as error:
        raise XmlMalformed(f"not well-formed XML: {_first_line(str(error))}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XmlMalformed("a DOCTYPE is not allowed")
    try:
        node = from_lxml(root)
    except _EntityFound:
        raise XmlMalformed("entity references are not allowed") from None
    return root, node


class _EntityFound(Exception):
    pass


def _has_element_content(tag: str) -> bool:
    from himaya.intake.cybertip.schema import schema_order

    return schema_order(tag) is not None


def from_lxml(el: etree._Element) -> Node:
    """The Node tree of an lxml element.

    Whitespace-only text between child elements is layout, not data, and is
    dropped; the text of a leaf element is kept exactly as received.
    """
    if not isinstance(el.tag, str):
        raise _EntityFound()
    return _node(el)


def _node(el: etree._Element) -> Node:
    # Called for every element of every document: plain calls, no keywords.
    children: list[Node] = []
    for child in el:
        if child.tag.__class__ is str:
            children.append(_node(child))
        elif isinstance(child, etree._Entity):
            raise _EntityFound()
        # Comments and processing instructions are not data.
    text: str | None = None
    if not children:
        text = el.text or None
        if text is not None and not text.strip() and _has_element_content(el.tag):
            # An empty container written across lines: layout, not data.
            text = None
    # items(), in document order, is the attributes' list at once; dict(el.attrib) asks for each.
    return Node(el.tag, dict(el.items()), text, children)


def _first_line(message: str) -> str:
    line = message.splitlines()[0] if message else "parse error"
    return line[:300]
