"""Months as the unit of AHTU returns: parsing "YYYY-MM", ranges, and when a month's return is due.

Pure functions on `datetime.date` (a month is its first day), tested without the database.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
EARLIEST_MONTH = date(2000, 1, 1)


def parse_month(text: str) -> date | None:
    """'2024-03' -> date(2024, 3, 1); None when the text is not a month."""
    match = _MONTH.match(text or "")
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 1900:
        return None
    return date(year, month, 1)


def month_key(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + (month.month - 1) + count
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """Every month from `first` to `last`, both included (empty when last < first)."""
    months, current = [], first_of_month(first)
    last = first_of_month(last)
    while current <= last:
        months.append(current)
        current = add_months(current, 1)
    return months


def last_ended_month(today: date) -> date:
    """The most recent month that is over: the month before `today`'s."""
    return add_months(first_of_month(today), -1)


def due_at(month: date, *, due_day: int, tz: str) -> datetime:
    """The end of the due day in the month after `month`: a return for March filed on 10 April is on time."""
    next_month = add_months(month, 1)
    end = datetime.combine(next_month.replace(day=due_day) + timedelta(days=1), time.min, tzinfo=ZoneInfo(tz))
    return end


def is_late(month: date, first_submitted_at: datetime | None, *, due_day: int, tz: str) -> bool:
    return first_submitted_at is not None and first_submitted_at >= due_at(month, due_day=due_day, tz=tz)
