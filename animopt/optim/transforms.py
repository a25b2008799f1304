"""Small batched gradient transforms (Optax-style init/update pairs). Tensors are [R, P]; numeric
hyperparameters are [R, 1] tensors, one value per run."""
from __future__ import annotations

import torch

from .base import Ctx, Transform


def add_decayed_weights(wd) -> Transform:
    """g + wd * params (L2 penalty, torch's `weight_decay`)."""
    return Transform(lambda p: (), lambda g, s, ctx: (g + wd * ctx.params, s))


def negate(flag: bool) -> Transform:
    """-g when maximizing."""
    return Transform(lambda p: (), lambda g, s, ctx: ((-g if flag else g), s))


def trace_torch(momentum, dampening, nesterov: bool) -> Transform:
    """torch.optim.SGD momentum: buf = g at the first step, then buf = m*buf + (1-d)*g."""

    def init(p):
        return None

    def update(g, buf, ctx: Ctx):
        buf = g.clone() if buf is None else momentum * buf + (1 - dampening) * g
        return (g + momentum * buf if nesterov else buf), buf

    return Transform(init, update)


def scale_by_adam(b1, b2, eps, amsgrad: bool = False) -> Transform:
    """torch.optim.Adam's direction m_hat / (sqrt(v_hat) + eps)."""

    def init(p):
        z = torch.zeros_like(p)
        return (z, z.clone(), z.clone())

    def update(g, state, ctx: Ctx):
        m, v, vmax = state
        t = ctx.t
        m = m + (g - m) * (1 - b1)   # torch's lerp
        v = v * b2 + (1 - b2) * g * g
        bc1 = 1 - b1 ** t
        bc2 = 1 - b2 ** t
        if amsgrad:
            vmax = torch.maximum(vmax, v)
            denom = (vmax.sqrt() / bc2.sqrt()) + eps
        else:
            denom = (v.sqrt() / bc2.sqrt()) + eps
        return m / bc1 / denom, (m, v, vmax)

    return Transform(init, update)
