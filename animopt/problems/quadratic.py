"""`quadratic`: the bowl of seed 004, L = 1/2 * sum_i gamma_i * (w_i - c_i)^2.

Gradient descent on it has a closed form, w_t - c = (1 - lr*gamma)^t (w_0 - c): it converges for
lr < 2/max(gamma), fastest near lr = 1/max(gamma) (seed 004 calls this the critical rate; the stability
bound is twice it), and diverges past 2/max(gamma)."""
from __future__ import annotations

import numpy as np
import torch

from .base import BuildCtx, Problem


class Quadratic(Problem):
    type = "quadratic"

    def __init__(self, gammas, center, ctx: BuildCtx):
        self.device, self.dtype = ctx.device, ctx.dtype
        self.gammas = np.array(gammas, dtype=np.float64)
        self.center = np.zeros(len(gammas)) if center is None else np.array(center, dtype=np.float64)
        self.param_names = tuple(f"w{i}" for i in range(len(gammas)))
        self._g = torch.as_tensor(self.gammas, dtype=ctx.dtype, device=ctx.device)
        self._c = torch.as_tensor(self.center, dtype=ctx.dtype, device=ctx.device)
        # a minimum only when every curvature is positive; otherwise the center is a saddle (or a maximum)
        self.minimum = self.center.copy() if np.all(self.gammas > 0) else None
        self.stationary = self.center.copy()
        self.default_init = tuple(float(c) + 1.0 for c in self.center)
        self.window = np.stack([self.center - 1.5, self.center + 1.5], 1)

    def loss(self, params, idx=None, weight=None):
        return 0.5 * (self._g * (params - self._c) ** 2).sum(-1)

    def grad(self, params):
        """The closed-form gradient gamma * (w - c)."""
        return self._g * (params - self._c)

    def loss_and_grad(self, params, idx=None, weight=None):
        """`loss` and `grad` in one call: what the simulator uses instead of autograd (no data, so no
        minibatch: idx and weight are ignored, as in `loss`)."""
        return self.loss(params), self.grad(params)

    def data(self):
        return {"gammas": self.gammas, "center": self.center}


def build(v, ctx: BuildCtx) -> Quadratic:
    return Quadratic(v["gammas"], v.get("center"), ctx)
