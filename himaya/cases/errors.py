"""The one error of the case services: a request that the workflow or the data
does not allow (a disallowed move, a report already in a case, an unknown user).
Its message is for people (translated); the API answers it with 400."""
from __future__ import annotations


class CaseError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)
