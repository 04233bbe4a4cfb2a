"""Write a Node tree back out as a CyberTipline XML document.

Parsing what this writes gives back canonical(node): the same elements,
attributes and leaf text, with xs:all groups in schema order.
"""
from __future__ import annotations

from lxml import etree

from himaya.intake.cybertip.parse import from_lxml
from himaya.intake.cybertip.schema import is_all_group
from himaya.intake.cybertip.tree import Node, sort_children

XSI = "http://www.w3.org/2001/XMLSchema-instance"
_INDENT = "  "

__all__ = ["from_lxml", "to_lxml", "to_xml"]


def to_xml(node: Node, *, xml_declaration: bool = True) -> bytes:
    """UTF-8 bytes of the document, indented with two spaces.

    Indentation goes only between elements of element-only content, never
    inside a leaf, so no value changes.
    """
    body = etree.tostring(to_lxml(node), encoding="UTF-8")
    if xml_declaration:
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"
    return body


def to_lxml(node: Node) -> etree._Element:
    nsmap = {"xsi": XSI} if _uses_xsi(node) else None
    root = etree.Element(node.tag, nsmap=nsmap)
    _fill(root, node, depth=0)
    return root


def _fill(el: etree._Element, node: Node, *, depth: int) -> None:
    for name, value in node.attrs.items():
        el.set(name, value)
    children = sort_children(node.tag, node.children) if is_all_group(node.tag) else node.children
    if node.text is not None:
        # Mixed content is never valid in this schema; if a tree has it anyway,
        # write it without indentation rather than add whitespace to its data.
        el.text = node.text
        for child in children:
            _fill(etree.SubElement(el, child.tag), child, depth=depth + 1)
        return
    if not children:
        return
    inner = "\n" + _INDENT * (depth + 1)
    el.text = inner
    last = len(children) - 1
    for position, child in enumerate(children):
        sub = etree.SubElement(el, child.tag)
        _fill(sub, child, depth=depth + 1)
        sub.tail = inner if position < last else "\n" + _INDENT * depth


def _uses_xsi(node: Node) -> bool:
    prefix = "{" + XSI + "}"
    return any(name.startswith(prefix) for _, n in node.path_iter() for name in n.attrs)
