"""How much pairing buys: the variance of the paired revenue loss against an unpaired one.

Revenue loss is measured seed by seed: replication *i* of the scenario and of its
counterfactual share every random number both draw (keyed draws, ``sim.model.draws``), so what
they have in common cancels in the difference. How much cancels is measured over the seeds of a
run from two period totals per seed, ``S`` (the scenario's US-vendor revenue,
``vendor_revenue_usd``) and ``L`` (its paired loss, ``revenue_loss_usd``); the counterfactual's
revenue is ``S + L``::

    ratio = (var S + var(S + L)) / var L

The numerator is the variance a difference of two *independent* runs would have, the
denominator the paired difference's. At 10 or more the pairing does its job; below 10 the run
says so (one line on stderr), because a loss read from few seeds is then noisier than it need
be. A low ratio is not always a fault: when a policy's effect itself varies from seed to seed
(parameters drawn from distributions, a rule that bites only in some worlds), ``var L`` is real
variation, not noise (``docs/model.md``, section 9).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

#: Below this ratio the pairing is reported as weak.
TARGET = 10.0
#: The two per-seed values the ratio is computed from.
METRICS: tuple[str, str] = ("vendor_revenue_usd", "revenue_loss_usd")
MEANING = ("(var S + var(S + L)) / var L over seeds, S = a seed's US-vendor revenue"
           " (vendor_revenue_usd, period total), L = its paired loss (revenue_loss_usd): the"
           " variance of an unpaired difference over that of the paired one; at least"
           f" {TARGET:g} is strong pairing (docs/model.md, section 9)")


def pairing_strength(values: pd.DataFrame) -> dict[str, Any]:
    """The pairing's strength over the seeds of a run.

    Args:
        values: One row per seed with the period totals ``vendor_revenue_usd`` and
            ``revenue_loss_usd`` (:func:`sim.experiments.summary.per_seed`); seeds with a
            missing value are left out.

    Returns:
        ``ratio`` (None with fewer than 2 seeds, or when the loss does not vary), ``status``
        (``strong``, ``weak``, ``exact``: the loss is the same on every seed, or
        ``too few seeds``),
        the three sample variances (USD squared), ``seeds`` and ``meaning``.

    """
    data = values[list(METRICS)].dropna()
    revenue = data["vendor_revenue_usd"].to_numpy(dtype=float)
    loss = data["revenue_loss_usd"].to_numpy(dtype=float)
    out: dict[str, Any] = {"seeds": len(data), "ratio": None, "meaning": MEANING}
    if len(data) < 2:
        return {**out, "status": "too few seeds", "var_revenue_usd2": None,
                "var_counterfactual_revenue_usd2": None, "var_loss_usd2": None}
    var_s, var_c, var_l = (float(np.var(x, ddof=1)) for x in (revenue, revenue + loss, loss))
    out |= {"var_revenue_usd2": var_s, "var_counterfactual_revenue_usd2": var_c,
            "var_loss_usd2": var_l}
    if var_l == 0.0:
        return {**out, "status": "exact"}
    ratio = (var_s + var_c) / var_l
    return {**out, "ratio": ratio, "status": "strong" if ratio >= TARGET else "weak"}


def pairing_warning(pairing: dict[str, Any], label: str) -> str | None:
    """One line for stderr when the pairing is weak (None otherwise).

    Args:
        pairing: from :func:`pairing_strength`.
        label: what was run, named at the start of the line.

    """
    ratio = pairing.get("ratio")
    if pairing.get("status") != "weak" or ratio is None or not math.isfinite(ratio):
        return None
    return (f"{label}: weak pairing: the paired revenue loss varies {ratio:.3g}x less over"
            f" {pairing['seeds']} seeds than an unpaired difference would (target: at least"
            f" {TARGET:g}x); that spread may be real: each replication draws its own parameters"
            " (the posterior, distributions) and the policy's effect varies with them, and"
            " chance events only the scenario has (licence draws) have nothing to pair with"
            " (pairing in manifest.json; docs/model.md section 9)")


__all__ = ["METRICS", "TARGET", "pairing_strength", "pairing_warning"]
