"""`classifier`: a single linear layer (logits = X W + B) on the 8x8 digits images, as in seed 000.

Data: scikit-learn's bundled digits (1,797 images of 64 pixels scaled to [0, 1], 10 classes; needs the
optional extra `animopt[digits]`) or an `.npz` file with X [n, features] and y [n] integer labels.
Loss: "mse" on one-hot targets (seed 000's choice), or "cross_entropy". Parameters: W row-major
(`W[i,k]`, pixel i to class k), then B (`B[k]`)."""
from __future__ import annotations

import numpy as np
import torch

from ..declare.problems.classifier import load
from .base import BuildCtx, Problem, class_loss, least_squares, weight_names, window_around


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
        return class_loss(self, self.logits(params, idx), idx, weight)

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


def build(v, ctx: BuildCtx) -> Classifier:
    X, y, K = load(v, ctx.base_dir, ctx.file)
    return Classifier(X, y, K, v["loss"], ctx)
