"""Writing the figures' tables as CSV files or one XLSX workbook (SPEC §4.2).

No Django here beyond turning lazy titles into text: the caller has activated
the language. Every file is written beside its final name and renamed into
place, so a failure leaves no half-written file.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from himaya.stats.figures import Cell, Figures, Measure, Table

FORMATS = ("csv", "xlsx")


def _text(value: object) -> str:
    return str(value) if value is not None else ""


def cell_value(cell: Cell) -> int | float | str | None:
    """What a spreadsheet cell holds: the number, "<5" when suppressed, empty when not applicable."""
    if cell.suppressed:
        return cell.display()
    return cell.value


def table_grid(table: Table, *, label_title: str, as_text: bool = False) -> list[list[object]]:
    """The table as rows of values, its header first; `as_text`: each cell as the
    dashboard shows it ("12", "3.5", "<5", empty when not applicable)."""
    grid: list[list[object]] = [[label_title, *(_text(c.title) for c in table.columns)]]
    for row in table.rows:
        cells = [("" if c.value is None and not c.suppressed else c.display()) if as_text else cell_value(c) for c in row.cells]
        grid.append([_text(row.label), *cells])
    return grid


def _atomic_write(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(data)
        name = tmp.name
    try:
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def file_stem(figures: Figures) -> str:
    return f"himaya-stats-{figures.period.label}{'-external' if figures.external else ''}"


def write_csv(figures: Figures, out_dir: Path, *, label_title: str, index_titles: Iterable[str]) -> list[Path]:
    """One CSV per table (`<stem>-<table key>.csv`, UTF-8 with a byte-order mark so
    that spreadsheet programs read Arabic), and an index of the tables with
    their titles and notes."""
    stem = file_stem(figures)
    written: list[Path] = []
    index = io.StringIO()
    index_writer = csv.writer(index)
    index_writer.writerow(list(index_titles))
    for table in figures.all_tables():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for line in table_grid(table, label_title=label_title, as_text=True):
            writer.writerow(line)
        path = out_dir / f"{stem}-{table.key}.csv"
        _atomic_write(path, buffer.getvalue().encode("utf-8-sig"))
        written.append(path)
        index_writer.writerow([table.key, _text(table.title), path.name, _text(table.note)])
    path = out_dir / f"{stem}-index.csv"
    _atomic_write(path, index.getvalue().encode("utf-8-sig"))
    return [path, *written]


def write_xlsx(figures: Figures, out_dir: Path, *, label_title: str, rtl: bool, heading: str, suppressed_note: str) -> list[Path]:
    """One workbook, a sheet per table (named by the table's key), right to left
    for Arabic; the title and note above each table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    first = book.active
    book.remove(first)
    for table in figures.all_tables():
        sheet = book.create_sheet(title=table.key[:31])
        sheet.sheet_view.rightToLeft = rtl
        sheet.append([_text(table.title)])
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append([heading])
        sheet.append([])
        for i, line in enumerate(table_grid(table, label_title=label_title)):
            sheet.append(line)
            if i == 0:
                for cell in sheet[sheet.max_row]:
                    cell.font = Font(bold=True)
        for row in table.rows:
            if row.is_total:
                for cell in sheet[sheet.max_row]:
                    cell.font = Font(bold=True)
        for j, column in enumerate(table.columns, start=2):
            if column.measure is not Measure.COUNT:
                for (cell,) in sheet.iter_rows(min_row=5, min_col=j, max_col=j):
                    if isinstance(cell.value, float):
                        cell.number_format = "0.0"
        sheet.append([])
        if table.note:
            sheet.append([_text(table.note)])
        if figures.external:
            sheet.append([suppressed_note])
        sheet.column_dimensions["A"].width = 48
    buffer = io.BytesIO()
    book.save(buffer)
    path = out_dir / f"{file_stem(figures)}.xlsx"
    _atomic_write(path, buffer.getvalue())
    return [path]
