"""Small SVG bar charts drawn on the server: no chart script, nothing inline to allow in the
CSP, readable without JavaScript, and every label escaped."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

BAR = 30
GAP = 8
LABEL = 190
WIDTH = 560


def hbars(items: Sequence[tuple[str, float]], *, title: str, unit: str = "") -> Markup:
    """Horizontal bars, one per (label, value), with the value written beside each."""
    top = max((value for _, value in items), default=0) or 1
    height = len(items) * (BAR + GAP) + GAP
    room = WIDTH - LABEL - 70
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {max(height, BAR + 2 * GAP)}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, value) in enumerate(items):
        y = GAP + index * (BAR + GAP)
        width = max(1.0, room * value / top) if value else 0
        shown = f"{value:g}{unit}"
        parts.append(
            f'<text x="{LABEL - 8}" y="{y + BAR * 0.72:.0f}" text-anchor="end" class="label">'
            f"{escape(label[:24])}</text>"
            f'<rect x="{LABEL}" y="{y}" width="{width:.1f}" height="{BAR}" rx="3" class="bar"/>'
            f'<text x="{LABEL + width + 6:.1f}" y="{y + BAR * 0.72:.0f}" class="value">'
            f"{escape(shown)}</text>"
        )
    if not items:
        parts.append(f'<text x="10" y="{BAR}" class="label">–</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 -- every label and value went through escape()


def columns(items: Sequence[tuple[str, float]], *, title: str) -> Markup:
    """Vertical bars over time (weeks), labelled below."""
    top = max((value for _, value in items), default=0) or 1
    count = max(len(items), 1)
    slot = (WIDTH - 40) / count
    height = 200
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height + 40}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    # Labels of 20 px need ~45 px each: with many weeks every other one is named (the last
    # always), and an empty week shows no "0" over it.
    every = max(1, math.ceil(45 / slot))
    for index, (label, value) in enumerate(items):
        bar = (height - 20) * value / top
        x = 20 + index * slot
        parts.append(
            f'<rect x="{x + 4:.1f}" y="{height - bar:.1f}" width="{max(slot - 8, 2):.1f}" '
            f'height="{bar:.1f}" rx="2" class="bar"/>'
        )
        if value:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{height - bar - 4:.1f}" text-anchor="middle" '
                f'class="value">{value:g}</text>'
            )
        if (count - 1 - index) % every == 0:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{height + 22}" text-anchor="middle" '
                f'class="label">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 -- every label and value went through escape()
