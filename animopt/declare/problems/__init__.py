"""The problems a scene may name (`[problem] type = ...`): keys, checks and docs, without torch. Each
declaration names its torch builder (animopt/problems/) by a dotted path."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ...info import ProblemInfo
from ...spec import Field
from .. import lookup


def _not_built(*args):
    raise RuntimeError("a problem's outline computes no loss: build the problem (ProblemDef.build)")


@dataclass(frozen=True)
class Outline:
    """What a problem will be, known without building it (no torch): what `animopt validate` checks the
    sweep, the limits and the views against. A least loss that exists but is not computed here is NaN,
    and so is a minimum known to exist (least squares) but not computed."""

    type: str
    param_names: tuple[str, ...]
    default_init: tuple[float, ...]
    n: int | None = None                      # data points; None for analytic problems
    minimum: np.ndarray | None = None
    min_loss: float | None = None
    data: dict[str, np.ndarray] = field(default_factory=dict)   # the keys and shapes the views' checks read
    matrices: tuple = ()                      # (offset, rows, cols) of each weight matrix (Muon)
    classifier: bool = False                  # predicts classes and has an accuracy

    def info(self) -> ProblemInfo:
        """The ProblemInfo the views' checks read; its functions raise if called."""
        fn = _not_built if self.classifier else None
        return ProblemInfo(type=self.type, param_names=self.param_names, data=self.data, minimum=self.minimum,
                           min_loss=self.min_loss, loss_fn=_not_built, predict=fn, accuracy_fn=fn)


def placeholder(*shape) -> np.ndarray:
    """Zeros of `shape` that take no memory (zero strides): data an outline knows the shape of only."""
    return np.broadcast_to(np.zeros(()), shape)


@dataclass(frozen=True)
class ProblemDef:
    """One `[problem] type = ...`: its keys, its builder (a dotted path to `(values, BuildCtx) -> Problem`),
    and checks that need the whole table (returning (key, message) pairs; `key` is relative to `problem`)."""

    name: str
    fields: dict[str, Field]
    builder: str
    check: Callable[[dict[str, Any], Path], list[tuple[str, str]]] = field(default=lambda values, base_dir: [])
    doc: str = ""
    outline: Callable[..., Outline] | None = None   # (values, base_dir, seed, file) -> Outline, no torch
    # (values, base_dir, seed, file, dtype) -> the functions of ProblemInfo that views call, in numpy, as the
    # built problem computes them: {"loss_fn": the full-data loss [K, P] -> [K]} and, for a classifier,
    # "predict" and "accuracy_fn" too (what the views of a cached History call, without torch); None:
    # only the built problem computes them
    numpy_info: Callable[..., dict[str, Callable]] | None = None

    def build(self, values: dict[str, Any], ctx):
        """The torch Problem (imports its module on first use); `ctx.type` is this problem's name."""
        return lookup(self.builder)(values, replace(ctx, type=self.name))

    def numpy_loss(self, values: dict[str, Any], base_dir: Path, seed: int, file: str = "<scene>",
                   dtype: str = "float64") -> Callable[[np.ndarray], np.ndarray]:
        """`numpy_info`'s full-data loss [K, P] -> [K] (the problem must have a `numpy_info`)."""
        return self.numpy_info(values, base_dir, seed, file, dtype)["loss_fn"]


def loss_only(numpy_loss: Callable[..., Callable[[np.ndarray], np.ndarray]]) -> Callable[..., dict[str, Callable]]:
    """The `numpy_info` of a problem whose views call its loss alone, from `(values, base_dir, seed, file,
    dtype) -> the full-data loss [K, P] -> [K]`."""
    def numpy_info(*args, **kw) -> dict[str, Callable]:
        return {"loss_fn": numpy_loss(*args, **kw)}

    return numpy_info


def chunked(f: Callable[[np.ndarray], np.ndarray], dtype: str, chunk: int = 65536) -> Callable:
    """`f` on [K, P] parameters in the scene's dtype, `chunk` rows at a time; returns float64 [K] (as the
    built problem's `numpy_loss`)."""
    def loss(params: np.ndarray) -> np.ndarray:
        p = np.asarray(params, dtype=np.float64)
        out = [np.asarray(f(p[i:i + chunk].astype(dtype)), dtype=np.float64) for i in range(0, len(p), chunk)]
        return np.concatenate(out) if out else np.zeros(0)

    return loss


def finite(v) -> str | None:
    """A Field check: numbers that are not inf or nan (data and landscapes must be finite)."""
    return None if np.all(np.isfinite(np.asarray(v, dtype=np.float64))) else "expected finite numbers, not inf"


def _registry() -> dict[str, ProblemDef]:
    from .classic import CLASSICS
    from .classifier import CLASSIFIER
    from .expression import EXPRESSION
    from .line import LINE
    from .linear import LINEAR
    from .mlp import MLP_DEF
    from .quadratic import QUADRATIC

    return {p.name: p for p in (LINE, LINEAR, QUADRATIC, *CLASSICS, EXPRESSION, CLASSIFIER, MLP_DEF)}


PROBLEMS: dict[str, ProblemDef] = _registry()

__all__ = ["Outline", "ProblemDef", "PROBLEMS", "chunked", "finite", "loss_only", "placeholder"]
