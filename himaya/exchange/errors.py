"""The exchange's errors. No Django here (himaya.exchange.package is pure): a message
is an English template and its parameters; the pages translate the template
(`translated`), the command line shows the English."""
from __future__ import annotations

from typing import Any


def gettext_noop(message: str) -> str:
    """Marks a message for the catalogue (makemessages reads `gettext_noop`), translated where shown."""
    return message


class ExchangeError(Exception):
    """A package, key or partner that cannot be used, with a message the operator can act on."""

    def __init__(self, message: str, **params: Any) -> None:
        self.template = message
        self.params = params
        super().__init__(message % params if params else message)

    def translated(self) -> str:
        from django.utils.translation import gettext

        return gettext(self.template) % self.params if self.params else gettext(self.template)


class PackageRefused(ExchangeError):
    """A package failed a check: nothing of it was imported."""
