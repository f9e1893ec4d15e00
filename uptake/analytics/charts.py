"""Charts drawn on the server as inline SVG (no JavaScript, no CDN).

Readable without colour: each series has its own dash pattern and marker shape and is named
at its end; bars and funnel stages carry their value as text; heatmap cells print their
percentage and use a light-to-dark fill with a contrasting text colour. Every chart is shown
next to its table (the same `reports.Table`). Pure functions: data in, markup out.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 4", "10 4")
MARKERS = ("circle", "square", "triangle", "diamond", "cross", "circle")
INK = "#1f2937"
GRID = "#d1d5db"
SERIES_COLOURS = ("#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0f766e")


def _fmt(value: float | None, percent: bool) -> str:
    if value is None:
        return "–"
    if percent:
        return f"{value * 100:.0f}%"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{colour}"/>'
    if kind == "triangle":
        return (
            f'<polygon points="{x:.1f},{y - 4:.1f} {x - 4:.1f},{y + 3:.1f} {x + 4:.1f},{y + 3:.1f}"'
            f' fill="{colour}"/>'
        )
    if kind == "diamond":
        return (
            f'<polygon points="{x:.1f},{y - 4:.1f} {x + 4:.1f},{y:.1f} {x:.1f},{y + 4:.1f} '
            f'{x - 4:.1f},{y:.1f}" fill="{colour}"/>'
        )
    if kind == "cross":
        return (
            f'<path d="M{x - 3:.1f},{y - 3:.1f}L{x + 3:.1f},{y + 3:.1f}M{x - 3:.1f},{y + 3:.1f}'
            f'L{x + 3:.1f},{y - 3:.1f}" stroke="{colour}" stroke-width="2"/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>'


def _svg(title: str, width: int, height: int, body: str) -> SafeString:
    t = escape(title)
    return mark_safe(  # noqa: S308 -- every text piece above is escaped
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>{body}</svg>'
    )


def line_chart(
    *,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    percent: bool = False,
    width: int = 640,
    height: int = 240,
) -> SafeString:
    """Lines over shared x labels; gaps where a value is None."""
    left, right, top, bottom = 48, 120, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _n, vs in series for v in vs if v is not None]
    top_value = 1.0 if percent else max([*values, 1.0])
    n = max(1, len(x_labels) - 1)

    def px(i: int) -> float:
        return left + plot_w * i / n

    def py(v: float) -> float:
        return top + plot_h * (1 - v / top_value)

    parts = []
    for k in range(5):
        v = top_value * k / 4
        y = py(v)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{INK}">{escape(_fmt(v, percent))}</text>'
        )
    step = max(1, (len(x_labels) + 7) // 8)
    shown = list(range(0, len(x_labels), step))
    if shown and shown[-1] != len(x_labels) - 1:
        # Always name the last point; drop the label before it when the two would crowd.
        if len(x_labels) - 1 - shown[-1] < step / 2:
            shown.pop()
        shown.append(len(x_labels) - 1)
    for i, label in enumerate(x_labels):
        if i in shown:
            parts.append(
                f'<text x="{px(i):.1f}" y="{height - 14}" text-anchor="middle" font-size="11" '
                f'fill="{INK}">{escape(label)}</text>'
            )
    for s, (name, vs) in enumerate(series):
        colour = SERIES_COLOURS[s % len(SERIES_COLOURS)]
        dash = DASHES[s % len(DASHES)]
        marker = MARKERS[s % len(MARKERS)]
        path = ""
        pen_up = True
        last: tuple[float, float] | None = None
        for i, point in enumerate(vs):
            if point is None:
                pen_up = True
                continue
            x, y = px(i), py(point)
            path += f"{'M' if pen_up else 'L'}{x:.1f},{y:.1f}"
            pen_up = False
            last = (x, y)
            parts.append(_marker(marker, x, y, colour))
        if path:
            parts.append(
                f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"'
                + (f' stroke-dasharray="{dash}"' if dash else "")
                + "/>"
            )
        if last is not None:
            parts.append(
                f'<text x="{last[0] + 8:.1f}" y="{last[1] + 4:.1f}" font-size="11" '
                f'fill="{INK}">{escape(name)}</text>'
            )
    return _svg(title, width, height, "".join(parts))


def bar_chart(
    *,
    title: str,
    items: Sequence[tuple[str, float | None]],
    percent: bool = False,
    width: int = 640,
) -> SafeString:
    """Horizontal bars, each labelled with its name and value."""
    label_w, bar_h, gap = 180, 18, 6
    height = max(1, len(items)) * (bar_h + gap) + gap
    top_value = 1.0 if percent else max([v or 0 for _l, v in items] + [1.0])
    plot_w = width - label_w - 70
    parts = []
    for i, (label, value) in enumerate(items):
        y = gap + i * (bar_h + gap)
        w = plot_w * (value or 0) / top_value
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="12" '
            f'fill="{INK}">{escape(short)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
            f'fill="{SERIES_COLOURS[0]}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 13}" font-size="12" '
            f'fill="{INK}">{escape(_fmt(value, percent))}</text>'
        )
    return _svg(title, width, height, "".join(parts))


def funnel_chart(
    *, title: str, stages: Sequence[tuple[str, int, float | None]], width: int = 640
) -> SafeString:
    """Stages as centred bars narrowing with the count; each says its count and share, and
    each has its own hatch pattern."""
    bar_h, gap = 34, 8
    height = len(stages) * (bar_h + gap) + gap
    first = max(1, stages[0][1] if stages else 1)
    defs = (
        "<defs>"
        '<pattern id="f0" width="8" height="8" patternUnits="userSpaceOnUse">'
        f'<rect width="8" height="8" fill="{SERIES_COLOURS[0]}"/></pattern>'
        '<pattern id="f1" width="8" height="8" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="8" height="8" fill="{SERIES_COLOURS[0]}"/>'
        '<line x1="0" y1="0" x2="0" y2="8" stroke="#fff" stroke-width="3"/></pattern>'
        '<pattern id="f2" width="6" height="6" patternUnits="userSpaceOnUse">'
        f'<rect width="6" height="6" fill="{SERIES_COLOURS[0]}"/>'
        '<circle cx="3" cy="3" r="1.3" fill="#fff"/></pattern>'
        "</defs>"
    )
    parts = [defs]
    for i, (name, count, share) in enumerate(stages):
        w = (width - 20) * count / first
        x = (width - w) / 2
        y = gap + i * (bar_h + gap)
        text = f"{name}: {count:,} ({_fmt(share, True)})"
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{bar_h}" '
            f'fill="url(#f{i % 3})" stroke="{INK}"/>'
            f'<rect x="{width / 2 - 110:.1f}" y="{y + 8}" width="220" height="18" rx="3" '
            'fill="#fff" opacity="0.9"/>'
            f'<text x="{width / 2:.1f}" y="{y + 21}" text-anchor="middle" font-size="12" '
            f'fill="{INK}">{escape(text)}</text>'
        )
    return _svg(title, width, height, "".join(parts))


def heatmap_chart(
    *,
    title: str,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
    width: int = 760,
) -> SafeString:
    """A grid of shares (0..1): darker is higher, and every cell prints its percentage."""
    label_w, head_h, cell_h = 170, 24, 22
    cell_w = (width - label_w) / max(1, len(col_labels))
    height = head_h + cell_h * len(row_labels) + 4
    parts = []
    for j, label in enumerate(col_labels):
        parts.append(
            f'<text x="{label_w + cell_w * (j + 0.5):.1f}" y="16" text-anchor="middle" '
            f'font-size="10" fill="{INK}">{escape(label)}</text>'
        )
    for i, label in enumerate(row_labels):
        y = head_h + i * cell_h
        short = label if len(label) <= 24 else label[:23] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="11" '
            f'fill="{INK}">{escape(short)}</text>'
        )
        for j, value in enumerate(values[i]):
            shade = 0.0 if value is None else max(0.0, min(1.0, value))
            lightness = 96 - int(shade * 66)
            fill = f"hsl(215, 60%, {lightness}%)"
            text_colour = "#fff" if lightness < 55 else INK
            parts.append(
                f'<rect x="{label_w + cell_w * j:.1f}" y="{y}" width="{cell_w - 1:.1f}" '
                f'height="{cell_h - 1}" fill="{fill}"/>'
                f'<text x="{label_w + cell_w * (j + 0.5):.1f}" y="{y + 15}" text-anchor="middle" '
                f'font-size="10" fill="{text_colour}">{escape(_fmt(value, True))}</text>'
            )
    return _svg(title, width, height, "".join(parts))


def sparkline(values: Sequence[float | None], *, label: str, width: int = 120) -> SafeString:
    """A small trend line for a KPI card (its numbers are in the trend table)."""
    height = 28
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return mark_safe("")
    lo, hi = min(known), max(known)
    span = (hi - lo) or 1.0
    n = max(1, len(values) - 1)
    path = ""
    pen_up = True
    for i, v in enumerate(values):
        if v is None:
            pen_up = True
            continue
        x = 2 + (width - 4) * i / n
        y = height - 3 - (height - 6) * (v - lo) / span
        path += f"{'M' if pen_up else 'L'}{x:.1f},{y:.1f}"
        pen_up = False
    body = f'<path d="{path}" fill="none" stroke="{SERIES_COLOURS[0]}" stroke-width="1.5"/>'
    return _svg(label, width, height, body)
