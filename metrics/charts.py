"""Geometry for the dashboard's inline SVG charts. Python computes coordinates; the template
writes the markup (so every label is escaped by the template engine)."""

from __future__ import annotations

from collections.abc import Sequence


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

    series = []
    for key in keys:
        coords = " ".join(f"{x(i)},{y(p[key])}" for i, p in enumerate(points))
        dots = [
            {"x": x(i), "y": y(p[key]), "value": p[key], "day": p["day"], "url": p.get("url", "")}
            for i, p in enumerate(points)
        ]
        series.append({"key": key, "points": coords, "dots": dots})
    grid = [{"y": y(top * f), "label": round(top * f)} for f in (0, 0.5, 1)]
    every = max(1, n // 6)
    ticks = [{"x": x(i), "label": p["day"].strftime("%b %d")} for i, p in enumerate(points) if i % every == 0]
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
