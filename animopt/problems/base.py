"""The problem interface: a differentiable loss over batched parameters `[R, P]` (torch)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..declare.problems.data import least_squares  # noqa: F401  (the problems' import)
from ..declare.problems.linear import weight_names  # noqa: F401
from ..info import ProblemInfo


@dataclass(frozen=True)
class BuildCtx:
    seed: int
    base_dir: Path            # folder of the scene file: relative data paths start here
    device: torch.device
    dtype: torch.dtype
    file: str = "<scene>"     # the scene file, for error messages
    type: str = ""            # the problem's type (ProblemDef.build sets it)


class Problem:
    """A loss over parameters. Subclasses set the attributes and implement `loss`.

    `loss(params, idx, weight)`: params `[R, P]`; `idx` `[R, B]` long indices of the data points in
    each run's minibatch and `weight` `[R, B]` (1/B for real points, 0 for padding), or both None for the
    full data (or the analytic function). Returns `[R]`.
    """

    type: str = ""
    param_names: tuple[str, ...] = ()
    n: int | None = None                  # data points; None for analytic problems
    default_init: tuple[float, ...] = ()
    minimum: np.ndarray | None = None
    true_params: np.ndarray | None = None
    window: np.ndarray | None = None      # [P, 2]
    matrices: tuple = ()                  # weight matrices in the parameter vector: (offset, rows, cols), row-major (Muon)

    def loss(self, params: Tensor, idx: Tensor | None = None, weight: Tensor | None = None) -> Tensor:
        raise NotImplementedError

    def data(self) -> dict[str, np.ndarray]:
        return {}

    def info(self) -> ProblemInfo:
        return ProblemInfo(
            type=self.type, param_names=tuple(self.param_names), data=self.data(),
            true_params=self.true_params, minimum=self.minimum,
            min_loss=(float(self.numpy_loss(self.minimum[None])[0]) if self.minimum is not None else None),
            window=self.window, loss_fn=self.numpy_loss)

    def numpy_loss(self, params: np.ndarray, chunk: int = 65536) -> np.ndarray:
        """Full-data loss for `[K, P]` numpy parameters, in chunks (for contour grids)."""
        p = np.asarray(params, dtype=np.float64)
        out = []
        with torch.no_grad():
            dev = self.device
            for i in range(0, len(p), chunk):
                t = torch.as_tensor(p[i:i + chunk], dtype=self.dtype, device=dev)
                out.append(self.loss(t).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0)

    device: torch.device = torch.device("cpu")
    dtype: torch.dtype = torch.float64


def mse(pred: Tensor, target: Tensor, weight: Tensor | None) -> Tensor:
    """Mean squared error per run. pred/target `[R, B, ...]`; weight `[R, B]` sums to 1 per run."""
    sq = (pred - target) ** 2
    if sq.dim() > 2:
        sq = sq.flatten(2).mean(-1)
    if weight is None:
        return sq.mean(-1)
    return (sq * weight).sum(-1)


def class_loss(problem, scores: Tensor, idx, weight: Tensor | None) -> Tensor:
    """Per run: `problem.kind` "mse" on one-hot targets `problem.T`, else cross-entropy on labels
    `problem.y`, of `[R, b, classes]` scores at the data rows `idx` (None: all)."""
    import torch.nn.functional as F

    runs = len(scores)
    if problem.kind == "mse":
        targets = problem.T.expand(runs, -1, -1) if idx is None else problem.T[idx]
        return mse(scores, targets, weight)
    labels = problem.y.expand(runs, -1) if idx is None else problem.y[idx]
    ce = F.cross_entropy(scores.reshape(-1, problem.classes), labels.reshape(-1), reduction="none")
    ce = ce.reshape(labels.shape)
    return ce.mean(-1) if weight is None else (ce * weight).sum(-1)


def window_around(*points, margin: float = 0.5, min_margin: float = 1.0) -> np.ndarray:
    """A `[P, 2]` plotting range holding every given point (None skipped), widened on each side by
    `margin` times its span, and by at least `min_margin`."""
    pts = np.array([np.asarray(p, dtype=np.float64) for p in points if p is not None])
    lo, hi = pts.min(0), pts.max(0)
    pad = np.maximum(margin * (hi - lo), min_margin)
    return np.stack([lo - pad, hi + pad], 1)
