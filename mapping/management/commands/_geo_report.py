"""What the geography commands share: printing an import report (boundaries, populations) and building the
coverage view a report or map command draws, as the operator or as a named user."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from mapping.coverage_selectors import OutOfScope, coverage_view, district_points
from stakeholders.geography import GeographyIndex


def command_coverage_view(*, as_user: str | None, state: str | None, **view_options):
    """The coverage view for `--as-user` (None: the operator's view of every district) within `--state`."""
    user = None
    if as_user:
        user = get_user_model().objects.filter(username=as_user, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {as_user!r}.")
    state_id = None
    if state:
        found, message = GeographyIndex.load().match_state(state)
        if found is None:
            raise CommandError(message)
        state_id = found.pk
    try:
        return coverage_view(user, state_id=state_id, districts=district_points(), **view_options)
    except OutOfScope:
        raise CommandError(f"{as_user or 'This user'} may not see coverage{' of ' + state if state else ''}.") from None


def write_report(command, report, *, unit: str, verbosity: int = 1) -> None:
    """Warnings and lists on stderr, so stdout stays the one-line result."""
    err, style = command.stderr, command.style
    for warning in report.warnings:
        err.write(style.WARNING(warning))
    for line, label in report.no_geometry:
        err.write(f"{unit} {line}: {label} has no geometry; skipped.")
    if report.unmatched:
        err.write(style.WARNING(f"Not matched ({len(report.unmatched)}):"))
        for line, label, why in report.unmatched:
            err.write(f"  {unit} {line}: {label}: {why}")
    if report.loose:
        err.write(style.WARNING(f"Matched loosely, please check ({len(report.loose)}):"))
        for line, label, ours, _method in report.loose:
            err.write(f"  {unit} {line}: {label} -> {ours}")
    if report.unmatched_ours and verbosity >= 1:
        what = "districts" if report.level == "district" else "states/UTs"
        err.write(style.WARNING(f"Our {what} without a match in this file ({len(report.unmatched_ours)}):"))
        for name in report.unmatched_ours:
            err.write(f"  {name}")
    for error in report.errors:
        where = f"{unit} {error.line}" + (f", {error.column}" if error.column else "")
        err.write(style.ERROR(f"{where}: {error.message}"))
