"""A bias-free projection ``rows @ weight.T`` computed on the distinct rows only, bit for bit.

The transformer's attention (``_transformer_stages.AttentionAtLast``) projects every
position of every input to keys and values: 883 training pairs x 3 positions = 2,649
rows, of which only 95 differ (47 tokens at each operand position and the one "=" row).
Projecting the distinct rows and gathering replaces two 2649 x 128 x 128 products by
finding the distinct rows and two 97-row products: 1.9 instead of 7.7 ms per step, a few
percent of a training step under MKL's compatible path (docs/performance.md, "Under
MKL's compatible path", has the measurements).

Bit-exactness rests on how MKL computes a product on its compatible path, measured on
the project's Intel Xeon (docs/performance.md; the compatible path is meant to be one
code path on every x86-64 CPU, and ``exact_here`` checks it where it runs): a row's
result does not depend on the
other rows, except that the last ``M mod 4`` rows of an M-row product take another
kernel, and so does a whole product of fewer than 8 rows. So the distinct rows are
projected as the body of a product of at least ``MIN_BODY`` rows (a multiple of 4, padded
with copies), followed by the original product's own last ``M mod 4`` rows, which keep
their place as the tail. The backward computes exactly what autograd computes for
``torch.mm(rows, weight.t())`` (``MmBackward0``: ``grad @ weight`` and ``grad.T @ rows``).

Used only where that was measured and tested (tests/tasks/test_distinct_rows.py): float32
on the CPU, MKL on its compatible path, outside ``torch.func`` transforms, when the rows
really repeat, and at shapes where one comparison with the plain product in this process
(``exact_here``) found them equal; everywhere else the plain product runs.
"""

from __future__ import annotations

import functools

import torch

TAIL_BLOCK = 4  # MKL's compatible path computes the last M mod 4 rows of a product apart
MIN_BODY = 16  # a product of fewer than 8 rows takes another kernel: stay well above
MAX_SHARE = 0.5  # use it when at most this share of the rows is distinct (else no gain)


@functools.cache
def _mkl_compatible() -> bool:
    from complexity_bench.numerics import MODE, mkl_cbwr

    path = mkl_cbwr()
    return path is not None and path.split(",")[0] == MODE


def applies(rows: torch.Tensor, weight: torch.Tensor) -> bool:
    """True where the distinct-row product is known to equal the plain one bit for bit."""
    wrapped = torch._C._functorch.is_functorch_wrapped_tensor
    return (rows.device.type == "cpu" and rows.dtype == weight.dtype == torch.float32 and rows.dim() == 2
            and rows.is_contiguous() and weight.is_contiguous() and not wrapped(rows) and not wrapped(weight)
            and _mkl_compatible())


def distinct_rows(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(``index``, ``distinct``) with ``distinct[index]`` equal to ``rows`` without its last
    ``len(rows) % TAIL_BLOCK`` rows, or None when too few rows repeat to gain."""
    body = rows.detach()[: len(rows) - len(rows) % TAIL_BLOCK]
    if len(body) == 0:
        return None
    with torch.no_grad():
        # group by a hash of each row, then check that each group's rows are all equal
        hashes = body @ torch.linspace(1.0, 2.0, body.shape[1], dtype=body.dtype, device=body.device)
        values, index = torch.unique(hashes, return_inverse=True)
        if len(values) > MAX_SHARE * len(body):
            return None
        first = torch.empty(len(values), dtype=torch.long, device=body.device)
        first.scatter_(0, index, torch.arange(len(body), device=body.device))
        distinct = body[first]
        if not torch.equal(distinct[index], body):  # two different rows with one hash
            return None
    return index, distinct


def _product(rows: torch.Tensor, weight: torch.Tensor, index: torch.Tensor, distinct: torch.Tensor) -> torch.Tensor:
    m, u = len(rows), len(distinct)
    tail = m % TAIL_BLOCK
    pad = max(MIN_BODY, -(-u // TAIL_BLOCK) * TAIL_BLOCK) - u
    product = torch.cat([distinct, distinct[:1].expand(pad, -1), rows[m - tail:]]).mm(weight.t())
    if tail:  # the tail's rows are the product's last: one gather for all rows
        index = torch.cat([index, torch.arange(u + pad, u + pad + tail, device=index.device)])
    return product[index]


# (rows' shape, weight's shape, distinct rows) -> whether the distinct-row product equalled the plain one
_CHECKED: dict[tuple, bool] = {}


def exact_here(rows: torch.Tensor, weight: torch.Tensor, found: tuple[torch.Tensor, torch.Tensor]) -> bool:
    """Whether the distinct-row product equals ``rows.mm(weight.t())`` bit for bit at these
    shapes: compared once per shape in a process (which kernel MKL takes depends on the
    shapes, not on the values), so a shape where the measured rule fails runs plainly."""
    key = (tuple(rows.shape), tuple(weight.shape), len(found[1]))
    if key not in _CHECKED:
        with torch.no_grad():
            _CHECKED[key] = torch.equal(_product(rows, weight, *found), rows.mm(weight.t()))
    return _CHECKED[key]


class _Projection(torch.autograd.Function):
    @staticmethod
    def forward(ctx, rows: torch.Tensor, weight: torch.Tensor, index: torch.Tensor, distinct: torch.Tensor
                ) -> torch.Tensor:
        ctx.save_for_backward(rows, weight)
        return _product(rows, weight, index, distinct)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        rows, weight = ctx.saved_tensors
        # what MmBackward0 computes for mm(rows, weight.t()), in its operand layouts
        return grad.mm(weight), grad.t().mm(rows), None, None


def project(rows: torch.Tensor, weight: torch.Tensor, found: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """``rows @ weight.T`` from the distinct rows ``found = distinct_rows(rows)``, with
    autograd's gradients for both."""
    index, distinct = found
    return _Projection.apply(rows, weight, index, distinct)
