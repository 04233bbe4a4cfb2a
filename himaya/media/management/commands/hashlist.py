"""`himaya hashlist import FILE --name N --kind K [--format vics|csv|lines]` and `himaya hashlist export NAME --format vics` (SPEC §4.2)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from himaya.accounts.permissions import OPERATOR
from himaya.media.models import CategoryScheme, ListKind
from himaya.media.services import HASHLIST_FORMATS, MediaError, hashlist_delete, hashlist_export, hashlist_import
from himaya.media.vics import ListFormatError


class Command(BaseCommand):
    help = "Import or export hash lists"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="create or replace a list from a file (all or nothing)")
        imp.add_argument("file")
        imp.add_argument("--name", required=True)
        imp.add_argument("--kind", required=True, choices=ListKind.values)
        imp.add_argument("--format", default="vics", choices=HASHLIST_FORMATS)
        imp.add_argument("--scheme", choices=[c for c in CategoryScheme.values if c], default=None, help="category scheme (default: projectvic for known VICS lists)")
        imp.add_argument("--algorithm", default="", choices=["", "md5", "sha1", "sha256", "pdq"], help="for --format lines: what an unprefixed line is")
        imp.add_argument("--provenance", default="", help="who supplied the list, under what agreement")
        exp = sub.add_parser("export", help="write a list as VICS JSON 2.0")
        exp.add_argument("name")
        exp.add_argument("--format", default="vics", choices=["vics"])
        exp.add_argument("--out", default="-", help="file to write (default: standard output)")
        rm = sub.add_parser("delete", help="remove a list; stored files are re-matched")
        rm.add_argument("name")
        rm.add_argument("--reason", required=True, help="why the list is retired (kept in the audit log)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            if opts["action"] == "import":
                path = Path(opts["file"])
                if not path.is_file():
                    raise CommandError(f"no such file: {path}")
                with path.open("rb") as source:  # streamed: a list of millions is read a line at a time
                    hash_list = hashlist_import(
                        source=source, name=opts["name"], kind=opts["kind"], fmt=opts["format"], scheme=opts["scheme"],
                        provenance=opts["provenance"], source_name=path.name, algorithm=opts["algorithm"], actor=OPERATOR,
                    )
                self.stdout.write(f"{hash_list.name}: version {hash_list.version}, {hash_list.entry_count} hashes ({hash_list.source_format}); re-matching stored files in the background")
            elif opts["action"] == "delete":
                hashlist_delete(name=opts["name"], reason=opts["reason"], actor=OPERATOR)
                self.stdout.write(f"{opts['name']}: deleted; re-matching stored files in the background")
            else:
                data = hashlist_export(name=opts["name"], actor=OPERATOR)
                if opts["out"] == "-":
                    sys.stdout.buffer.write(data + b"\n")
                else:
                    Path(opts["out"]).write_bytes(data)
        except (MediaError, ListFormatError) as exc:
            raise CommandError(str(exc)) from exc
