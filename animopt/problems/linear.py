"""`linear`: the multi-dimensional linear model of seed 004, Y = X W + B, fitted by mean squared error
(averaged over the samples and the outputs). Parameters: W row-major (`W[i,j]`), then B (`B[j]`)."""
from __future__ import annotations

import numpy as np
import torch

from ..declare.problems.linear import linear_data
from .base import BuildCtx, Problem, least_squares, mse, weight_names, window_around

GRAM_MAX_PARAMS = 1024       # the full-data gradient comes from a [P, P] matrix up to this many parameters


class Linear(Problem):
    type = "linear"

    def __init__(self, X: np.ndarray, Y: np.ndarray, true: np.ndarray | None, ctx: BuildCtx):
        self.device, self.dtype = ctx.device, ctx.dtype
        self._X, self._Y = X.astype(np.float64), Y.astype(np.float64)
        self.n, self.inputs = X.shape
        self.outputs = Y.shape[1]
        self.param_names = weight_names(self.inputs, self.outputs)
        self.matrices = ((0, self.inputs, self.outputs),)
        self.X = torch.as_tensor(self._X, dtype=ctx.dtype, device=ctx.device)
        self.Y = torch.as_tensor(self._Y, dtype=ctx.dtype, device=ctx.device)
        A = np.hstack([self._X, np.ones((self.n, 1))])
        sol = least_squares(A, self._Y)                             # [I+1, O] (the smallest, if several)
        self.minimum = None if sol is None else np.concatenate([sol[:-1].ravel(), sol[-1]])
        self.true_params = true
        self.default_init = (0.0,) * len(self.param_names)
        self.window = window_around(self.minimum, self.default_init, true)
        self._A = torch.as_tensor(A, dtype=ctx.dtype, device=ctx.device)
        P = len(self.param_names)
        self._gram = self._gram_form(A, ctx) if P <= min(self.n, GRAM_MAX_PARAMS) else None

    def split(self, params):
        R, k = len(params), self.inputs * self.outputs
        return params[:, :k].reshape(R, self.inputs, self.outputs), params[:, k:]

    def residuals(self, params):
        """X W + B - Y of every run on the full data, `[n, R, outputs]`: one matrix product for all runs,
        A [n, inputs+1] @ [W; B] [inputs+1, R*outputs] with A = [X, 1]."""
        R, k, m = len(params), self.inputs + 1, self.outputs
        Wb = params.reshape(R, k, m).transpose(0, 1).reshape(k, R * m)
        return (self._A @ Wb).view(self.n, R, m) - self.Y[:, None]

    def loss(self, params, idx=None, weight=None):
        if idx is None:
            r = self.residuals(params)
            return (r * r).mean((0, 2))
        W, B = self.split(params)
        return mse(torch.bmm(self.X[idx], W) + B[:, None, :], self.Y[idx], weight)

    def loss_and_grad(self, params, idx=None, weight=None):
        """`loss` and its closed-form gradient: with r = X W + B - Y, the gradient is 2/(n m) X^T r for W
        and 2/(n m) sum_i r_i for B (seed 004; m outputs), each sample weighted in a minibatch. What the
        simulator uses instead of autograd. For the full data with fewer parameters than samples, from the
        quadratic form below: each step then costs parameters^2 per run instead of samples x parameters."""
        if idx is None and self._gram is not None:
            return self._full_from_gram(params)
        R, k, m = len(params), self.inputs + 1, self.outputs
        if idx is None:
            r, s = self.residuals(params), 1.0 / (self.n * m)
            g = (self._A.T @ r.view(self.n, R * m)).view(k, R, m).transpose(0, 1).reshape(R, k * m)
            return (r * r).sum((0, 2)) * s, g * (2 * s)
        shared = idx.dim() == 2 and idx.stride(0) == 0 and weight.stride(0) == 0
        if shared and self._gram is not None and len(self.param_names) <= idx.shape[1]:
            return self._batch_from_gram(params, idx[0], weight[0])
        W, B = self.split(params)
        if shared:
            # every run on the same minibatch (the simulator's shared table, one batch size): the batch's
            # rows once, multiplied into every run's W by broadcasting, not gathered per run (3x faster)
            X, Y, w = self.X[idx[0]], self.Y[idx[0]], weight[0]                   # [b, inputs], [b, m], [b]
            r = X @ W + B[:, None, :] - Y                                         # [R, b, m]
            wr = r * (w * (2.0 / m))[None, :, None]
            g = torch.cat([(X.T @ wr).flatten(1), wr.sum(1)], 1)
            return ((r * r).mean(-1) * w).sum(-1), g
        X = self.X[idx]                                                          # [R, b, inputs]
        r = torch.bmm(X, W) + B[:, None, :] - self.Y[idx]
        wr = r * (weight * (2.0 / m))[:, :, None]
        g = torch.cat([torch.bmm(X.transpose(1, 2), wr).flatten(1), wr.sum(1)], 1)
        return ((r * r).mean(-1) * weight).sum(-1), g

    def _gram_form(self, A: np.ndarray, ctx: BuildCtx) -> tuple | None:
        """The full-data loss as a quadratic form in the parameters p (W row-major, then B: the rows of
        [W; B], so that X W + B = A [W; B] with A = [X, 1]), taken around a point p0 (the least-squares
        solution, else 0) so that nothing large cancels near the minimum:
            n m L(p) = d.G d + 2 h.d + c,   gradient = 2/(n m) (G d + h),   d = p - p0,
        with G = kron(A^T A, I_m), h = A^T r0 and c = |r0|^2 for the residual r0 = A [W0; B0] - Y.
        None where these numbers overflow (then every step uses the residuals)."""
        m = self.outputs
        p0 = self.minimum if self.minimum is not None else np.zeros((self.inputs + 1) * m)
        with np.errstate(all="ignore"):
            r0 = A @ p0.reshape(self.inputs + 1, m) - self._Y
            G, h, c = np.kron(A.T @ A, np.eye(m)), (A.T @ r0).ravel(), np.sum(r0 * r0)
        G, h, c, p0 = (torch.as_tensor(a, dtype=ctx.dtype, device=ctx.device) for a in (G, h, c, p0))
        if not all(bool(torch.isfinite(a).all()) for a in (G, h, c)):       # in the scene's dtype
            return None
        return G, h, c, p0, 1.0 / r0.size

    def _full_from_gram(self, params):
        G, h, c, p0, s = self._gram
        d = params - p0
        Gd = d @ G
        loss = (((Gd + 2 * h) * d).sum(-1) + c).clamp_min(0) * s
        return loss, (Gd + h) * (2 * s)

    def _full_loss_from_gram(self, params):
        """`_full_from_gram`'s loss alone (the simulator's full-data loss of each recorded point)."""
        G, h, c, p0, s = self._gram
        d = params - p0
        return ((((d @ G) + 2 * h) * d).sum(-1) + c).clamp_min(0) * s    # as _full_from_gram, bit for bit

    def _batch_from_gram(self, params, rows, w):
        """Every run on the same minibatch `rows` (weights `w`): the batch's loss and gradient as a
        quadratic form around the least-squares point p0, like `_full_from_gram` with the batch's weighted
        G = kron(A_b^T diag(w) A_b, I_m), h = A_b^T diag(w) r0_b, c = sum w |r0_b|^2 (float64, [P, P] once
        a step): parameters^2 a run instead of the batch's rows x parameters (the million-run sweep's step)."""
        m, p0 = self.outputs, self._gram[3]
        ri = rows.cpu().numpy()
        wi = w.cpu().numpy().astype(np.float64)
        A = np.hstack([self._X[ri], np.ones((len(ri), 1))])
        r0 = A @ p0.cpu().numpy().astype(np.float64).reshape(self.inputs + 1, m) - self._Y[ri]
        Aw = A * wi[:, None]
        G = torch.as_tensor(np.kron(Aw.T @ A, np.eye(m)), dtype=self.dtype, device=self.device)
        h = torch.as_tensor((Aw.T @ r0).ravel(), dtype=self.dtype, device=self.device)
        c = float(np.sum(wi[:, None] * r0 * r0))
        d = params - p0
        Gd = d @ G
        loss = (((Gd + 2 * h) * d).sum(-1) + c).clamp_min(0) * (1.0 / m)
        return loss, (Gd + h) * (2.0 / m)

    def data(self):
        return {"X": self._X, "Y": self._Y}


def build(v, ctx: BuildCtx) -> Linear:
    X, Y, true = linear_data(v, ctx.seed, ctx.base_dir, ctx.file)
    return Linear(X, Y, true, ctx)
