"""Errors whose message a page shows in the user's language (pure: no Django).

The message is an English template with `{named}` fields, marked with `gettext_noop`
so `makemessages` collects it; `str(error)` is the English text the command line
prints, and a page translates the template and fills the fields in
(`views.error_text`).
"""
from __future__ import annotations

from typing import Any


def gettext_noop(message: str) -> str:
    """Marks a message for translation without translating it here."""
    return message


class MessageError(Exception):
    def __init__(self, message: str, *, where: str = "", line: int | None = None, **params: Any) -> None:
        self.message, self.where, self.line, self.params = message, where, line, params
        super().__init__(self.render(lambda text: text))

    def render(self, translate: Any) -> str:
        """The message through `translate` (a gettext), prefixed by its line number and place in the file."""
        parts = []
        if self.line is not None:
            parts.append(translate(gettext_noop("line {line}")).format(line=self.line))
        if self.where:
            parts.append(self.where)  # a path in the file (value[0].Media[2].MD5): the same in every language
        parts.append(translate(self.message).format(**self.params))
        return ": ".join(parts)
