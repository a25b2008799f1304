"""`classifier`: a single linear layer (logits = X W + B) on the 8x8 digits images, as in seed 000.

Data: scikit-learn's bundled digits (1,797 images of 64 pixels scaled to [0, 1], 10 classes; needs the
optional extra `animopt[digits]`) or an `.npz` file with X [n, features] and y [n] integer labels.
Loss: "mse" on one-hot targets (seed 000's choice), or "cross_entropy". Parameters: W row-major
(`W[i,k]`, pixel i to class k), then B (`B[k]`)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..spec import Field, SceneError
from .base import BuildCtx, Problem, ProblemDef, least_squares, mse, weight_names, window_around
from .data import finite_or_error, problems_of, read_npz_arrays

MAX_PARAMS = 1_000_000
INSTALL = "pip install 'animopt[digits]'"


class Classifier(Problem):
    type = "classifier"

    def __init__(self, X: np.ndarray, y: np.ndarray, classes: int, loss: str, ctx: BuildCtx):
        self.device, self.dtype = ctx.device, ctx.dtype
        self._X, self._y = X.astype(np.float64), y.astype(np.int64)
        self.n, self.features = X.shape
        self.classes, self.kind = classes, loss
        self.param_names = weight_names(self.features, classes)
        self.matrices = ((0, self.features, classes),)
        onehot = np.eye(classes)[self._y]
        self.X = torch.as_tensor(self._X, dtype=ctx.dtype, device=ctx.device)
        self.y = torch.as_tensor(self._y, device=ctx.device)
        self.T = torch.as_tensor(onehot, dtype=ctx.dtype, device=ctx.device)
        self.default_init = (0.0,) * len(self.param_names)
        self.minimum = None
        if loss == "mse":   # least squares on one-hot targets (the smallest such weights: pixels may be constant)
            sol = least_squares(np.hstack([self._X, np.ones((self.n, 1))]), onehot)
            self.minimum = None if sol is None else np.concatenate([sol[:-1].ravel(), sol[-1]])
        self.window = window_around(self.minimum, self.default_init, margin=0.25, min_margin=0.5)

    def logits(self, params, idx=None):
        R, k = len(params), self.features * self.classes
        W, B = params[:, :k].reshape(R, self.features, self.classes), params[:, k:]
        if idx is None:
            return torch.einsum("nd,rdk->rnk", self.X, W) + B[:, None, :]
        return torch.bmm(self.X[idx], W) + B[:, None, :]

    def loss(self, params, idx=None, weight=None):
        z = self.logits(params, idx)                                   # [R, b, K]
        if self.kind == "mse":
            T = self.T.expand(len(params), -1, -1) if idx is None else self.T[idx]
            return mse(z, T, weight)
        y = self.y.expand(len(params), -1) if idx is None else self.y[idx]
        ce = F.cross_entropy(z.reshape(-1, self.classes), y.reshape(-1), reduction="none").reshape(y.shape)
        return ce.mean(-1) if weight is None else (ce * weight).sum(-1)

    def accuracy(self, params: np.ndarray) -> np.ndarray:
        """Share of samples classified right, for `[K, P]` numpy parameters."""
        with torch.no_grad():
            t = torch.as_tensor(np.asarray(params), dtype=self.dtype, device=self.device)
            hit = (self.logits(t).argmax(-1) == self.y).to(torch.float64).mean(-1)
        return hit.cpu().numpy()

    def predict(self, params: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Scores `[K, M, classes]` at `[M, features]` points: class probabilities with cross-entropy,
        the raw outputs with mse (argmax: the predicted class)."""
        with torch.no_grad():
            t = torch.as_tensor(np.asarray(params), dtype=self.dtype, device=self.device)
            k = self.features * self.classes
            W, B = t[:, :k].reshape(len(t), self.features, self.classes), t[:, k:]
            X = torch.as_tensor(np.asarray(points), dtype=self.dtype, device=self.device)
            z = torch.einsum("nd,rdk->rnk", X, W) + B[:, None, :]
            return (z.softmax(-1) if self.kind == "cross_entropy" else z).double().cpu().numpy()

    def data(self):
        return {"X": self._X, "y": self._y}

    def info(self):
        from dataclasses import replace

        return replace(super().info(), predict=self.predict, accuracy_fn=self.accuracy)


