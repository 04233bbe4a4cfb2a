"""URL converters. `<id:pk>` is a database id: at most 18 digits, so a longer
number in a URL is a 404 like any id that does not exist, never an integer
overflow in the database driver (a 500)."""
from __future__ import annotations


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
