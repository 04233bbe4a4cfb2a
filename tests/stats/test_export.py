"""`himaya stats export`: the external edition hides every count from 1 to 4 and
every total that would give one back; bad input is one clear line, no traceback,
no file."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from himaya.stats.figures import Period, PeriodKind, is_small

pytestmark = pytest.mark.django_db


def _year(load) -> Period:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    return Period.containing(timezone.localdate(load.now), PeriodKind.YEAR)


def _grid(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_external_export_hides_small_counts_and_what_would_reveal_them(caseload, tmp_path):
    from himaya.accounts.permissions import OPERATOR
    from himaya.stats.figures import Measure
    from himaya.stats.selectors import figures_for

    period = _year(caseload)
    call_command("stats", "export", "--period", period.label, "--format", "csv", "--out", str(tmp_path), "--external", "--unit", "stats-a")
    plain = figures_for(user=OPERATOR, period=period, unit_id=caseload.unit.id)
    hidden_somewhere = 0
    for table in plain.all_tables():
        grid = _grid(tmp_path / f"himaya-stats-{period.label}-external-{table.key}.csv")
        shown = {(row.key, col.key): grid[i + 1][j + 1] for i, row in enumerate(table.rows) for j, col in enumerate(table.columns)}
        for (row_key, col_key), text in shown.items():
            column = table.columns[table.column_index(col_key)]
            if column.measure is Measure.COUNT and text != "<5":
                assert not is_small(int(text)), (table.key, row_key, col_key, text)
                assert int(text) == table.value(row_key, col_key)  # what is shown is the true count
            if text == "<5":
                hidden_somewhere += 1
        # no declared sum with exactly one hidden cell: none can be worked back
        for total, parts in table.relations():
            hidden = [ref for ref in (total, *parts) if shown[ref] == "<5"]
            assert len(hidden) != 1, (table.key, total, hidden)
        # nested groups: no two shown stages differ by 1..4
        for chain in table.chains:
            visible = [int(shown[ref]) for ref in chain if shown[ref] != "<5"]
            for outer, inner in zip(visible, visible[1:]):
                assert not is_small(outer - inner), (table.key, chain)
    # the caseload has small counts: the edition did hide some (and the internal one none)
    assert hidden_somewhere >= 10
    call_command("stats", "export", "--period", period.label, "--format", "csv", "--out", str(tmp_path / "internal"), "--unit", "stats-a")
    funnel = _grid(tmp_path / "internal" / f"himaya-stats-{period.label}-funnel.csv")
    assert "<5" not in {cell for line in funnel for cell in line}


def test_external_xlsx_has_no_small_count(caseload, tmp_path):
    from openpyxl import load_workbook

    period = _year(caseload)
    call_command("stats", "export", "--period", period.label, "--format", "xlsx", "--out", str(tmp_path), "--external")
    book = load_workbook(tmp_path / f"himaya-stats-{period.label}-external.xlsx")
    numbers = [c for sheet in book for row in sheet.iter_rows(min_row=5, values_only=True) for c in row[1:] if isinstance(c, int)]
    assert numbers and not [n for n in numbers if is_small(n)]  # targets and times are ≥ 5 minutes; day medians are hidden here
    assert any(c == "<5" for sheet in book for row in sheet.iter_rows(values_only=True) for c in row)


@pytest.mark.parametrize("args,says", [
    (["--period", "2026-13", "--format", "csv"], "month 13 does not exist"),
    (["--period", "last year", "--format", "csv"], "use a year (2026), a quarter (2026-Q3) or a month (2026-07)"),
    (["--period", "2026", "--format", "pdf"], "bad format 'pdf': use csv or xlsx"),
    (["--period", "2026", "--format", "csv", "--tier", "P9"], "bad tier 'P9'"),
    (["--period", "2026", "--format", "csv", "--unit", "nowhere"], "no unit with the code 'nowhere'"),
])
def test_bad_input_is_one_clear_line(db, tmp_path, args, says):
    with pytest.raises(CommandError) as excinfo:
        call_command("stats", "export", *args, "--out", str(tmp_path / "out"))
    assert says in str(excinfo.value)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_unwritable_folder(db, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(CommandError) as excinfo:
        call_command("stats", "export", "--period", "2026", "--format", "csv", "--out", str(blocker))
    assert "is not a folder" in str(excinfo.value)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    import os

    if os.geteuid() != 0:  # root writes anywhere
        with pytest.raises(CommandError) as excinfo:
            call_command("stats", "export", "--period", "2026", "--format", "xlsx", "--out", str(locked))
        assert "cannot write in the folder" in str(excinfo.value)
    with pytest.raises(CommandError) as excinfo:
        call_command("stats", "export", "--period", "2026", "--format", "csv", "--out", "/proc/himaya-stats")
    assert "cannot create the folder /proc/himaya-stats" in str(excinfo.value)


def test_the_command_line_without_a_traceback(db, tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "himaya", "stats", "export", "--period", "2026-Q5", "--format", "csv", "--out", str(tmp_path)],
                            capture_output=True, text=True, env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"})
    assert result.returncode != 0
    assert "bad period '2026-Q5'" in result.stderr and "Traceback" not in result.stderr


def test_rebuild_command(caseload):
    from himaya.audit.models import AuditEvent
    from himaya.stats.models import MonthlyCount

    out = __import__("io").StringIO()
    call_command("stats", "rebuild", stdout=out)
    assert "statistics rebuilt:" in out.getvalue() and MonthlyCount.objects.exists()
    assert AuditEvent.objects.filter(action="stats.rebuilt").count() == 1
