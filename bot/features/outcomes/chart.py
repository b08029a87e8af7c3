"""The weekly outcomes chart as a PNG: verification times per utility against the article's 5-7 day band,
and the weekly share connected within 14 days. matplotlib with the Agg backend: no display, no network.

`chart_data` is what the chart shows, taken from the report alone, so the tests hold the chart to the
report without reading pixels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from commands.outcomes import OutcomesReport
from commands.policy import Utility, policy_for

# The help article's figure (SCE: "up to 5-7 days"), drawn as the band every utility is held against.
ARTICLE_BAND = policy_for(Utility.SCE).verification_days
WIDTH_INCHES, HEIGHT_INCHES, DPI = 11.0, 4.2, 100


@dataclass(frozen=True)
class ChartData:
    band: tuple[int, int]
    verification_days: dict[str, tuple[float, ...]]  # per utility's display name
    connected_14d: dict[str, tuple[tuple[date, float], ...]]  # per utility: (week, share), known weeks only


def chart_data(report: OutcomesReport) -> ChartData:
    return ChartData(
        band=ARTICLE_BAND,
        verification_days={u.display_name: report.verification_days[u] for u in report.verification_days},
        connected_14d={
            u.display_name: tuple((w.week, w.connected_14d) for w in report.weeks_of(u) if w.connected_14d is not None)
            for u in report.utilities()
        },
    )


def render_chart(data: ChartData) -> bytes:
    """The chart as PNG bytes."""
    # Imported here: matplotlib takes seconds to import, which `serve` and every CLI command would pay at
    # start-up for a chart drawn once a week.
    import matplotlib

    matplotlib.use("Agg")  # headless, whatever the environment says
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    times, weekly = figure.subplots(1, 2)
    low, high = data.band
    times.axvspan(low, high, color="tab:green", alpha=0.15, label=f"article: {low}-{high} days")
    longest = max((max(v) for v in data.verification_days.values() if v), default=float(high))
    bins = list(range(0, int(longest) + 2))
    for name, values in data.verification_days.items():
        times.hist(values, bins=bins, histtype="step", linewidth=1.8, label=f"{name} (n={len(values)})")
    times.set_title("Verification time: new authorization to connected")
    times.set_xlabel("days")
    times.set_ylabel("procedures")
    times.legend(fontsize="small")
    for name, points in data.connected_14d.items():
        weekly.plot([w for w, _ in points], [100 * s for _, s in points], marker="o", label=name)
    weekly.set_title("Connected within 14 days of the steps")
    weekly.set_ylabel("% of procedures sent that week")
    weekly.set_ylim(0, 100)
    weekly.tick_params(axis="x", labelrotation=30, labelsize="small")
    weeks = sorted({w for points in data.connected_14d.values() for w, _ in points})
    weekly.set_xticks(weeks, [f"{w:%b %-d}" for w in weeks])
    if data.connected_14d:
        weekly.legend(fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
