"""A usage report as a bar chart's geometry, for an inline SVG the billing page draws: no script,
no CDN and no style attribute, so it works under the dashboard's strict Content-Security-Policy.
Geometry is Decimal like the money it shows (one decimal place is enough for SVG user units)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .selectors import UsageReport

WIDTH = 720  # the viewBox; the SVG scales to its container
PLOT_TOP = 8
PLOT_HEIGHT = 160
LABEL_SPACE = 40  # under the bars
GAP = Decimal("0.2")  # share of a slot left empty between bars
MAX_BAR_WIDTH = Decimal(96)  # a chart of two models keeps slim bars
_TENTH = Decimal("0.1")


def _tenth(value: Decimal) -> Decimal:
    return value.quantize(_TENTH, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Bar:
    key: str
    label: str  # under the bar ("" when there is no room for every label)
    title: str  # the tooltip: label and amount
    amount: Decimal
    x: Decimal
    y: Decimal
    width: Decimal
    height: Decimal
    label_x: Decimal


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    max_amount: Decimal
    currency: str
    width: int = WIDTH
    height: int = PLOT_TOP + PLOT_HEIGHT + LABEL_SPACE
    baseline: int = PLOT_TOP + PLOT_HEIGHT
    label_y: int = PLOT_TOP + PLOT_HEIGHT + 16

    @property
    def empty(self) -> bool:
        return self.max_amount <= 0


def _short(report: UsageReport, label: str) -> str:
    """What fits under a bar: a day's number (31 of them fit), a model's name without its
    provider, cut at 16 characters (the page's table has the whole names)."""
    if report.group_by == "day":
        return label.rsplit("-", 1)[-1].lstrip("0")
    name = label.rsplit("/", 1)[-1]
    return name if len(name) <= 16 else name[:15] + "…"


def bar_chart(report: UsageReport) -> BarChart:
    """One bar per group of the report, as tall as its amount (charges less refunds) against the
    largest; a group refunded below zero draws no bar."""
    groups = report.groups
    slot = Decimal(WIDTH) / max(len(groups), 1)
    bar_width = _tenth(min(slot * (1 - GAP), MAX_BAR_WIDTH))
    top = max((g.amount for g in groups), default=Decimal(0))
    bars = []
    for index, group in enumerate(groups):
        amount = max(group.amount, Decimal(0))
        height = _tenth(Decimal(PLOT_HEIGHT) * amount / top) if top > 0 else Decimal(0)
        x = _tenth(slot * index + (slot - bar_width) / 2)
        label = _short(report, group.label)
        bars.append(Bar(
            key=group.key or "", label=label, title=f"{group.label}: {group.amount} {report.currency.upper()}",
            amount=group.amount, x=x, y=Decimal(PLOT_TOP + PLOT_HEIGHT) - height, width=bar_width,
            height=height, label_x=_tenth(x + bar_width / 2),
        ))
    return BarChart(bars=bars, max_amount=top, currency=report.currency)
