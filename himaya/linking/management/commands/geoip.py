"""`himaya geoip update FILE` replaces the IP-location ranges; `himaya geoip lookup IP` tells where an address is."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from himaya.linking.events import geoip_updated_event
from himaya.linking.geo import install_ranges, locate_ip
from himaya.linking.normalize import normalize_ip
from himaya.linking.services import ranges_file


class Command(BaseCommand):
    help = "Offline IP location: update the ranges file (CSV start,end,country[,region]) or look an address up."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        update = sub.add_parser("update", help="replace the ranges with FILE (CSV: start,end,country[,region]; CIDR in start also accepted)")
        update.add_argument("file", type=Path)
        lookup = sub.add_parser("lookup", help="where is this address")
        lookup.add_argument("ip")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "update":
            path: Path = options["file"]
            try:
                text = path.read_text(encoding="utf-8-sig")
                n = install_ranges(text, ranges_file=ranges_file())
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise CommandError(f"{path}: {exc}") from None
            geoip_updated_event(actor="command:geoip", file_name=path.name, ranges=n)
            self.stdout.write(f"{n} ranges installed in {ranges_file()}")
        else:
            canonical = normalize_ip(options["ip"])
            if canonical is None:
                raise CommandError("not an IP address")
            place = locate_ip(canonical, ranges_file=ranges_file())
            self.stdout.write(f"{canonical}\t{place.country if place else '-'}\t{place.region if place else ''}\t{place.source if place else ''}")