FIELDS = {
    "npz": Field("path", doc="data file with X [n, features] and y [n] labels 0..K-1 "
                             "(default: scikit-learn's digits)"),
    "loss": Field("str", default="mse", choices=("mse", "cross_entropy"),
                  doc="mse on one-hot targets (seed 000) or cross_entropy"),
    "n": Field("int", ge=1, doc="use only the first n samples (default: all)"),
    "classes": Field("int", ge=2, doc="number of classes (default: the largest label + 1)"),
}


def _sklearn_digits(file: str) -> tuple[np.ndarray, np.ndarray]:
    if importlib.util.find_spec("sklearn") is None:
        raise SceneError.one(file, "problem.npz", "missing: the digits come from scikit-learn, which is not "
                             f"installed; {INSTALL}, or give npz = \"data/digits.npz\" (arrays X and y)")
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data / 16.0, d.target


def _load(v, base_dir: Path, file: str) -> tuple[np.ndarray, np.ndarray, int]:
    if v.get("npz"):
        path = base_dir / v["npz"]
        if not path.is_file():
            raise SceneError.one(file, "problem.npz", f"no such file: {path}")
        X, y = read_npz_arrays(path, (("X",), ("y", "Y")), file, "problem.npz")
        if X.ndim > 2:            # images [n, h, w]: one feature per pixel
            X = X.reshape(len(X), -1)
        if X.ndim != 2 or y.ndim != 1 or len(X) != len(y) or len(X) == 0:
            raise SceneError.one(file, "problem.npz", f"{path}: expected X [n, features] and y [n] with the same "
                                 f"n >= 1, got shapes {list(X.shape)} and {list(y.shape)}")
        finite_or_error({"X": X, "y": y}, path, file, "problem.npz")
        if np.any(y != np.round(y)) or y.min() < 0:
            raise SceneError.one(file, "problem.npz", f"{path}: y must hold integer labels 0, 1, ...")
    else:
        X, y = _sklearn_digits(file)
    if v.get("n") is not None:
        if v["n"] > len(X):
            raise SceneError.one(file, "problem.n", f"the data hold {len(X):,} samples, fewer than n = {v['n']:,}")
        X, y = X[:v["n"]], y[:v["n"]]
    y = y.astype(np.int64)
    K = v.get("classes") or int(y.max()) + 1
    if y.max() >= K:
        raise SceneError.one(file, "problem.classes", f"the labels go up to {int(y.max())}, so classes must be "
                             f"at least {int(y.max()) + 1}, got {K}")
    if (X.shape[1] + 1) * K > MAX_PARAMS:
        raise SceneError.one(file, "problem.npz", f"{(X.shape[1] + 1) * K:,} parameters is more than the limit of "
                             f"{MAX_PARAMS:,}")
    return X.astype(np.float64), y, K


def _build(v, ctx: BuildCtx) -> Classifier:
    X, y, K = _load(v, ctx.base_dir, ctx.file)
    return Classifier(X, y, K, v["loss"], ctx)


def _check(v, base_dir: Path):
    if v.get("npz"):           # a user's file is read now, so a bad one is reported with the scene's other errors
        return problems_of(_load, v, base_dir, "<scene>")
    if importlib.util.find_spec("sklearn") is None:
        return problems_of(_sklearn_digits, "<scene>")
    return []                  # scikit-learn's digits: n and classes are checked when the problem is built


CLASSIFIER = ProblemDef("classifier", FIELDS, _build, _check,
                        doc="a single linear layer on the 8x8 digits (seed 000): mse on one-hot, or cross-entropy")
