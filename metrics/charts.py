"""Geometry for the dashboard's inline SVG charts. Python computes coordinates; the template
writes the markup (so every label is escaped by the template engine)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.dates import WEEKDAYS_ABBR
from django.utils.formats import date_format
from django.utils.html import format_html_join
from django.utils.translation import gettext


def _nice_max(value: float) -> int:
    """A round axis maximum at or above `value` (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def bar_chart(rows: Sequence[dict], *, label_key: str, value_key: str, width: int = 520, bar: int = 22) -> dict:
    """Horizontal bars, one per row: {width, height, bars: [{label, value, x, y, w, row}]}."""
    label_w, gap = 110, 8
    top = _nice_max(max((r[value_key] for r in rows), default=0))
    plot_w = width - label_w - 50
    bars = []
    for i, r in enumerate(rows):
        y = i * (bar + gap)
        bars.append(
            {
                "label": r[label_key],
                "value": r[value_key],
                "x": label_w,
                "y": y,
                "w": max(round(plot_w * r[value_key] / top, 1), 1 if r[value_key] else 0),
                "text_y": y + bar / 2 + 4,
                "row": r,
            }
        )
    return {"width": width, "height": max(len(rows) * (bar + gap), bar), "bar": bar, "label_w": label_w, "bars": bars}


def line_chart(points: Sequence[dict], *, keys: Sequence[str], width: int = 640, height: int = 220) -> dict:
    """Lines over days: {width, height, series: [{key, points: "x,y ..."}], grid, ticks}."""
    left, right, top_pad, bottom = 36, 12, 10, 26
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = _nice_max(max((p[k] for p in points for k in keys), default=0))
    n = len(points)

    def x(i: int) -> float:
        return round(left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2), 1)

    def y(v: float) -> float:
        return round(top_pad + plot_h - plot_h * v / top, 1)

    months: dict[int, str] = {}
    series = []
    for key in keys:
        coords = " ".join(f"{x(i)},{y(p[key])}" for i, p in enumerate(points))
        dots = [
            {"x": x(i), "y": y(p[key]), "value": p[key], "day": p["day"], "url": p.get("url", "")}
            for i, p in enumerate(points)
        ]
        # The dots' markup in one go (a year is 730 dots: the template engine would be the
        # slowest part of the page); format_html_join escapes every value.
        colour = "#16a34a" if key == "solved" else "#2563eb"
        word = gettext("solved") if key == "solved" else gettext("created")
        dots_html = format_html_join(
            "",
            '<a href="{}"><circle cx="{}" cy="{}" r="3" fill="{}"><title>{}: {} {}</title></circle></a>',
            ((d["url"], d["x"], d["y"], colour, _day_label(d["day"], months), d["value"], word) for d in dots),
        )
        series.append({"key": key, "points": coords, "dots": dots, "dots_html": dots_html})
    grid = [{"y": y(top * f), "label": round(top * f)} for f in (0, 0.5, 1)]
    every = max(1, n // 6)
    # date_format with "M j" uses the active language's month abbreviations.
    ticks = [{"x": x(i), "label": date_format(p["day"], "M j")} for i, p in enumerate(points) if i % every == 0]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "baseline": y(0),
        "series": series,
        "grid": grid,
        "ticks": ticks,
        "tick_y": height - 8,
    }


def _day_label(day, months: dict[int, str]) -> str:
    """date_format(day, "M d"), with the month name looked up once per month."""
    if day.month not in months:
        months[day.month] = date_format(day.replace(day=1), "M")
    return f"{months[day.month]} {day.day:02d}"


def weekday_label(iso_weekday: int) -> str:
    """Translated short weekday name, 1 = Monday."""
    return str(WEEKDAYS_ABBR[iso_weekday - 1])


def heat_map(counts: Mapping[tuple[int, int], int], *, cell: int = 22, gap: int = 2) -> dict:
    """Weekday (rows, Monday first) x hour (columns) grid shaded by volume:
    {width, height, cells: [{x, y, value, weekday, hour, shade}], rows, cols}."""
    left, top = 44, 18
    peak = max(counts.values(), default=0)
    cells = []
    for wd in range(1, 8):
        for hour in range(24):
            value = counts.get((wd, hour), 0)
            # 0 -> near white, peak -> full blue, as an opacity for a single fill colour.
            shade = round(0.08 + 0.92 * value / peak, 2) if peak and value else 0.04
            cells.append(
                {
                    "x": left + hour * (cell + gap),
                    "y": top + (wd - 1) * (cell + gap),
                    "value": value,
                    "weekday": wd,
                    "weekday_label": weekday_label(wd),
                    "hour": hour,
                    "shade": shade,
                }
            )
    rows = [{"y": top + (wd - 1) * (cell + gap) + cell / 2 + 4, "label": weekday_label(wd)} for wd in range(1, 8)]
    cols = [{"x": left + h * (cell + gap) + cell / 2, "label": f"{h:02d}"} for h in range(0, 24, 3)]
    return {
        "width": left + 24 * (cell + gap),
        "height": top + 7 * (cell + gap),
        "cell": cell,
        "cells": cells,
        "rows": rows,
        "cols": cols,
        "peak": peak,
    }


def heat_cells_html(chart: dict) -> str:
    """The heat map's cells as markup in one go (168 linked cells; the template engine would
    take longer than the figures' queries); each cell needs a "url". format_html_join escapes
    every value."""
    size = chart["cell"]
    return format_html_join(
        "",
        '<a href="{}"><rect data-weekday="{}" data-hour="{}" x="{}" y="{}" width="{}" height="{}" rx="3" '
        'fill="#2563eb" fill-opacity="{}"><title>{} {}:00: {}</title></rect></a>',
        (
            (
                c["url"],
                c["weekday"],
                c["hour"],
                c["x"],
                c["y"],
                size,
                size,
                str(c["shade"]),
                c["weekday_label"],
                f"{c['hour']:02d}",
                c["value"],
            )
            for c in chart["cells"]
        ),
    )
