"""Experiment statistics (pure): conversion rates, uplift with a 95% confidence interval,
a p-value and the sample size needed to detect an effect.

The test is the two-sided two-proportion z-test (pooled standard error; equivalent to
Pearson's chi-square test without continuity correction), computed with scipy's normal
distribution. The interval for the uplift (difference of rates) is the Wald interval with the
unpooled standard error. Named on the results page as TEST_NAME.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

TEST_NAME = "two-sided two-proportion z-test (scipy.stats.norm), 95% Wald interval"
ALPHA = 0.05
POWER = 0.8


@dataclass(frozen=True)
class Comparison:
    uplift: float  # rate(arm) - rate(reference), in proportion points
    low: float
    high: float
    p_value: float | None
    needed_per_arm: int | None  # people per arm to detect this uplift at 80% power, alpha 5%


def _norm() -> Any:
    """scipy's normal distribution, imported on first use: scipy.stats takes seconds to import
    and every web and task process loads this module with the URLs."""
    from scipy import stats as sps

    return sps.norm


def rate(conversions: int, exposed: int) -> float | None:
    return conversions / exposed if exposed else None


def compare(conv_a: int, n_a: int, conv_b: int, n_b: int) -> Comparison | None:
    """Arm a against reference b. None when either side has nobody."""
    if n_a == 0 or n_b == 0:
        return None
    pa, pb = conv_a / n_a, conv_b / n_b
    diff = pa - pb
    z_crit = float(_norm().ppf(1 - ALPHA / 2))
    se = math.sqrt(pa * (1 - pa) / n_a + pb * (1 - pb) / n_b)
    low, high = diff - z_crit * se, diff + z_crit * se
    pooled = (conv_a + conv_b) / (n_a + n_b)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    # Nobody or everybody converted on both sides: no variance, no test.
    p_value: float | None = 1.0 if diff == 0 else None
    if se0 > 0:
        p_value = float(2 * _norm().sf(abs(diff) / se0))
    return Comparison(
        uplift=diff,
        low=low,
        high=high,
        p_value=p_value,
        needed_per_arm=sample_size(pb, pa),
    )


def sample_size(p_control: float, p_treatment: float) -> int | None:
    """People per arm for a two-sided test at ALPHA with POWER to detect p_treatment vs
    p_control (None when there is no effect to detect)."""
    if p_control == p_treatment:
        return None
    z_a = float(_norm().ppf(1 - ALPHA / 2))
    z_b = float(_norm().ppf(POWER))
    p_bar = (p_control + p_treatment) / 2
    num = z_a * math.sqrt(2 * p_bar * (1 - p_bar)) + z_b * math.sqrt(
        p_control * (1 - p_control) + p_treatment * (1 - p_treatment)
    )
    return math.ceil(num**2 / (p_control - p_treatment) ** 2)
