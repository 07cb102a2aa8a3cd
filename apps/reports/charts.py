"""Model card charts as inline SVG strings (pure Python, no Django, no plotting library).

Every piece of text that comes from the card document is XML-escaped here, because the
returned markup is inserted into the card template unescaped (it is our own SVG).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

WIDTH = 640
HEIGHT = 260
FONT = "CareAlign Sans"
_LEFT, _RIGHT, _TOP = 58, 16, 14
_BOTTOM_FLAT, _BOTTOM_ROTATED = 34, 78
_BAR = "#3b6ea5"
_LINE = "#3b6ea5"
_CI = "#1f2d3d"
_THRESHOLD = "#b03a2e"
_GRID = "#d9dee4"
_AXIS = "#5b6670"
_LABEL_CHARS = 22
_MAX_VALUE_LABELS = 16
_LABEL_PITCH = 11.0


def chart_svg(chart: Mapping[str, Any]) -> str:
    """Return the SVG markup for one chart of the card document (`bar_ci` or `line`)."""
    kind = chart.get("kind")
    if kind == "bar_ci":
        return bar_ci_svg(chart)
    if kind == "line":
        return line_svg(chart)
    raise ValueError(f"unknown chart kind: {kind!r}")


def bar_ci_svg(chart: Mapping[str, Any]) -> str:
    """Bars with confidence-interval error bars, one per series item (specialty, language...)."""
    points = _points(chart)
    scale = _Scale.for_chart(chart, points)
    n = len(points)
    rotate = n > 6
    plot = _Plot(bottom=_BOTTOM_ROTATED if rotate else _BOTTOM_FLAT)
    parts = _frame(chart, scale, plot)
    if not any(p.value is not None for p in points):
        parts.append(_no_data(plot))
        return _svg(chart, parts)

    slot = plot.width / max(n, 1)
    bar_w = min(48.0, slot * 0.6)
    base = plot.y(scale, scale.clamp(0.0))
    for i, p in enumerate(points):
        cx = plot.left + slot * (i + 0.5)
        if i % _label_every(slot) == 0:
            parts.append(_x_label(cx, plot, p.label, rotate))
        if p.value is None:
            parts.append(_text(cx, base - 4, "n/a", anchor="middle", size=9, fill=_AXIS))
            continue
        top = plot.y(scale, scale.clamp(p.value))
        y0, y1 = sorted((top, base))
        parts.append(
            f'<rect x="{_f(cx - bar_w / 2)}" y="{_f(y0)}" width="{_f(bar_w)}" '
            f'height="{_f(max(y1 - y0, 0.5))}" fill="{_BAR}"/>'
        )
        parts.extend(_error_bar(cx, p, scale, plot, cap=min(10.0, bar_w / 2)))
        if n <= _MAX_VALUE_LABELS:
            above = p.value >= 0
            ci_top = p.ci_high if above and p.ci_high is not None else p.value
            ci_bottom = p.ci_low if not above and p.ci_low is not None else p.value
            edge = plot.y(scale, scale.clamp(ci_top if above else ci_bottom))
            y = edge - 4 if above else edge + 11
            parts.append(_text(cx, y, scale.fmt(p.value), anchor="middle", size=9))
    parts.extend(_threshold(chart, scale, plot))
    return _svg(chart, parts)


def line_svg(chart: Mapping[str, Any]) -> str:
    """A metric over the last runs (drift): points in the given order, joined where present."""
    points = _points(chart)
    scale = _Scale.for_chart(chart, points)
    n = len(points)
    rotate = n > 6
    plot = _Plot(bottom=_BOTTOM_ROTATED if rotate else _BOTTOM_FLAT)
    parts = _frame(chart, scale, plot)
    if not any(p.value is not None for p in points):
        parts.append(_no_data(plot))
        return _svg(chart, parts)

    step = plot.width / max(n, 1)
    segment: list[str] = []
    segments: list[list[str]] = []
    markers: list[str] = []
    for i, p in enumerate(points):
        cx = plot.left + step * (i + 0.5)
        if i % _label_every(step) == 0:
            parts.append(_x_label(cx, plot, p.x or p.label, rotate))
        if p.value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        cy = plot.y(scale, scale.clamp(p.value))
        segment.append(f"{_f(cx)},{_f(cy)}")
        markers.extend(_error_bar(cx, p, scale, plot, cap=4.0))
        markers.append(f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="3" fill="{_LINE}"/>')
        if n <= _MAX_VALUE_LABELS:
            markers.append(_text(cx + 5, cy - 6, scale.fmt(p.value), size=9))
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            parts.append(
                f'<polyline points="{" ".join(seg)}" fill="none" stroke="{_LINE}" '
                'stroke-width="1.8"/>'
            )
    parts.extend(markers)
    parts.extend(_threshold(chart, scale, plot))
    return _svg(chart, parts)


class _Point:
    __slots__ = ("ci_high", "ci_low", "label", "value", "x")

    def __init__(self, item: Mapping[str, Any]) -> None:
        self.label = str(item.get("label") or "")
        self.x = str(item["x"]) if item.get("x") not in (None, "") else ""
        self.value = _number(item.get("value"))
        self.ci_low = _number(item.get("ci_low"))
        self.ci_high = _number(item.get("ci_high"))


def _points(chart: Mapping[str, Any]) -> list[_Point]:
    series = chart.get("series") or []
    if not isinstance(series, Sequence):
        raise ValueError("chart series must be a list")
    return [_Point(item) for item in series if isinstance(item, Mapping)]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class _Scale:
    """The y axis: range, ticks and how values are printed."""

    def __init__(self, lo: float, hi: float, unit: str, factor: float) -> None:
        self.lo, self.hi, self.unit, self.factor = lo, hi, unit, factor
        self.ticks = _nice_ticks(lo, hi)

    @classmethod
    def for_chart(cls, chart: Mapping[str, Any], points: list[_Point]) -> _Scale:
        values = [v for p in points for v in (p.value, p.ci_low, p.ci_high) if v is not None]
        threshold = _number(chart.get("threshold"))
        if threshold is not None:
            values.append(threshold)
        y_min, y_max = _number(chart.get("y_min")), _number(chart.get("y_max"))
        lo = y_min if y_min is not None else min([0.0, *values])
        hi = y_max if y_max is not None else max([0.0, *values])
        if y_max is None and values:
            hi += (hi - lo) * 0.08
        if not hi > lo:
            hi = lo + 1.0
        unit = str(chart.get("unit") or "")
        # Percent charts carry fractions (0..1) unless their axis says otherwise.
        factor = 100.0 if unit == "%" and max(abs(lo), abs(hi)) <= 1.0 else 1.0
        return cls(lo, hi, unit, factor)

    def clamp(self, value: float) -> float:
        return min(max(value, self.lo), self.hi)

    def fmt_tick(self, value: float) -> str:
        step = (self.ticks[1] - self.ticks[0]) * self.factor if len(self.ticks) > 1 else 1.0
        decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
        if step * 10**decimals % 1 > 1e-6:  # steps of 2.5
            decimals += 1
        text = f"{value * self.factor:.{decimals}f}"
        if text.lstrip("-").strip("0.") == "":
            text = f"{0:.{decimals}f}"  # no "-0"
        return text + "%" if self.unit == "%" else text

    def fmt(self, value: float) -> str:
        scaled = value * self.factor
        if self.unit == "%":
            return f"{scaled:.1f}%" if abs(scaled) < 10 else f"{scaled:.0f}%"
        return f"{scaled:.3g}"


def _nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    raw = (hi - lo) / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    k = 0
    while (tick := first + k * step) <= hi + step * 1e-6 and k < 50:
        ticks.append(round(tick, 12))
        k += 1
    return ticks


class _Plot:
    def __init__(self, bottom: int) -> None:
        self.left = float(_LEFT)
        self.top = float(_TOP)
        self.width = float(WIDTH - _LEFT - _RIGHT)
        self.height = float(HEIGHT - _TOP - bottom)
        self.bottom = self.top + self.height

    def y(self, scale: _Scale, value: float) -> float:
        return self.bottom - (value - scale.lo) / (scale.hi - scale.lo) * self.height


def _frame(chart: Mapping[str, Any], scale: _Scale, plot: _Plot) -> list[str]:
    parts = []
    for tick in scale.ticks:
        y = plot.y(scale, tick)
        parts.append(
            f'<line x1="{_f(plot.left)}" y1="{_f(y)}" x2="{_f(plot.left + plot.width)}" '
            f'y2="{_f(y)}" stroke="{_GRID}" stroke-width="0.8"/>'
        )
        parts.append(_text(plot.left - 6, y + 3.5, scale.fmt_tick(tick), anchor="end", size=9))
    parts.append(
        f'<line x1="{_f(plot.left)}" y1="{_f(plot.top)}" x2="{_f(plot.left)}" '
        f'y2="{_f(plot.bottom)}" stroke="{_AXIS}" stroke-width="1"/>'
    )
    if scale.lo <= 0 <= scale.hi:
        y0 = plot.y(scale, 0.0)
        parts.append(
            f'<line x1="{_f(plot.left)}" y1="{_f(y0)}" x2="{_f(plot.left + plot.width)}" '
            f'y2="{_f(y0)}" stroke="{_AXIS}" stroke-width="1"/>'
        )
    unit_label = {"%": "percent", "score": "score"}.get(scale.unit, "")
    if unit_label:
        x, y = 12, plot.top + plot.height / 2
        parts.append(
            f'<text x="{x}" y="{_f(y)}" transform="rotate(-90 {x} {_f(y)})" '
            f'text-anchor="middle" font-family="{FONT}" font-size="9" fill="{_AXIS}">'
            f"{unit_label}</text>"
        )
    return parts


def _error_bar(cx: float, p: _Point, scale: _Scale, plot: _Plot, cap: float) -> list[str]:
    if p.ci_low is None or p.ci_high is None:
        return []
    y_lo = plot.y(scale, scale.clamp(p.ci_low))
    y_hi = plot.y(scale, scale.clamp(p.ci_high))
    stroke = f'stroke="{_CI}" stroke-width="1.2"'
    return [
        f'<line x1="{_f(cx)}" y1="{_f(y_lo)}" x2="{_f(cx)}" y2="{_f(y_hi)}" {stroke}/>',
        f'<line x1="{_f(cx - cap / 2)}" y1="{_f(y_lo)}" x2="{_f(cx + cap / 2)}" '
        f'y2="{_f(y_lo)}" {stroke}/>',
        f'<line x1="{_f(cx - cap / 2)}" y1="{_f(y_hi)}" x2="{_f(cx + cap / 2)}" '
        f'y2="{_f(y_hi)}" {stroke}/>',
    ]


def _threshold(chart: Mapping[str, Any], scale: _Scale, plot: _Plot) -> list[str]:
    threshold = _number(chart.get("threshold"))
    if threshold is None or not scale.lo <= threshold <= scale.hi:
        return []
    y = plot.y(scale, threshold)
    right = plot.left + plot.width
    return [
        f'<line x1="{_f(plot.left)}" y1="{_f(y)}" x2="{_f(right)}" y2="{_f(y)}" '
        f'stroke="{_THRESHOLD}" stroke-width="1.2" stroke-dasharray="5 3"/>',
        _text(
            right - 2,
            y - 4,
            f"threshold {scale.fmt(threshold)}",
            anchor="end",
            size=9,
            fill=_THRESHOLD,
        ),
    ]


def _label_every(slot: float) -> int:
    """Label every k-th point so that rotated labels (about 11 px apart) do not overlap."""
    return max(1, math.ceil(_LABEL_PITCH / slot))


def _x_label(cx: float, plot: _Plot, label: str, rotate: bool) -> str:
    if len(label) > _LABEL_CHARS:
        label = label[: _LABEL_CHARS - 1] + "…"
    y = plot.bottom + 14
    if rotate:
        return (
            f'<text x="{_f(cx)}" y="{_f(y)}" transform="rotate(-40 {_f(cx)} {_f(y)})" '
            f'text-anchor="end" font-family="{FONT}" font-size="9">{escape(label)}</text>'
        )
    return _text(cx, y, label, anchor="middle", size=9)


def _no_data(plot: _Plot) -> str:
    return _text(
        plot.left + plot.width / 2,
        plot.top + plot.height / 2,
        "No data",
        anchor="middle",
        size=12,
        fill=_AXIS,
    )


def _text(
    x: float, y: float, text: str, *, anchor: str = "start", size: int = 10, fill: str = "#000"
) -> str:
    return (
        f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" font-family="{FONT}" '
        f'font-size="{size}" fill="{fill}">{escape(text)}</text>'
    )


def _svg(chart: Mapping[str, Any], parts: list[str]) -> str:
    title = escape(str(chart.get("title") or ""))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}">'
        + "".join(parts)
        + "</svg>"
    )


def _f(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
