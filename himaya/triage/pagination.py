"""A paginator whose count stops at a cap, for lists that grow with the unit
(the triage queue; any other long list can use it).

Django's Paginator runs COUNT(*) over the whole list on every page view; on a
queue of a million reports that alone is most of the SPEC §5 budget (queue page
p95 < 300 ms, bench/RESULTS.md). Nobody reads "1,000,000" differently from
"more than 10,000": the count stops at COUNT_CAP + 1 rows, and past the cap a
page is valid as long as it has rows (one row more than a page is fetched to
know whether there is a next one).
"""
from __future__ import annotations

from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from django.utils.translation import pgettext

# Read when a paginator is made, so that a test can set it small.
COUNT_CAP = 10_000


def grouped(number: int) -> str:
    """Digits in groups of three with the active language's separator. Django's
    Arabic format groups with ".", which reads as a decimal point; the translator
    chooses (Arabic: ٬, U+066C)."""
    return f"{number:,}".replace(",", pgettext("thousands separator", ","))


class CappedPage(Page):
    def __init__(self, object_list: Any, number: int, paginator: CappedPaginator, *, more: bool | None = None) -> None:
        super().__init__(object_list, number, paginator)
        self.more = more  # past the cap: whether a row follows this page

    def has_next(self) -> bool:
        return self.more if self.more is not None else super().has_next()

    def end_index(self) -> int:
        if self.more is None:
            return super().end_index()
        return self.start_index() + len(self) - 1


class CappedPaginator(Paginator):
    """Paginator with `count` at most `cap` + 1; `capped` says the list is longer than `cap`."""

    def __init__(self, object_list: Any, per_page: int, *, cap: int | None = None, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.cap = COUNT_CAP if cap is None else cap

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet):
            # SELECT COUNT(*) FROM (SELECT … LIMIT cap + 1): stops after cap + 1 rows.
            return self.object_list.order_by()[: self.cap + 1].count()
        return min(len(self.object_list), self.cap + 1)

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    @property
    def cap_display(self) -> str:
        return grouped(self.cap)

    def validate_number(self, number: Any) -> int:
        if not self.capped:
            return super().validate_number(number)
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number  # past the counted pages: page() finds out whether it has rows

    def get_page(self, number: Any) -> Page:
        try:
            return super().get_page(number)
        except EmptyPage:  # past the last row of a capped list: the last counted page has rows
            return self.page(self.num_pages)

    def page(self, number: Any) -> Page:
        if not self.capped:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        return CappedPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)

    def _get_page(self, *args: Any, **kwargs: Any) -> Page:
        return CappedPage(*args, **kwargs)
