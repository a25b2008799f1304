"""The classifiers' functions in numpy (`mlp` and `classifier`): the full-data loss of `[K, P]` parameter
sets, their scores at points and their training accuracy, computed as the torch problems compute them
(animopt/problems/mlp.py, classifier.py and base.py's `class_loss`): what the views of a cached History
call, without torch. Evaluated a few parameter sets at a time (at most CHUNK_VALUES scores or hidden
activations at once), in the scene's dtype; numbers come back in float64."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ...threads import one_blas_thread

CHUNK_VALUES = 1 << 20      # hidden activations held at once when many parameter sets are evaluated


# ------------------------------------------------------------------------------------------ erf

# Cephes' rational approximations (S. L. Moshier, ndtr.c, public domain): erf on |x| <= 1, 1 - erfc on
# 1 < |x| < 8 (erfc's other branch, |x| >= 8, is under 1e-29: erf rounds to +-1), relative error about
# 1e-16 (torch's exact gelu uses erf; numpy has none)
_T = (9.60497373987051638749E0, 9.00260197203842689217E1, 2.23200534594684319226E3, 7.00332514112805075473E3,
      5.55923013010394962768E4)
_U = (1.0, 3.35617141647503099647E1, 5.21357949780152679795E2, 4.59432382970980127987E3,
      2.26290000613890934246E4, 4.92673942608635921086E4)
_P = (2.46196981473530512524E-10, 5.64189564831068821977E-1, 7.46321056442269912687E0, 4.86371970985681366614E1,
      1.96520832956077098242E2, 5.26445194995477358631E2, 9.34528527171957607540E2, 1.02755188689515710272E3,
      5.57535335369399327526E2)
_Q = (1.0, 1.32281951154744992508E1, 8.67072140885989742329E1, 3.54937778887819891062E2,
      9.75708501743205489753E2, 1.82390916687909736289E3, 2.24633760818710981792E3, 1.65666309194161350182E3,
      5.57535340817727675546E2)


def _poly(x: np.ndarray, coef) -> np.ndarray:
    out = np.full_like(x, coef[0])
    for c in coef[1:]:
        out *= x
        out += c
    return out


def erf(x) -> np.ndarray:
    """The error function, elementwise, in float64 (Cephes' algorithm; NaN stays NaN)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    small = np.abs(x) <= 1.0
    xs = x[small]
    z = xs * xs
    out[small] = xs * _poly(z, _T) / _poly(z, _U)
    big = ~small                                   # |x| > 1, and NaN
    xb = x[big]
    ab = np.abs(xb)
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.exp(-(xb * xb))                     # erfc(|x|) = exp(-x^2) P(|x|) / Q(|x|)
        y *= _poly(ab, _P)
        y /= _poly(ab, _Q)
    y[ab >= 8.0] = 0.0                             # erf is +-1 there (and no inf / inf at x = +-inf)
    out[big] = np.copysign(1.0 - y, xb)
    return out


# ------------------------------------------------------------------------------------------ activations

def _relu(h):
    return np.maximum(h, 0, out=h)                 # NaN stays NaN, as torch.relu


def _tanh(h):
    return np.tanh(h, out=h)


def _sigmoid(h):                                   # 1 / (1 + exp(-x)), as torch
    with np.errstate(over="ignore"):
        np.negative(h, out=h)
        np.exp(h, out=h)
    h += 1
    return np.reciprocal(h, out=h)


def _gelu(h):                                      # exact gelu: x * 0.5 * (1 + erf(x / sqrt(2))), as torch
    e = erf(h * h.dtype.type(math.sqrt(0.5))).astype(h.dtype, copy=False)
    e += 1
    h *= h.dtype.type(0.5)
    h *= e
    return h


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": _relu, "tanh": _tanh, "gelu": _gelu, "sigmoid": _sigmoid}


def mlp_forward(shapes, activation: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """`forward(params [R, P], X [m, inputs]) -> [R, m, classes]` of the network of nn.Linear layers
    `shapes` ((out, in) each; flat parameters: each layer's weight [out, in] row by row, then its bias)
    with `activation` after every hidden layer, as animopt/problems/mlp.py's MLP.forward."""
    act = ACTIVATIONS[activation]

    def forward(p: np.ndarray, X: np.ndarray) -> np.ndarray:
        R, at, h = len(p), 0, X
        for k, (o, i) in enumerate(shapes):
            Wt = np.ascontiguousarray(p[:, at:at + o * i].reshape(R, o, i).transpose(0, 2, 1))   # BLAS's pace
            at += o * i
            h = np.matmul(h, Wt)                            # [m, i] or [R, m, i] -> [R, m, o]
            h += p[:, None, at:at + o]
            at += o
            if k < len(shapes) - 1:
                h = act(h)
        return h

    return forward


def linear_forward(features: int, classes: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """`forward(params [R, P], X [m, features]) -> [R, m, classes]`: X W + B with W [features, classes]
    row-major then B, as animopt/problems/classifier.py's logits."""
    k = features * classes

    def forward(p: np.ndarray, X: np.ndarray) -> np.ndarray:
        z = np.matmul(X, np.ascontiguousarray(p[:, :k]).reshape(len(p), features, classes))
        z += p[:, None, k:]
        return z

    return forward


# ------------------------------------------------------------------------------------------ the functions

def class_functions(forward: Callable[[np.ndarray, np.ndarray], np.ndarray], X: np.ndarray, y: np.ndarray,
                    classes: int, kind: str, dtype: str, n_params: int, width: int) -> dict[str, Callable]:
    """ProblemInfo's `loss_fn`, `predict` and `accuracy_fn` of a classifier whose scores are
    `forward(params [R, P], points [m, inputs]) -> [R, m, classes]` (in `dtype`), on the data X, y:
    the loss is `kind` "mse" on one-hot targets or cross-entropy on the labels (base.py's class_loss);
    the predictions are class probabilities with cross-entropy, the raw outputs with mse. `width`: the
    widest layer (hidden or output), which sizes the chunks."""
    dt = np.dtype(dtype)
    X, y = np.asarray(X, dtype=np.float64).astype(dt), np.asarray(y).astype(np.int64)
    n, rows_of = len(X), np.arange(len(X))
    T = np.eye(classes)[y].astype(dt)

    def each(params, m: int, f) -> list:
        p = np.asarray(params, dtype=np.float64).reshape(-1, n_params)
        rows = max(1, CHUNK_VALUES // max(1, m * width))
        with np.errstate(all="ignore"), one_blas_thread():   # diverged parameters: inf and NaN, as torch's
            return [f(p[s:s + rows].astype(dt)) for s in range(0, len(p), rows)]

    def loss(z: np.ndarray) -> np.ndarray:
        if kind == "mse":
            z -= T
            z *= z
            return z.mean(-1).mean(-1)
        m = z.max(-1, keepdims=True)
        z -= m                                  # log_softmax: z - max - log(sum(exp(z - max)))
        pick = z[:, rows_of, y]
        np.exp(z, out=z)
        return (np.log(z.sum(-1)) - pick).mean(-1)     # -log_softmax at the label, averaged

    def loss_fn(params: np.ndarray) -> np.ndarray:
        out = each(params, n, lambda p: loss(forward(p, X)).astype(np.float64))
        return np.concatenate(out) if out else np.zeros(0)

    def predict(params: np.ndarray, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64).astype(dt)

        def scores(p):
            z = forward(p, pts)
            if kind == "cross_entropy":
                z -= z.max(-1, keepdims=True)
                np.exp(z, out=z)
                z /= z.sum(-1, keepdims=True)
            return z.astype(np.float64)

        out = each(params, len(pts), scores)
        return np.concatenate(out) if out else np.zeros((0, len(pts), classes))

    def accuracy_fn(params: np.ndarray) -> np.ndarray:
        out = each(params, n, lambda p: (forward(p, X).argmax(-1) == y).mean(-1))
        return np.concatenate(out) if out else np.zeros(0)

    return {"loss_fn": loss_fn, "predict": predict, "accuracy_fn": accuracy_fn}


__all__ = ["ACTIVATIONS", "CHUNK_VALUES", "class_functions", "erf", "linear_forward", "mlp_forward", "one_blas_thread"]
