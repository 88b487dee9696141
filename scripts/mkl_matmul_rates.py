"""float32 matmul rate of MKL's code path in this process, at the suite's shapes (docs/performance.md,
"Under MKL's compatible path").

    MKL_CBWR=COMPATIBLE python scripts/mkl_matmul_rates.py
    MKL_CBWR=AUTO python scripts/mkl_matmul_rates.py

MKL reads MKL_CBWR once, at its first call: one path per process. One torch thread,
process CPU time, best of 3. Prints one JSON line.
"""

import json
import os
import time

import torch

from complexity_bench.numerics import cpu_model, mkl_cbwr

# 1024^3; the transformer's key/value projection (883 pairs x 3 positions); the paper net's 100 -> 100 layer
SHAPES = ((1024, 1024, 1024, 5), (2649, 128, 128, 30), (768, 100, 100, 60))


def seconds_per_product(a: torch.Tensor, b: torch.Tensor, reps: int) -> float:
    a @ b
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(reps):
            a @ b
        best = min(best, (time.process_time() - start) / reps)
    return best


torch.set_num_threads(1)
rates = {}
for m, k, n, reps in SHAPES:
    s = seconds_per_product(torch.randn(m, k), torch.randn(k, n), reps)
    rates[f"{m}x{k}x{n}"] = round(2 * m * k * n / s / 1e9, 1)
print(json.dumps({"mkl_cbwr": mkl_cbwr(), "gflops_one_core": rates, "cpu": cpu_model(),
                  "load_average_1min": os.getloadavg()[0]}))
