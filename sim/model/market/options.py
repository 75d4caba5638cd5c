"""The options a Chinese buyer chooses among, and how well each fits its work.

Options, in column order: a legal import of each US part, each domestic part, renting offshore
cloud GPUs, buying through an offshore subsidiary, and the grey market (the smugglers' chip mix).
The fit of an option to a buyer is the H100-equivalents one unit gives it: the buyer's
training/inference mix of the part's two speeds, scaled down when the part has less memory than
the buyer's models want. The fit is fixed for a run; it is worked out once.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sim.world.catalogue import CHIPS, CLOUD_CHIP, DOMESTIC_CHIPS, SUBSIDIARY_CHIP, US_CHIPS


class Options:
    """Column layout of the (buyers x options) tables, and each option's fit to each buyer.

    Args:
        train_weight: per buyer, the training share of its demand.
        memory_need: per buyer, the memory per chip its models want (GB).
        grey_mix: the smugglers' chip mix (chip -> share summing to 1).
        memory_preference: exponent on the memory fit (0: memory does not matter).

    """

    def __init__(self, train_weight: np.ndarray, memory_need: np.ndarray,
                 grey_mix: Mapping[str, float], memory_preference: float) -> None:
        self.kinds: list[tuple[str, str | None]] = (
            [("legal", c) for c in US_CHIPS]
            + [("domestic", c) for c in DOMESTIC_CHIPS]
            + [("cloud", CLOUD_CHIP), ("subsidiary", SUBSIDIARY_CHIP), ("grey", None)]
        )
        self.k_legal = range(len(US_CHIPS))
        self.k_domestic = range(len(US_CHIPS), len(US_CHIPS) + len(DOMESTIC_CHIPS))
        self.legal_cols = slice(self.k_legal.start, self.k_legal.stop)
        self.domestic_cols = slice(self.k_domestic.start, self.k_domestic.stop)
        count = len(self.kinds)
        self.k_cloud, self.k_sub, self.k_grey = count - 3, count - 2, count - 1
        self.grey_mix = grey_mix
        self.perf = self._fit(train_weight, memory_need, memory_preference)
        self.perf_floor = np.maximum(self.perf, 1e-9)  # what costs are divided by

    def __len__(self) -> int:
        return len(self.kinds)

    def legal_fit(self, chip: str) -> np.ndarray:
        """Per buyer, H100e one unit of a US part gives."""
        return self.perf[:, US_CHIPS.index(chip)]

    def cloud_fit(self) -> np.ndarray:
        """Per buyer, H100e one rented cloud GPU gives."""
        return self.perf[:, self.k_cloud]

    def _spec(self, chip: str | None) -> tuple[float, float, float]:
        if chip is not None:
            c = CHIPS[chip]
            return c.train_h100e, c.infer_h100e, c.memory_gb
        return tuple(  # type: ignore[return-value]
            sum(w * getattr(CHIPS[c], a) for c, w in self.grey_mix.items())
            for a in ("train_h100e", "infer_h100e", "memory_gb")
        )

    def _fit(self, train_weight: np.ndarray, memory_need: np.ndarray,
             memory_preference: float) -> np.ndarray:
        """H100e each buyer gets from one unit of each option (training/inference mix, memory)."""
        specs = np.array([self._spec(chip) for _, chip in self.kinds])  # (K, 3)
        w = train_weight[:, None]
        perf = w * specs[None, :, 0] + (1 - w) * specs[None, :, 1]
        fit = np.minimum(1.0, specs[None, :, 2] / memory_need[:, None])
        return perf * fit ** memory_preference
