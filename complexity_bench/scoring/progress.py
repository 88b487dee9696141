"""The early-warning progress p(t) (docs/scoring.md, early warning): one formula for the scorer and the Tracker.

With s = direction * value (larger = more complex), s(T_mem) the value at a run's
memorisation checkpoint and s(0) its first value:

    p(t) = (s(T_mem) - s(t)) / (|s(T_mem) - s(0)| + eps)

how far the measure has fallen since memorisation, relative to how far it rose
before. Larger p = "generalisation is near".

    >>> float(relative_fall(s_mem=10.0, s_init=2.0, s=6.0, eps=0.0))
    0.5
"""

from __future__ import annotations

import numpy as np


def relative_fall(s_mem, s_init, s, eps: float):
    """p(t) elementwise (arrays broadcast; NaN where any input is NaN)."""
    return (s_mem - s) / (np.abs(s_mem - s_init) + eps)
