"""`mlp`: a small fully connected network (torch's nn.Sequential of nn.Linear layers and activations)
classifying 2-D points: moons, circles, spirals, xor or blobs drawn from the scene's seed, or a CSV file.

Every run has its own weights: the flat `[R, P]` parameters are unpacked into `[R, out, in]` weight and
`[R, out]` bias tensors and the runs go through the network together (batched matrix products).
Parameters are in the order of `nn.Sequential(...).parameters()`: each layer's weight `[out, in]` row by
row, then its bias, named `l0.weight[o,i]`, `l0.bias[o]`, `l1.weight[o,i]`, ... The start is what
`torch.manual_seed(init_seed)` then `nn.Sequential(nn.Linear(2, h0), act, ..., nn.Linear(h_last, K))`
gives (float32 numbers, as torch makes them, held in the scene's dtype), so `params[0]` of the History
rebuilds the network.
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F

from ..declare.problems.mlp import classes, layer_shapes, load_data, make_dataset, matrices, param_names
from ..declare.problems.nets import CHUNK_VALUES  # hidden activations held at once (numpy's too)
from .base import BuildCtx, Problem, class_loss, window_around

__all__ = ["MLP", "build", "layer_shapes", "load_data", "make_dataset", "param_names", "torch_init"]

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "gelu": F.gelu, "sigmoid": torch.sigmoid}
IN_PLACE = {"relu": torch.relu_, "tanh": torch.tanh_, "gelu": F.gelu, "sigmoid": torch.sigmoid_}


# ------------------------------------------------------------------------------------------ network

def torch_init(shapes, seed: int) -> np.ndarray:
    """The flat parameters nn.Linear gives after torch.manual_seed(seed), layer after layer: weight and
    bias uniform in +-1/sqrt(fan_in) (kaiming_uniform_ with a = sqrt(5)), drawn in float32 on the CPU."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for o, i in shapes:
        bound = 1.0 / math.sqrt(i)
        w = torch.empty((o, i), dtype=torch.float32).uniform_(-bound, bound, generator=g)
        b = torch.empty(o, dtype=torch.float32).uniform_(-bound, bound, generator=g)
        out += [w.reshape(-1), b]
    return torch.cat(out).double().numpy()


@contextmanager
def one_thread():
    """One torch thread for the views' evaluations (chunks of a few MB): a second thread only contends
    on a busy machine (as in the simulator), and the frames are drawn in between."""
    n0 = torch.get_num_threads()
    if n0 > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if n0 > 1:
            torch.set_num_threads(n0)


class MLP(Problem):
    type = "mlp"

    def __init__(self, X: np.ndarray, y: np.ndarray, classes: int, hidden, activation: str, loss: str,
                 init_seed: int, ctx: BuildCtx):
        self.device, self.dtype = ctx.device, ctx.dtype
        self._X, self._y = X.astype(np.float64), y.astype(np.int64)
        self.n, self.inputs = X.shape
        self.classes, self.kind, self.activation = classes, loss, activation
        self.hidden = tuple(hidden)
        self.shapes = layer_shapes(self.inputs, self.hidden, classes)
        self.param_names = param_names(self.shapes)
        self.matrices = matrices(self.shapes)
        self.width = max(o for o, _ in self.shapes)
        self.default_init = tuple(float(v) for v in torch_init(self.shapes, init_seed))
        self.minimum = None
        self.window = window_around(np.array(self.default_init), margin=0.5, min_margin=1.0)
        self._act, self._act_ = ACTIVATIONS[activation], IN_PLACE[activation]
        self.X = torch.as_tensor(self._X, dtype=ctx.dtype, device=ctx.device)
        self.y = torch.as_tensor(self._y, device=ctx.device)
        self.T = torch.as_tensor(np.eye(classes)[self._y], dtype=ctx.dtype, device=ctx.device)

    def layers(self, params):
        """[(W [R, out, in], b [R, out])] views of the flat parameters."""
        R, at, out = len(params), 0, []
        for o, i in self.shapes:
            W = params[:, at:at + o * i].reshape(R, o, i)
            at += o * i
            out.append((W, params[:, at:at + o]))
            at += o
        return out

    def forward(self, params, X):
        """The outputs `[R, m, classes]` of every run's network: X `[m, inputs]` (the same points for
        every run) or `[R, m, inputs]` (each run its own)."""
        h = X
        layers = self.layers(params)
        inplace = not torch.is_grad_enabled()      # no autograd graph: the activations overwrite h
        for k, (W, b) in enumerate(layers):
            if h.dim() == 2:
                h = torch.einsum("mi,roi->rmo", h, W) + b[:, None, :]
            else:
                h = torch.baddbmm(b[:, None, :], h, W.transpose(1, 2))
            if k < len(layers) - 1:
                h = self._act_(h) if inplace else self._act(h)
        return h

    def loss(self, params, idx=None, weight=None):
        return class_loss(self, self.forward(params, self.X if idx is None else self.X[idx]), idx, weight)

    def _rows(self, m: int) -> int:
        return max(1, CHUNK_VALUES // max(1, m * self.width))

    def numpy_loss(self, params: np.ndarray, chunk: int = 65536) -> np.ndarray:
        """Full-data loss of `[K, P]` parameter sets, in chunks that keep the hidden activations small
        (a landscape of 80 x 80 points at once)."""
        with one_thread():
            return super().numpy_loss(params, chunk=min(chunk, self._rows(self.n)))

    def predict(self, params: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Scores `[K, M, classes]` of `[K, P]` networks at `[M, inputs]` points: the class
        probabilities with cross-entropy, the raw outputs with mse (argmax: the predicted class)."""
        p = np.asarray(params, dtype=np.float64).reshape(-1, len(self.param_names))
        pts = torch.as_tensor(np.asarray(points, dtype=np.float64), dtype=self.dtype, device=self.device)
        out, rows = [], self._rows(len(pts))
        with torch.no_grad(), one_thread():
            for s in range(0, len(p), rows):
                z = self.forward(torch.as_tensor(p[s:s + rows], dtype=self.dtype, device=self.device), pts)
                out.append((z.softmax(-1) if self.kind == "cross_entropy" else z).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(pts), self.classes))

    def accuracy(self, params: np.ndarray) -> np.ndarray:
        """Share of the training points classified right, for `[K, P]` parameters."""
        p = np.asarray(params, dtype=np.float64).reshape(-1, len(self.param_names))
        out, rows = [], self._rows(self.n)
        with torch.no_grad(), one_thread():
            for s in range(0, len(p), rows):
                z = self.forward(torch.as_tensor(p[s:s + rows], dtype=self.dtype, device=self.device), self.X)
                out.append((z.argmax(-1) == self.y).double().mean(-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def data(self):
        return {"X": self._X, "y": self._y}

    def info(self):
        from dataclasses import replace

        return replace(super().info(), predict=self.predict, accuracy_fn=self.accuracy)


def build(v, ctx: BuildCtx) -> MLP:
    X, y = load_data(v, ctx.seed, ctx.base_dir, ctx.file)
    K = classes(v, y, ctx.file)
    return MLP(X, y, K, v["hidden"], v["activation"], v["loss"], v["init_seed"], ctx)
