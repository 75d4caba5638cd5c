"""Pattern-oriented validation: does one default calibration reproduce FACTS §C at once.

Each :class:`Pattern` names its source in the record, states its target, and computes one
statistic per seed plus whether the pattern holds in that seed. Patterns are measured on the
timeline scenario and on variants of it built here (an earlier announcement, a smaller subsidy,
two revenue shares), always with the same seeds, so comparisons are paired.

"Of the order of X" means within a factor of three of X (half an order of magnitude either way).
``chipsim validate`` prints the report and exits non-zero when a pattern holds in fewer than
``threshold`` (80 %) of seeds.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.scenario.library import library_file
from sim.scenario.scenario import Scenario, load_scenario, scenario_from_dict

#: The timeline every pattern starts from.
TIMELINE = library_file("timeline-2024-2026.yaml")
#: "Of the order of": within this factor of the reported figure.
ORDER = 3.0

# Reported figures (FACTS §B) used as targets.
F1_UNITS = 1.0e6  # H20 bought ahead of the rule in Q1 2025
F2_USD = 5.5e9  # Nvidia's expected charge from the H20 rule
F6_USD = 1.0e9  # smuggled Nvidia chips in the ~3 months after the tightening (lower bound)
M14_APPROVED = 1.0e6  # H200 units approved for China


Runs = dict[str, pd.DataFrame]


@dataclass(frozen=True)
class Pattern:
    """One pattern of FACTS §C: a per-seed statistic and a per-seed pass test."""

    key: str
    title: str
    source: str
    target: str
    unit: str
    statistic: Callable[[Runs], pd.Series]
    holds: Callable[[Runs], pd.Series]


@dataclass(frozen=True)
class PatternResult:
    """How one pattern fared over the seeds."""

    pattern: Pattern
    p05: float
    p50: float
    p95: float
    share: float

    def passed(self, threshold: float) -> bool:
        """Whether it held in at least ``threshold`` of the seeds."""
        return self.share >= threshold


# --- helpers over timeseries tables ---------------------------------------------------------
def total(t: pd.DataFrame, column: str, start: str, end: str) -> pd.Series:
    """Per-seed sum of a column over months start..end (YYYY-MM, inclusive)."""
    window = t[(t["date"] >= start) & (t["date"] <= end)]
    return window.groupby("seed")[column].sum()


def mean(t: pd.DataFrame, column: str, start: str, end: str) -> pd.Series:
    """Per-seed mean of a column over months start..end."""
    window = t[(t["date"] >= start) & (t["date"] <= end)]
    return window.groupby("seed")[column].mean()


def of_the_order(values: pd.Series, figure: float) -> pd.Series:
    """Within a factor :data:`ORDER` of the reported figure."""
    return (values >= figure / ORDER) & (values <= figure * ORDER)


# --- the patterns ----------------------------------------------------------------------------
def _front_run(r: Runs) -> pd.Series:
    return total(r["timeline"], "legal_export_units_H20", "2025-01", "2025-03")


def _front_run_holds(r: Runs) -> pd.Series:
    earlier = total(r["announced-earlier"], "legal_export_units_H20", "2024-10", "2025-03")
    later = total(r["timeline"], "legal_export_units_H20", "2024-10", "2025-03")
    return of_the_order(_front_run(r), F1_UNITS) & (earlier > later)


def _charge(r: Runs) -> pd.Series:
    return total(r["timeline"], "writedown_usd", "2025-04", "2025-04")


def _charge_holds(r: Runs) -> pd.Series:
    t = r["timeline"]
    before = mean(t, "legal_export_units_H20", "2025-01", "2025-03")
    after = mean(t, "legal_export_units_H20", "2025-04", "2025-06")
    loss = total(t, "revenue_loss_usd_nvidia", "2025-04", "2025-06")
    return (after < 0.05 * before) & of_the_order(_charge(r), F2_USD) & of_the_order(loss, F2_USD)


def _diversion(r: Runs) -> pd.Series:
    return total(r["timeline"], "grey_sales_usd", "2025-05", "2025-07")


def _diversion_holds(r: Runs) -> pd.Series:
    t = r["timeline"]
    rises = total(t, "diverted_units", "2025-05", "2025-07") > total(
        t, "diverted_units", "2025-01", "2025-03"
    )
    cloud_grows = total(t, "cloud_capacity_units", "2025-12", "2025-12") > total(
        t, "cloud_capacity_units", "2025-03", "2025-03"
    )
    premium = mean(t, "grey_premium", "2025-04", "2025-12") > 0
    return rises & cloud_grows & premium & of_the_order(_diversion(r), F6_USD)


def _approval(r: Runs) -> pd.Series:
    return total(r["timeline"], "legal_export_units_H200", "2026-01", "2026-12")


def _approval_holds(r: Runs) -> pd.Series:
    t = r["timeline"]
    shipped = _approval(r)
    vanished = total(t, "cancelled_orders_units", "2026-01", "2026-12")
    peak = total(t, "production_units_H200", "2026-01", "2026-03") / 3
    later = total(t, "production_units_H200", "2026-04", "2026-06") / 3
    return (shipped < 0.1 * M14_APPROVED) & (vanished > shipped) & (later < peak)


def _domestic(r: Runs) -> pd.Series:
    return mean(r["timeline"], "domestic_share", "2026-01", "2026-12")


def _domestic_holds(r: Runs) -> pd.Series:
    before = mean(r["timeline"], "domestic_share", "2025-01", "2025-06")
    low_subsidy = mean(r["subsidy-1x"], "domestic_share", "2026-01", "2026-12")
    return (_domestic(r) > before) & (_domestic(r) > low_subsidy)


def _diverted_share(t: pd.DataFrame) -> pd.Series:
    diverted = total(t, "diverted_units", "2024-07", "2024-12")
    legal = total(t, "legal_export_units", "2024-07", "2024-12")
    return diverted / (diverted + legal)


def _trade_off(r: Runs) -> pd.Series:
    low = total(r["share-15"], "legal_export_units", "2024-07", "2024-12")
    high = total(r["share-50"], "legal_export_units", "2024-07", "2024-12")
    return high / low - 1.0


def _trade_off_holds(r: Runs) -> pd.Series:
    low, high = r["share-15"], r["share-50"]
    revenue_down = total(high, "vendor_revenue_usd", "2024-07", "2024-12") < total(
        low, "vendor_revenue_usd", "2024-07", "2024-12"
    )
    return (_trade_off(r) < 0) & revenue_down & (_diverted_share(high) > _diverted_share(low))


PATTERNS: tuple[Pattern, ...] = (
    Pattern("front-running", "Front-running of the H20 rule", "F1, M2",
            "legal H20 units in Q1 2025 of the order of 1 M; more when announced 3 months "
            "earlier", "units", _front_run, _front_run_holds),
    Pattern("collapse-and-charge", "Collapse and charge", "F2, M2",
            "legal H20 sales near zero after the rule; write-down and Nvidia's loss in the "
            "next quarter each of the order of $5.5 B", "USD", _charge, _charge_holds),
    Pattern("substitution", "Substitution into diversion", "F6, F7, F8",
            "diverted units rise after the rule; grey sales May-Jul 2025 of the order of "
            "$1 B; cloud capacity grows; positive grey premium", "USD", _diversion,
            _diversion_holds),
    Pattern("approval-not-sales", "Approval is not sales", "M11-M15, F10, F11",
            "H200 legal shipments in 2026 under 10 % of the ~1 M approved; cancelled orders "
            "exceed shipments; H200 output cut", "units", _approval, _approval_holds),
    Pattern("domestic-substitution", "Domestic substitution", "M8, M9, F13",
            "domestic share of new compute higher in 2026 than in H1 2025, and higher with a "
            "4x subsidy than with 1x", "ratio", _domestic, _domestic_holds),
    Pattern("share-trade-off", "Revenue share and tariff trade-off", "M7, M11, M13",
            "a 50 % share instead of 15 % lowers legal exports and vendor revenue and raises "
            "the diverted share", "ratio", _trade_off, _trade_off_holds),
)


# --- the scenarios ---------------------------------------------------------------------------
def _variant(base: Scenario, name: str, edit: Callable[[dict], None]) -> Scenario:
    doc = copy.deepcopy(base.resolved)
    doc["name"] = f"{base.name}-{name}"
    edit(doc)
    return scenario_from_dict(doc, file=str(base.path or "<validation>"))


def _announce_h20_earlier(doc: dict) -> None:
    for event in doc["events"]:
        if event["move"] == "us.licence_requirement" and "H20" in event["chips"] \
                and event["approval"] == 0.0:
            event["announced"] = "2025-01"


def _subsidy_1x(doc: dict) -> None:
    for event in doc["events"]:
        if event["move"] == "cn.domestic_subsidy":
            event["cost_multiple"] = 1.0


def _share(value: float) -> Callable[[dict], None]:
    def edit(doc: dict) -> None:
        doc["events"] = [{"date": "2024-07", "move": "us.revenue_share", "chips": ["H20"],
                          "share": value}]

    return edit


def scenarios(timeline: Scenario) -> dict[str, Scenario]:
    """The timeline and the variants the patterns compare it with."""
    baseline = _variant(timeline, "no-moves", lambda doc: doc.update(events=[]))
    return {
        "timeline": timeline,
        "announced-earlier": _variant(timeline, "announced-earlier", _announce_h20_earlier),
        "subsidy-1x": _variant(timeline, "subsidy-1x", _subsidy_1x),
        "share-15": _variant(baseline, "share-15", _share(0.15)),
        "share-50": _variant(baseline, "share-50", _share(0.50)),
    }


def validate(seeds: int = 20, workers: int = 1, timeline: Scenario | None = None,
             parameters: dict | None = None) -> list[PatternResult]:
    """Run the timeline and its variants and measure every pattern over ``seeds`` seeds."""
    from sim.experiments.runner import run

    base = timeline or load_scenario(TIMELINE)
    if parameters:
        base = base.replace(parameters={**base.parameters, **parameters})
    runs = {name: run(s, seeds=seeds, workers=workers).timeseries
            for name, s in scenarios(base).items()}
    out = []
    for pattern in PATTERNS:
        stat = pattern.statistic(runs).to_numpy(dtype=float)
        held = pattern.holds(runs).to_numpy(dtype=bool)
        p05, p50, p95 = np.percentile(stat, [5, 50, 95])
        out.append(PatternResult(pattern, float(p05), float(p50), float(p95), float(held.mean())))
    return out


def _fmt(value: float, unit: str) -> str:
    if unit == "USD":
        return f"${value / 1e9:.2f} B"
    if unit == "units":
        return f"{value:,.0f}"
    return f"{value:.3f}"


def report(results: list[PatternResult], threshold: float = 0.8) -> str:
    """The pattern report as text."""
    lines = []
    for r in results:
        p = r.pattern
        verdict = "PASS" if r.passed(threshold) else "FAIL"
        lines += [
            f"{verdict}  {p.title}  [{p.source}]",
            f"      target: {p.target}",
            f"      model:  median {_fmt(r.p50, p.unit)}  (5-95 %: {_fmt(r.p05, p.unit)} .. "
            f"{_fmt(r.p95, p.unit)});  holds in {r.share:.0%} of seeds",
        ]
    failed = sum(not r.passed(threshold) for r in results)
    lines.append(f"{len(results) - failed} of {len(results)} patterns hold in at least "
                 f"{threshold:.0%} of seeds")
    return "\n".join(lines)
