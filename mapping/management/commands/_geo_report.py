"""Printing a geography import report the same way for boundaries and populations."""

from __future__ import annotations


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
