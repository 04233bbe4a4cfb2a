"""Hostile hash lists get a clear error from the parser, the command and the page,
never a traceback or a 500, and no list is half-created."""
from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from himaya.media.vics import ListFormatError, parse_csv, parse_vics

MD5 = "0" * 31 + "1"
DEEP = b'{"value": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
WRONG_MEDIA_FILES = json.dumps({"value": [{"Media": [{"MD5": MD5, "MediaFiles": 7}]}]}).encode()
HUGE_FIELD = b"md5,series\n" + MD5.encode() + b',"' + b"x" * 200_000 + b'"\n'


@pytest.mark.parametrize("data, words", [
    (DEEP, "nested too deeply"),
    (WRONG_MEDIA_FILES, "MediaFiles must be a list"),
])
def test_vics_parser_names_the_problem(data, words):
    with pytest.raises(ListFormatError, match=words):
        parse_vics(data)


def test_csv_field_over_the_limit_is_a_format_error():
    with pytest.raises(ListFormatError, match="not readable as CSV"):
        parse_csv(HUGE_FIELD)


@pytest.mark.django_db
@pytest.mark.parametrize("data, fmt, words", [
    (DEEP, "vics", "nested too deeply"),
    (WRONG_MEDIA_FILES, "vics", "MediaFiles must be a list"),
    (HUGE_FIELD, "csv", "not readable as CSV"),
])
def test_the_command_refuses_with_a_message_and_creates_nothing(tmp_path, data, fmt, words):
    from himaya.media.models import HashList

    path = tmp_path / f"list.{fmt}"
    path.write_bytes(data)
    with pytest.raises(CommandError, match=words):
        call_command("hashlist", "import", str(path), "--name", "hostile", "--kind", "known", "--format", fmt)
    assert not HashList.objects.filter(name="hostile").exists()
