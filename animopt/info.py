"""What the views know of a problem: numpy only (views never import torch)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class ProblemInfo:
    type: str
    param_names: tuple[str, ...]
    data: dict[str, np.ndarray] = field(default_factory=dict)   # e.g. x, y for `line`; X, Y for `linear`
    true_params: np.ndarray | None = None                       # [P] the parameters that made the data
    minimum: np.ndarray | None = None                           # [P] known minimiser (or least squares)
    min_loss: float | None = None
    window: np.ndarray | None = None                            # [P, 2] a sensible plotting range
    loss_fn: Callable[[np.ndarray], np.ndarray] | None = None   # [K, P] -> [K] full-data loss
    batch_size: int | None = None
    # classifiers: ([K, P] params, [M, inputs] points) -> [K, M, classes] scores (argmax: the predicted class)
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    accuracy_fn: Callable[[np.ndarray], np.ndarray] | None = None   # [K, P] -> [K] training accuracy
