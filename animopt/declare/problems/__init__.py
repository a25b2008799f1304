"""The problems a scene may name (`[problem] type = ...`): keys, checks and docs, without torch. Each
declaration names its torch builder (animopt/problems/) by a dotted path."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ...spec import Field
from .. import lookup


@dataclass(frozen=True)
class ProblemDef:
    """One `[problem] type = ...`: its keys, its builder (a dotted path to `(values, BuildCtx) -> Problem`),
    and checks that need the whole table (returning (key, message) pairs; `key` is relative to `problem`)."""

    name: str
    fields: dict[str, Field]
    builder: str
    check: Callable[[dict[str, Any], Path], list[tuple[str, str]]] = field(default=lambda values, base_dir: [])
    doc: str = ""

    def build(self, values: dict[str, Any], ctx):
        """The torch Problem (imports its module on first use); `ctx.type` is this problem's name."""
        return lookup(self.builder)(values, replace(ctx, type=self.name))


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

__all__ = ["ProblemDef", "PROBLEMS", "finite"]
