"""Helpers for the steering tests: returns planted straight into the database with known figures."""

from __future__ import annotations

from datetime import date, datetime, time

from django.utils import timezone

from coordination.indicators import FIELDS
from coordination.models import AhtuReturn, ReturnStatus

ZERO = {name: 0 for name in FIELDS}


def figures(**values) -> dict[str, int]:
    """A full set of figures: zeros, overridden by the given ones."""
    return {**ZERO, **values}


def plant_return(ahtu, month: date, status=ReturnStatus.APPROVED, *, submitted_on: date | None = None, **values) -> AhtuReturn:
    """A return as it would be after its workflow (no events), for aggregates and lists."""
    submitted_at = None
    if status != ReturnStatus.DRAFT:
        day = submitted_on or date(month.year + (month.month == 12), month.month % 12 + 1, 5)
        submitted_at = timezone.make_aware(datetime.combine(day, time(12)))
    return AhtuReturn.objects.create(
        ahtu=ahtu, month=month, status=status, first_submitted_at=submitted_at, submitted_at=submitted_at,
        review_comment="Please check." if status == ReturnStatus.RETURNED else "", **figures(**values),
    )
