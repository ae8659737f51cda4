"""Charts drawn on the server as inline SVG: no JavaScript, no library, nothing fetched; they print.

Pure functions from plain values to markup. A value may be a number, None (no data) or a suppressed count
("<5"): a suppressed point is not drawn at its height (that would reveal it); it is marked on the axis.
Colours come from CSS classes (`static/css/steering.css`) so the print stylesheet can adapt them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Series:
    label: str
    values: list  # int | float | None | str (suppressed)
    css: str = "s1"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above `value` (an axis maximum people can read)."""
    if value <= 0:
        return 1
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return candidate
    return 10 ** (exponent + 1)


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _fmt(value) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    if isinstance(value, (int, float)):
        return f"{int(value):,}"
    return str(value)


def line_chart(series: list[Series], x_labels: list[str], *, title: str, description: str = "",
               width: int = 760, height: int = 240, label_every: int | None = None) -> SafeString:
    """Lines over a shared x axis (months), with a legend, gridlines and a tooltip per point."""
    left, right, top, bottom = 48, 28, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    count = len(x_labels)
    numbers = [n for s in series for n in (_number(v) for v in s.values) if n is not None]
    top_value = nice_ceiling(max(numbers, default=0))
    step_x = plot_w / max(count - 1, 1)
    label_every = label_every or max(1, math.ceil(count / 12))

    def x(i):
        return left + (i * step_x if count > 1 else plot_w / 2)

    def y(v):
        return top + plot_h - (v / top_value) * plot_h

    parts = [_open(width, height, title, description)]
    for k in range(5):
        value = top_value * k / 4
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}"/>')
        parts.append(f'<text class="axis" x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{_fmt(value)}</text>')
    shown = [i for i in range(count) if i % label_every == 0 or (i == count - 1 and count <= 24)]
    anchors = {i: "middle" for i in shown}
    if count > 1 and shown and shown[-1] == count - 1:
        # The last label sits under its point when it fits, else ends there; a label it would touch is dropped.
        last_width = _text_width(x_labels[-1])
        anchors[count - 1] = "middle" if x(count - 1) + last_width / 2 <= width else "end"
        last_left = x(count - 1) - (last_width / 2 if anchors[count - 1] == "middle" else last_width)
        shown = [i for i in shown if i == count - 1 or x(i) + _text_width(x_labels[i]) / 2 + 4 <= last_left]
    for i in shown:
        parts.append(f'<text class="axis" x="{x(i):.1f}" y="{height - 8}" text-anchor="{anchors[i]}">{escape(x_labels[i])}</text>')
    for s in series:
        path, segment = [], []
        for i, value in enumerate(s.values):
            number = _number(value)
            if number is None:
                if segment:
                    path.append(segment)
                segment = []
                if value is not None:  # suppressed: a mark on the axis, never a height
                    parts.append(
                        f'<g class="suppressed {s.css}"><circle cx="{x(i):.1f}" cy="{top + plot_h:.1f}" r="3"/>'
                        f'<title>{escape(x_labels[i])}: {escape(s.label)} {escape(value)}</title></g>'
                    )
                continue
            segment.append((x(i), y(number), i, value))
        if segment:
            path.append(segment)
        for points in path:
            d = " ".join(f"{'M' if j == 0 else 'L'}{px:.1f},{py:.1f}" for j, (px, py, _i, _v) in enumerate(points))
            parts.append(f'<path class="line {s.css}" d="{d}"/>')
            for px, py, i, value in points:
                parts.append(
                    f'<circle class="dot {s.css}" cx="{px:.1f}" cy="{py:.1f}" r="{2.5 if count > 36 else 3.5}">'
                    f"<title>{escape(x_labels[i])}: {escape(s.label)} {_fmt(value)}</title></circle>"
                )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def bar_chart(rows: list[tuple[str, object]], *, title: str, description: str = "", width: int = 480,
              bar_height: int = 26, css: str = "s1") -> SafeString:
    """Horizontal bars, one per row (label, value), the value written at the end of the bar."""
    left, right, top = 130, 56, 6
    height = top * 2 + bar_height * max(len(rows), 1)
    numbers = [n for n in (_number(v) for _l, v in rows) if n is not None]
    top_value = nice_ceiling(max(numbers, default=0))
    plot_w = width - left - right
    parts = [_open(width, height, title, description)]
    for i, (label, value) in enumerate(rows):
        y = top + i * bar_height
        parts.append(
            f'<text class="label" x="{left - 8}" y="{y + bar_height * 0.68:.1f}" text-anchor="end">{escape(_short(label))}</text>'
        )
        number = _number(value)
        length = (number / top_value) * plot_w if number is not None else 0
        if number is not None and length > 0:
            parts.append(
                f'<rect class="bar {css}" x="{left}" y="{y + 3}" width="{max(length, 1):.1f}" height="{bar_height - 6}">'
                f"<title>{escape(label)}: {_fmt(value)}</title></rect>"
            )
        parts.append(
            f'<text class="value" x="{left + length + 6:.1f}" y="{y + bar_height * 0.68:.1f}">{escape(_fmt(value)) if value is not None else "—"}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _text_width(text: str) -> float:
    """About how wide a label is drawn (11px sans-serif: digits and most letters about 6.2px)."""
    return 6.2 * len(str(text))


def _short(text: str, limit: int = 22) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open(width: int, height: int, title: str, description: str) -> str:
    desc = f"<desc>{escape(description)}</desc>" if description else ""
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title>{desc}'
    )
