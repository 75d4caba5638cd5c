"""The options a Chinese buyer chooses among, and how well each fits its work.

Options, in column order: a legal import of each US part, each domestic part, renting offshore
cloud GPUs, buying through an offshore front company (the smugglers' chip mix), and the grey
market (the same mix, smuggled into China). The fit of an option to a buyer is the
H100-equivalents one unit gives it: the buyer's training/inference mix of the part's two speeds,
scaled down when the part has less memory than the buyer's models want. The fit is fixed for a
run; it is worked out once.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sim.world.catalogue import CLOUD_CHIP, DOMESTIC_CHIPS, US_CHIPS, chip_parameter

_SPEC = ("train_h100e", "infer_h100e", "memory_gb")


class Options:
    """Layout of the option tables, and each option's fit.

    Tables per profile are (replications, profiles, options); tables per need are option-major,
    (replications, options, needs), so that what one option does for every need is contiguous.

    Args:
        train_weight: per profile, 1 for a training need, 0 for inference (R, P).
        memory_need: per profile, the memory per chip its models want, GB (R, P).
        profile_of: each need's profile (n,).
        mix: the smugglers' chip mix (chip -> share per replication (R, 1), summing to 1).
        memory_preference: exponent on the memory fit, per replication (R, 1).
        params: each replication's parameters (the chips' speeds and memory).

    """

    def __init__(self, train_weight: np.ndarray, memory_need: np.ndarray,
                 profile_of: np.ndarray, mix: Mapping[str, np.ndarray],
                 memory_preference: np.ndarray, params: Mapping[str, np.ndarray]) -> None:
        self.params = params
        self.kinds: list[tuple[str, str | None]] = (
            [("legal", c) for c in US_CHIPS]
            + [("domestic", c) for c in DOMESTIC_CHIPS]
            + [("cloud", CLOUD_CHIP), ("front", None), ("grey", None)]
        )
        self.k_legal = range(len(US_CHIPS))
        self.k_domestic = range(len(US_CHIPS), len(US_CHIPS) + len(DOMESTIC_CHIPS))
        self.legal_cols = slice(self.k_legal.start, self.k_legal.stop)
        self.domestic_cols = slice(self.k_domestic.start, self.k_domestic.stop)
        count = len(self.kinds)
        self.k_cloud, self.k_front, self.k_grey = count - 3, count - 2, count - 1
        #: H100e one unit of each option gives each profile (R, P, K) ...
        self.profile_perf = self._fit(train_weight, memory_need, mix, memory_preference)
        self.profile_perf_floor = np.maximum(self.profile_perf, 1e-9)  # what costs divide by
        #: ... and each need, option-major so that one option's column is contiguous (R, K, n)
        self.perf = np.ascontiguousarray(self.profile_perf.transpose(0, 2, 1)[:, :, profile_of])
        #: units of each option a profile needs per H100e (R, P, K): multiplying is cheaper
        #: than dividing, and a need reads its profile's row instead of a table of its own
        self.units_per_h100e = 1.0 / self.profile_perf_floor

    def __len__(self) -> int:
        return len(self.kinds)

    def legal_fit(self, chip: str) -> np.ndarray:
        """Per buyer, H100e one unit of a US part gives (R, n)."""
        return self.perf[:, US_CHIPS.index(chip), :]

    def fit(self, k: int) -> np.ndarray:
        """Per buyer, H100e one unit of option ``k`` gives (R, n)."""
        return self.perf[:, k, :]

    def cloud_fit(self) -> np.ndarray:
        """Per buyer, H100e one rented cloud GPU gives (R, n)."""
        return self.perf[:, self.k_cloud, :]

    def _specs(self, mix: Mapping[str, np.ndarray], r: int) -> np.ndarray:
        """Training speed, inference speed and memory of each option: (R, K, 3)."""
        def spec(chip: str, field: str) -> np.ndarray:
            return self.params[chip_parameter(chip, field)][:, 0]

        specs = np.empty((r, len(self.kinds), 3))
        for k, (_, chip) in enumerate(self.kinds):
            for j, field in enumerate(_SPEC):
                if chip is not None:
                    specs[:, k, j] = spec(chip, field)
                else:  # the smugglers' mix, per replication
                    specs[:, k, j] = sum(w[:, 0] * spec(c, field) for c, w in mix.items())
        return specs

    def _fit(self, train_weight: np.ndarray, memory_need: np.ndarray,
             mix: Mapping[str, np.ndarray], memory_preference: np.ndarray) -> np.ndarray:
        """H100e each profile gets from one unit of each option (workload, memory): (R, P, K)."""
        specs = self._specs(mix, train_weight.shape[0])[:, None, :, :]  # (R, 1, K, 3)
        w = train_weight[:, :, None]
        perf = w * specs[..., 0] + (1 - w) * specs[..., 1]
        fit = np.minimum(1.0, specs[..., 2] / memory_need[:, :, None])
        return perf * fit ** memory_preference[:, :, None]
