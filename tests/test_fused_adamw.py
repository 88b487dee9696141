"""The engine's one private torch call, the fused AdamW kernel, against the public path
(docs/architecture.md): both equal torch.optim.AdamW step for step."""

import pytest
import torch

from complexity_bench.engine.fused_adamw import _FUSED, adamw_step

HYPER = dict(lr=3e-3, beta1=0.9, beta2=0.98, weight_decay=0.5, eps=1e-8)


def _trajectory(fused: bool, steps: int = 5) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(4, 3, generator=gen), torch.randn(7, generator=gen)]
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    for k in range(1, steps + 1):
        grads = [torch.randn(p.shape, generator=gen) for p in params]
        adamw_step(params, grads, m, v, torch.tensor(float(k)), fused=fused, **HYPER)
    return params


def _reference(steps: int = 5) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(4, 3, generator=gen).requires_grad_(), torch.randn(7, generator=gen).requires_grad_()]
    opt = torch.optim.AdamW(params, lr=HYPER["lr"], betas=(HYPER["beta1"], HYPER["beta2"]),
                            weight_decay=HYPER["weight_decay"], eps=HYPER["eps"])
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=gen)
        opt.step()
    return [p.detach() for p in params]


def test_public_fallback_equals_torch_optim_adamw():
    for got, ref in zip(_trajectory(fused=False), _reference()):
        torch.testing.assert_close(got, ref)


@pytest.mark.skipif(_FUSED is None, reason="this torch has no fused AdamW kernel")
def test_fused_kernel_equals_the_public_path():
    for got, ref in zip(_trajectory(fused=True), _trajectory(fused=False)):
        torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-7)
