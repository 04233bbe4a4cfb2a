"""`himaya exchange ...` (SPEC §4.2): keys, partners, referral packages and their
receipts and outcomes; hash sets and identifier matching (himaya.exchange.matching,
himaya.exchange.hashsets).

Each sub-command only parses its arguments and calls a service; errors a user can
act on are `ExchangeError` and come out as one clear line (exit 1)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from himaya.accounts.permissions import OPERATOR
from himaya.exchange.errors import ExchangeError, PackageRefused
from himaya.exchange.models import OutcomeKind


class Command(BaseCommand):
    help = "Exchange with partner units: keys, partners, referral packages, hash sets, identifier matching"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)

        key = sub.add_parser("key", help="this unit's exchange keys")
        key_sub = key.add_subparsers(dest="key_action", required=True)
        export = key_sub.add_parser("export", help="write this unit's public keys and fingerprint (JSON), for partners")
        export.add_argument("--out", required=True)
        export.add_argument("--unit", default=None, help="unit code (default: the national unit)")

        partner = sub.add_parser("partner", help="partner units")
        partner_sub = partner.add_subparsers(dest="partner_action", required=True)
        add = partner_sub.add_parser("add", help="register a partner unit from its exported public keys")
        add.add_argument("name")
        add.add_argument("--country", required=True, help="ISO 3166-1 alpha-2")
        add.add_argument("--public-key", required=True, dest="public_key", help="the partner's `key export` file")
        add.add_argument("--unit", default=None)
        listing = partner_sub.add_parser("list", help="the registered partner units")
        listing.add_argument("--unit", default=None)

        package = sub.add_parser("package", help="a signed, encrypted referral package of reports for a partner")
        package.add_argument("ids", nargs="+", type=int, metavar="ID")
        package.add_argument("--to", required=True, dest="partner")
        package.add_argument("--out", required=True)
        package.add_argument("--unit", default=None)

        verify = sub.add_parser("verify", help="check a package (exit 1 on any mismatch)")
        verify.add_argument("file")
        verify.add_argument("--unit", default=None)

        imp = sub.add_parser("import", help="import a package after checking all of it")
        imp.add_argument("file")
        imp.add_argument("--unit", default=None)

        ack = sub.add_parser("ack", help="a signed receipt for a referral received from a partner")
        ack.add_argument("package", help="the referral package's id")
        ack.add_argument("--out", required=True)
        ack.add_argument("--unit", default=None)

        outcome = sub.add_parser("outcome", help="report an outcome of a received referral back to its sender")
        outcome.add_argument("package", help="the referral package's id")
        outcome.add_argument("--kind", required=True, choices=OutcomeKind.values)
        outcome.add_argument("--text", default="")
        outcome.add_argument("--out", required=True)
        outcome.add_argument("--unit", default=None)

        # identifier matching and hash sets (himaya.exchange.matching, himaya.exchange.hashsets)
        match = sub.add_parser("match", help="private set intersection of identifiers: call the partner's match-serve")
        match.add_argument("--partner", required=True)
        match.add_argument("--host", required=True)
        match.add_argument("--port", required=True, type=int)
        match.add_argument("--timeout", type=float, default=120.0, help="seconds of silence before giving up (default 120)")
        match.add_argument("--unit", default=None)
        serve = sub.add_parser("match-serve", help="private set intersection of identifiers: wait for the partner's match")
        serve.add_argument("--partner", required=True)
        serve.add_argument("--port", required=True, type=int, help="0: any free port (printed)")
        serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default all)")
        serve.add_argument("--wait", type=float, default=3600.0, help="seconds to wait for the partner (default 3600)")
        serve.add_argument("--timeout", type=float, default=120.0, help="seconds of silence before giving up (default 120)")
        serve.add_argument("--unit", default=None)
        hashset = sub.add_parser("hashset", help="hash sets (VICS) exchanged with partners")
        hashset_sub = hashset.add_subparsers(dest="hashset_action", required=True)
        hs_export = hashset_sub.add_parser("export", help="VICS 2.0 of the material this unit categorised, signed (FILE and FILE.sig)")
        hs_export.add_argument("--out", required=True)
        hs_export.add_argument("--list", action="append", dest="lists", default=None,
                               help="a hash list to export (repeatable; default: every list of the unit's own seizures)")
        hs_export.add_argument("--unit", default=None)
        hs_import = hashset_sub.add_parser("import", help="a partner's VICS as a hash list, with its provenance")
        hs_import.add_argument("file")
        hs_import.add_argument("--partner", required=True)
        hs_import.add_argument("--name", default=None, help="the hash list's name (default: 'PARTNER hash set')")
        hs_import.add_argument("--kind", default="known", help="the list's kind (default known)")
        hs_import.add_argument("--unsigned", action="store_true", help="accept a file without FILE.sig (provenance says so)")
        hs_import.add_argument("--unit", default=None)

        referrals = sub.add_parser("referrals", help="referrals sent and received, with their state")
        referrals.add_argument("--json", action="store_true")
        referrals.add_argument("--unit", default=None)

    @no_translations  # the operator's terminal: messages in English
    def handle(self, *args: Any, **opts: Any) -> None:
        handler = getattr(self, "_" + opts["action"].replace("-", "_"))
        try:
            handler(opts)
        except PackageRefused as exc:
            raise CommandError(f"package refused, nothing imported: {exc}") from exc
        except ExchangeError as exc:
            raise CommandError(str(exc)) from exc

    # -- keys, partners, referrals (himaya.exchange.services) --

    def _key(self, opts: dict[str, Any]) -> None:
        from himaya.exchange.services import unit_key_export

        data = unit_key_export(unit_code=opts["unit"], actor=OPERATOR)
        Path(opts["out"]).write_bytes(data)
        self.stdout.write(f"public keys written to {opts['out']}")

    def _partner(self, opts: dict[str, Any]) -> None:
        from himaya.exchange.selectors import partner_list
        from himaya.exchange.services import partner_add

        if opts["partner_action"] == "add":
            path = Path(opts["public_key"])
            if not path.is_file():
                raise ExchangeError(f"no such file: {path}")
            partner = partner_add(name=opts["name"], country=opts["country"], key_file=path.read_bytes(),
                                  unit_code=opts["unit"], actor=OPERATOR)
            self.stdout.write(f"{partner.name} ({partner.country}): fingerprint {partner.fingerprint}")
            return
        for partner in partner_list(user=OPERATOR, unit_code=opts["unit"]):
            state = "" if partner.active else " (inactive)"
            self.stdout.write(f"{partner.name}\t{partner.country}\t{partner.fingerprint}{state}")

    def _package(self, opts: dict[str, Any]) -> None:
        from himaya.exchange.services import referral_package

        referral, data = referral_package(report_ids=opts["ids"], partner_name=opts["partner"], unit_code=opts["unit"], actor=OPERATOR)
        Path(opts["out"]).write_bytes(data)
        self.stdout.write(f"package {referral.package_id}: {len(opts['ids'])} report(s) for {referral.partner.name}, written to {opts['out']}")

    def _verify(self, opts: dict[str, Any]) -> None:
        from himaya.exchange.services import package_verify

        checked = package_verify(data=_read(opts["file"]), unit_code=opts["unit"], actor=OPERATOR)
        self.stdout.write(f"OK: {checked.kind} package {checked.package_id} from {checked.partner.name}, {len(checked.parts)} part(s), signature and every hash verified")

    def _import(self, opts: dict[str, Any]) -> None:
        from himaya.exchange.services import package_import

        result = package_import(data=_read(opts["file"]), unit_code=opts["unit"], actor=OPERATOR)
        self.stdout.write(result.summary)

    def _ack(self, opts: dict[str, Any]) -> None:
        from himaya.exchange.services import referral_acknowledge

        data = referral_acknowledge(package_id=opts["package"], unit_code=opts["unit"], actor=OPERATOR)
        Path(opts["out"]).write_bytes(data)
        self.stdout.write(f"receipt written to {opts['out']}")

    def _outcome(self, opts: dict[str, Any]) -> None:
        from himaya.exchange.services import referral_report_outcome

        data = referral_report_outcome(package_id=opts["package"], kind=opts["kind"], text=opts["text"],
                                       unit_code=opts["unit"], actor=OPERATOR)
        Path(opts["out"]).write_bytes(data)
        self.stdout.write(f"outcome package written to {opts['out']}")

    # -- identifier matching and hash sets --

    def _match(self, opts: dict[str, Any]) -> None:
        from himaya.exchange.matching import match_with_partner

        session = match_with_partner(partner_name=opts["partner"], host=opts["host"], port=opts["port"], unit_code=opts["unit"],
                                     timeout=opts["timeout"], actor=OPERATOR)
        self._matched(session)

    def _match_serve(self, opts: dict[str, Any]) -> None:
        from himaya.exchange.matching import match_serve

        def listening(host: str, port: int) -> None:
            self.stdout.write(f"listening on {host}:{port} for {opts['partner']}")
            self.stdout.flush()

        def refused(address: str, reason: str) -> None:
            self.stderr.write(f"refused {address}: {reason}")

        session = match_serve(partner_name=opts["partner"], port=opts["port"], host=opts["host"], unit_code=opts["unit"],
                              wait=opts["wait"], timeout=opts["timeout"], on_listening=listening, on_refused=refused, actor=OPERATOR)
        self._matched(session)

    def _matched(self, session: Any) -> None:
        self.stdout.write(f"matched with {session.partner.name}: {session.matched} of our {session.offered} identifiers "
                          f"are also known to the partner (it offered {session.partner_offered}, found {session.partner_matched})")
        for m in session.matches.order_by("kind", "display"):
            self.stdout.write(f"{m.kind}\t{m.display}")

    def _hashset(self, opts: dict[str, Any]) -> None:
        from himaya.exchange.hashsets import hashset_export, hashset_import

        if opts["hashset_action"] == "export":
            exported = hashset_export(lists=opts["lists"], unit_code=opts["unit"], actor=OPERATOR)
            Path(opts["out"]).write_bytes(exported.data)
            Path(opts["out"] + ".sig").write_bytes(exported.signature)
            self.stdout.write(f"{exported.entries} hash(es) from {', '.join(exported.lists)} written to {opts['out']} (signature {opts['out']}.sig)")
            return
        path = Path(opts["file"])
        sig = Path(opts["file"] + ".sig")
        hash_list = hashset_import(data=_read(opts["file"]), signature=sig.read_bytes() if sig.is_file() else None,
                                   partner_name=opts["partner"], name=opts["name"], kind=opts["kind"], allow_unsigned=opts["unsigned"],
                                   source_name=path.name, unit_code=opts["unit"], actor=OPERATOR)
        self.stdout.write(f"hash list {hash_list.name}: {hash_list.entry_count} hash(es); {hash_list.provenance}")

    def _referrals(self, opts: dict[str, Any]) -> None:
        from himaya.exchange.selectors import referral_list

        rows = [{"package": str(r.package_id), "direction": r.direction, "partner": r.partner.name, "state": r.state,
                 "sent_at": r.sent_at.isoformat(), "acknowledged_at": r.acknowledged_at.isoformat() if r.acknowledged_at else None,
                 "reports": sorted(rep.id for rep in r.reports.all()), "outcomes": [o.kind for o in r.outcomes.all()]}
                for r in referral_list(user=OPERATOR, unit_code=opts["unit"])]
        if opts["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for row in rows:
            self.stdout.write(f"{row['package']}\t{row['direction']}\t{row['partner']}\t{row['state']}\t"
                              f"reports {','.join(map(str, row['reports']))}\t{','.join(row['outcomes'])}")


def _read(name: str) -> bytes:
    path = Path(name)
    if not path.is_file():
        raise ExchangeError(f"no such file: {path}")
    return path.read_bytes()
