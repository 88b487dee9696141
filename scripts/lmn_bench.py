"""LMN speed at N = 961 on the paper's sub-network, against this machine's GEMM rate.

    python scripts/lmn_bench.py [--rounds 3] [--cuda]

One torch thread. Rounds interleave a 1024^3 float32 GEMM (the reference
rate), the LMN fast path (``linear_mapping_number(f, x)`` with f an
nn.Sequential), and the generic path (f wrapped in a lambda: every one of the
N(N-1)/2 x 21 interpolated points goes through the whole of f). Best of the
rounds for each, so a busy shared machine hurts every figure alike.
"naive GFLOP/s" counts 2 x MACs of a plain forward of every interpolated
point (``bench.lmn_naive_flops``); the fast path does less work
(see measures/lmn.py), so its naive rate is an equivalent rate, not FLOPs done.
"""

import argparse
import os
import time

import torch

from complexity_bench.bench import lmn_case, lmn_naive_flops
from complexity_bench.measures.lmn import linear_mapping_number

ap = argparse.ArgumentParser()
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--n", type=int, default=961)
ap.add_argument("--cuda", action="store_true", help="also time the fast path on the GPU")
args = ap.parse_args()
torch.set_num_threads(1)
n = args.n
f, x = lmn_case(n)
naive = lmn_naive_flops(n)
# work the fast path actually does: the first Linear on the N samples, then per inner point SiLU + Linear(100, 32 padded)
done = 2 * (n * 100 * 100 + 19 * n * (n - 1) // 2 * 100 * 32 + n * 100 * 32)
a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)


def gemm_rate() -> float:
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * 1024**3 / best / 1e9


def timed(fn):
    t = time.perf_counter()
    v = fn()
    return time.perf_counter() - t, v


peak, fast, generic = [], [], []
for _ in range(args.rounds):
    peak.append(gemm_rate())
    fast.append(timed(lambda: linear_mapping_number(f, x)))
    peak.append(gemm_rate())
    generic.append(timed(lambda: linear_mapping_number(lambda z: f(z), x)))
pk = max(peak)
tf, vf = min(fast)
tg, vg = min(generic)
print(f"machine: {os.cpu_count()} cpus, torch {torch.__version__}, load {os.getloadavg()[0]:.1f}; N={n}")
print(f"GEMM 1024^3 float32, 1 thread: {pk:.1f} GFLOP/s (rounds: {', '.join(f'{p:.1f}' for p in peak)})")
print(f"LMN fast path: {tf:.2f} s (LMN {vf:.6f}); naive-equivalent {naive / tf / 1e9:.1f} GFLOP/s "
      f"= {naive / tf / 1e9 / pk:.0%} of GEMM; FLOPs actually done {done / tf / 1e9:.1f} GFLOP/s")
print(f"LMN generic path: {tg:.2f} s (LMN {vg:.6f}); {naive / tg / 1e9:.1f} GFLOP/s = {naive / tg / 1e9 / pk:.0%} of GEMM")
if args.cuda and torch.cuda.is_available():
    fc, xc = f.cuda(), x.cuda()
    linear_mapping_number(fc, xc, chunk_rows=1 << 22)  # warm-up
    torch.cuda.synchronize()
    tc, vc = min(timed(lambda: linear_mapping_number(fc, xc, chunk_rows=1 << 22)) for _ in range(3))
    print(f"LMN fast path on {torch.cuda.get_device_name()}: {tc:.3f} s (LMN {vc:.6f})")
