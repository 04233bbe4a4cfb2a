"""A plain, JSON-able tree of a CyberTipline document.

The tree keeps everything a document says (elements, attributes in received
order, leaf text exactly as received) and nothing about how it was spelled
(encoding, CDATA, entity references, indentation, comments). It is what Himaya
stores, so a report can be written back out as an equivalent document.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from himaya.intake.cybertip.schema import is_all_group, schema_order


@dataclass
class Node:
    # Local name; an element in a namespace (never valid in this schema) keeps
    # its Clark name "{uri}name" so that it is not silently made valid.
    tag: str
    # Insertion order is received order; namespaced attributes in Clark notation.
    attrs: dict[str, str] = field(default_factory=dict)
    # Text of a simple-content element exactly as received; None for element
    # content and for empty elements.
    text: str | None = None
    children: list[Node] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"t": self.tag}
        if self.attrs:
            data["a"] = dict(self.attrs)
        if self.text is not None:
            data["x"] = self.text
        if self.children:
            data["c"] = [child.to_json() for child in self.children]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        return cls(
            tag=data["t"],
            attrs=dict(data.get("a", {})),
            text=data.get("x"),
            children=[cls.from_json(child) for child in data.get("c", [])],
        )

    def find(self, tag: str) -> Node | None:
        for child in self.children:
            if child.tag == tag:
                return child
        return None

    def findall(self, tag: str) -> list[Node]:
        return [child for child in self.children if child.tag == tag]

    def child_text(self, tag: str) -> str | None:
        child = self.find(tag)
        return child.text if child is not None else None

    def path_iter(self) -> Iterator[tuple[str, Node]]:
        """Every node with its path from this node, depth-first in document order.

        Paths carry no indexes ("/report/victim/victimPerson/email"), so all
        values of a repeated element share one path.
        """
        stack: list[tuple[str, Node]] = [(f"/{self.tag}", self)]
        while stack:
            path, node = stack.pop()
            yield path, node
            for child in reversed(node.children):
                stack.append((f"{path}/{child.tag}", child))


def canonical(node: Node) -> Node:
    """A copy with the children of xs:all groups in schema declaration order.

    Only xs:all groups may arrive in any order; every other order is either the
    schema's or invalid, so it is kept as received.
    """
    children = [canonical(child) for child in node.children]
    if is_all_group(node.tag):
        children = sort_children(node.tag, children)
    return Node(tag=node.tag, attrs=dict(node.attrs), text=node.text, children=children)


def sort_children(parent_tag: str, children: list[Node]) -> list[Node]:
    order = schema_order(parent_tag) or []
    rank = {tag: position for position, tag in enumerate(order)}
    # Unknown tags go last, keeping their relative order (sorted() is stable).
    return sorted(children, key=lambda child: rank.get(child.tag, len(rank)))


def equivalent(a: bytes | Node, b: bytes | Node) -> bool:
    """Whether two documents say the same thing (elements, attributes, values).

    Attribute order is not significant in XML, so attributes compare as maps.
    """
    return _same(_as_canonical(a), _as_canonical(b))


def _as_canonical(doc: bytes | Node) -> Node:
    if isinstance(doc, Node):
        return canonical(doc)
    # parse imports this module, so import it only when needed.
    from himaya.intake.cybertip.parse import parse_xml

    return canonical(parse_xml(doc)[1])


def _same(a: Node, b: Node) -> bool:
    if a.tag != b.tag or a.attrs != b.attrs or (a.text or None) != (b.text or None):
        return False
    if len(a.children) != len(b.children):
        return False
    return all(_same(x, y) for x, y in zip(a.children, b.children))
