"""Small inline SVG charts drawn on the server: no JavaScript, nothing fetched."""
from __future__ import annotations

from collections.abc import Sequence
from html import escape

W, H, PAD, BASE = 560, 220, 36, 180


def _num(v: float) -> str:
    return f"{v:.1f}"


def bar_chart(title: str, labels: Sequence[str], values: Sequence[int | float],
              captions: Sequence[str] | None = None, *, css_id: str = "",
              colour: str = "#1f4e79") -> str:
    """Vertical bars, one per label; ``captions`` are printed above the bars."""
    top = max([abs(v) for v in values] + [1])
    n = max(len(values), 1)
    slot = (W - 2 * PAD) / n
    bars = []
    for i, (label, value) in enumerate(zip(labels, values)):
        h = (BASE - PAD) * max(value, 0) / top
        x = PAD + i * slot + slot * 0.15
        cap = captions[i] if captions else str(value)
        bars.append(
            f'<g class="bar" data-label="{escape(label)}" data-value="{value}">'
            f'<rect x="{_num(x)}" y="{_num(BASE - h)}" width="{_num(slot * 0.7)}" '
            f'height="{_num(h)}" fill="{escape(colour)}"><title>{escape(label)}: {escape(cap)}'
            f'</title></rect>'
            f'<text x="{_num(x + slot * 0.35)}" y="{_num(BASE - h - 4)}" text-anchor="middle" '
            f'font-size="11">{escape(cap)}</text>'
            f'<text x="{_num(x + slot * 0.35)}" y="{BASE + 16}" text-anchor="middle" '
            f'font-size="11">{escape(label)}</text></g>')
    return _frame(title, "".join(bars), css_id)


def line_chart(title: str, labels: Sequence[str], values: Sequence[float | None], *,
               css_id: str = "", colour: str = "#1f4e79", unit: str = "") -> str:
    """A line through the known points (None leaves a gap)."""
    known = [v for v in values if v is not None]
    top = max(known + [1])
    n = max(len(values) - 1, 1)
    step = (W - 2 * PAD) / n
    pts, marks = [], []
    for i, (label, value) in enumerate(zip(labels, values)):
        x = PAD + i * step
        marks.append(f'<text x="{_num(x)}" y="{BASE + 16}" text-anchor="middle" '
                     f'font-size="11">{escape(label)}</text>')
        if value is None:
            continue
        y = BASE - (BASE - PAD) * value / top
        pts.append(f"{_num(x)},{_num(y)}")
        marks.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3" fill="{escape(colour)}">'
                     f'<title>{escape(label)}: {value}{escape(unit)}</title></circle>'
                     f'<text x="{_num(x)}" y="{_num(y - 8)}" text-anchor="middle" '
                     f'font-size="11">{value}</text>')
    line = (f'<polyline fill="none" stroke="{escape(colour)}" stroke-width="2" '
            f'points="{" ".join(pts)}"/>') if len(pts) > 1 else ""
    return _frame(title, line + "".join(marks), css_id)


def _frame(title: str, body: str, css_id: str) -> str:
    ident = f' id="{escape(css_id)}"' if css_id else ""
    return (f'<svg{ident} xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" '
            f'role="img" aria-label="{escape(title)}" class="chart"><title>{escape(title)}'
            f'</title><line x1="{PAD}" y1="{BASE}" x2="{W - PAD}" y2="{BASE}" stroke="#999"/>'
            f'{body}</svg>')
