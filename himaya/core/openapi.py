"""How /api/ refuses a request, and how the OpenAPI schema says so (SPEC §4.3).

* Every error under /api/ is JSON: `{"detail": "..."}`; invalid input adds the messages
  per field, `{"detail": "...", "errors": {"field": ["..."]}}`. Django's own 404 and 500
  pages answer the same way under /api/ (`not_found`, `server_error`, set in config/urls.py).
* Query parameters are validated, never ignored: `reviewed=2183` is a 400, not "no filter"
  (`QueryFilterBackend`, `BooleanFilter`, `IntegerFilter`).
* `add_error_responses` (a drf-spectacular postprocessing hook) documents on every operation
  the answers any view can give: 400 where it takes parameters or a body, 401, 403, 404 where
  it names an object or a page, 429 (too many bad tokens from one address), and the 414 and
  431 the web server itself (gunicorn) answers, as HTML, before Himaya sees the request.
  What a view documents itself (`extend_schema(responses=...)`) is kept.
"""
from __future__ import annotations

from datetime import UTC
from typing import Any

import django_filters
from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import APIException

API_PREFIX = "/api/"
ERROR_COMPONENT = "ApiError"
NO_NUL = "^[^\\x00]*$"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "what went wrong, for a person"},
        "errors": {"type": "object", "additionalProperties": True,
                   "description": "invalid input only: the messages per parameter or field"},
    },
    "required": ["detail"],
}


def first_message(errors: Any) -> str:
    """The first message of a form's or serializer's errors, named by its field."""
    if isinstance(errors, dict):
        for field, value in errors.items():
            message = first_message(value)
            return message if field in ("__all__", "non_field_errors") else f"{field}: {message}"
    if isinstance(errors, list) and errors:
        return first_message(errors[0])
    return str(errors)


class InvalidQuery(APIException):
    status_code = 400
    default_detail = _("Invalid query parameter.")
    default_code = "invalid_query"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__({"detail": first_message(errors), "errors": errors})


class QueryFilterBackend(DjangoFilterBackend):
    """django-filter's backend, answering invalid query parameters 400 `{"detail", "errors"}`."""

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        # An empty value is "not given" only for text; `reviewed=` or `ordering=` is an error, as `reviewed=2183` is.
        empty = {name: [str(_("This parameter needs a value."))] for name, f in filterset.filters.items()
                 if not isinstance(f, django_filters.CharFilter) and "" in request.query_params.getlist(name)}
        if empty or not filterset.is_valid():
            raise InvalidQuery(empty or {name: [str(m) for m in messages] for name, messages in filterset.errors.items()})
        return filterset.qs


class StrictBooleanField(forms.NullBooleanField):
    """`true`/`false` (or `1`/`0`); anything else is an error, not "no filter"."""

    VALUES = {"true": True, "1": True, "false": False, "0": False}
    widget = forms.TextInput  # the raw value: NullBooleanSelect would read "2183" as "no filter"

    def to_python(self, value: Any) -> bool | None:
        if value in (None, "") or isinstance(value, bool):
            return value if isinstance(value, bool) else None
        try:
            return self.VALUES[str(value).strip().lower()]
        except KeyError:
            raise forms.ValidationError(_("Enter true or false."), code="invalid") from None

    def validate(self, value: Any) -> None:
        return None


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 moment, in UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO and Python accept."""

    def to_python(self, value: Any) -> Any:
        moment = super().to_python(value)
        try:
            return moment.astimezone(UTC) if moment is not None and moment.tzinfo is not None else moment
        except OverflowError:
            raise forms.ValidationError(_("Enter a valid date/time."), code="invalid") from None


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.NumberFilter):
    """A whole number (an id, a score): `1.5` is an error, not `1`."""

    field_class = forms.IntegerField


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": str(_("Not found."))}, status=404, json_dumps_params={"ensure_ascii": False})
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": str(_("A server error occurred."))}, status=500, json_dumps_params={"ensure_ascii": False})
    return defaults.server_error(request)


def _json(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}}}


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the error answers every operation can give."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "put", "patch", "post", "delete") or not isinstance(operation, dict):
                continue
            parameters = operation.get("parameters", [])
            for parameter in parameters:  # Django's forms refuse NUL in text, as PostgreSQL does
                schema = parameter.get("schema", {})
                if schema.get("type") == "string" and not ({"enum", "format", "pattern"} & set(schema)):
                    schema["pattern"] = NO_NUL
            query = [p for p in parameters if p.get("in") == "query"]
            names_object = any(p.get("in") == "path" for p in parameters) or any(p.get("name") == "page" for p in query)
            errors: dict[str, dict[str, Any]] = {}
            if "requestBody" in operation or any(p.get("name") != "page" for p in query):
                errors["400"] = _json("invalid parameters or body: `detail`, and `errors` per parameter or field")
            errors["401"] = _json("no credentials, or an invalid, expired or revoked token")
            errors["403"] = _json("the caller's role may not do this")
            if names_object:
                errors["404"] = _json("no such object or page for the caller (another unit's objects included)")
            errors["429"] = _json("too many failed authentications from this address; try again later (Retry-After)")
            errors["414"] = _html("the request line is longer than the web server accepts (gunicorn: 4094 bytes); its HTML page")
            errors["431"] = _html("a request header is larger than the web server accepts (gunicorn: 8190 bytes); its HTML page")
            responses = operation.setdefault("responses", {})
            for code, response in errors.items():
                responses.setdefault(code, response)
    return result
