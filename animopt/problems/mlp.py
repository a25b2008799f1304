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
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..spec import Field, SceneError
from .base import BuildCtx, Problem, ProblemDef, finite, mse, window_around
from .data import problems_of, read_csv_columns

DATASETS = ("moons", "circles", "spirals", "xor", "blobs", "csv")
ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "gelu": F.gelu, "sigmoid": torch.sigmoid}
IN_PLACE = {"relu": torch.relu_, "tanh": torch.tanh_, "gelu": F.gelu, "sigmoid": torch.sigmoid_}
MAX_PARAMS = 1_000_000
MAX_POINTS = 100_000
CHUNK_VALUES = 1 << 20      # hidden activations held at once when many parameter sets are evaluated


# ------------------------------------------------------------------------------------------ data

def make_dataset(kind: str, n: int, noise: float, seed: int, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """`n` points `[n, 2]` and labels `[n]` of a synthetic set, from `seed` (numpy's default_rng). Moons,
    circles and the xor square are scikit-learn's shapes; spirals are two arms of 1.5 turns; blobs are
    `classes` Gaussian clusters of std `noise` on the unit circle. The classes alternate point by point
    (sizes differ by at most one); `noise` is the std of Gaussian jitter added to every point."""
    rng = np.random.default_rng([seed, 20])
    K = classes if kind == "blobs" else 2
    y = np.arange(n) % K
    u = rng.random(n)
    if kind == "moons":
        t = np.pi * u
        X = np.where(y[:, None] == 0, np.stack([np.cos(t), np.sin(t)], 1),
                     np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)) - [0.5, 0.25]
    elif kind == "circles":
        t = 2 * np.pi * u
        r = np.where(y == 0, 1.0, 0.5)
        X = r[:, None] * np.stack([np.cos(t), np.sin(t)], 1)
    elif kind == "spirals":
        r = np.sqrt(0.02 + 0.98 * u)                  # points spread evenly along the arms
        t = 3 * np.pi * r + np.pi * y
        X = r[:, None] * np.stack([np.cos(t), np.sin(t)], 1)
    elif kind == "xor":
        X = rng.uniform(-1, 1, (n, 2))
        y = ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64)
    elif kind == "blobs":
        a = 2 * np.pi * np.arange(K) / K + np.pi / 2
        X = np.stack([np.cos(a), np.sin(a)], 1)[y]
    else:
        raise ValueError(kind)
    X = X + noise * rng.standard_normal((n, 2))
    return X.astype(np.float64), y.astype(np.int64)


def _read_csv(v, base_dir: Path, file: str) -> tuple[np.ndarray, np.ndarray]:
    path = base_dir / v["path"]
    if not path.is_file():
        raise SceneError.one(file, "problem.path", f"no such file: {path}")
    x0, x1, lab = read_csv_columns(path, ("x0", "x1", "label"), file, "problem.path")
    X = np.stack([x0, x1], 1)
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(lab))):
        raise SceneError.one(file, "problem.path", f"{path}: x0, x1 and label must be finite numbers")
    if np.any(lab != np.round(lab)) or lab.min() < 0:
        raise SceneError.one(file, "problem.path", f"{path}: label must hold integer classes 0, 1, ...")
    if len(X) > MAX_POINTS:
        raise SceneError.one(file, "problem.path", f"{path} holds {len(X):,} points, more than the limit of "
                             f"{MAX_POINTS:,}")
    y = lab.astype(np.int64)
    if y.max() < 1:
        raise SceneError.one(file, "problem.path", f"{path}: every label is 0; a classifier needs two classes")
    return X, y


def load_data(v, seed: int, base_dir: Path, file: str) -> tuple[np.ndarray, np.ndarray]:
    if v["dataset"] == "csv":
        return _read_csv(v, base_dir, file)
    return make_dataset(v["dataset"], v["n"], v["noise"], seed, v.get("classes") or 3)


# ------------------------------------------------------------------------------------------ network

def layer_shapes(inputs: int, hidden, classes: int) -> list[tuple[int, int]]:
    """(out, in) of every nn.Linear of the network."""
    sizes = [inputs, *hidden, classes]
    return [(sizes[k + 1], sizes[k]) for k in range(len(sizes) - 1)]


def param_names(shapes) -> tuple[str, ...]:
    names = []
    for k, (o, i) in enumerate(shapes):
        names += [f"l{k}.weight[{a},{b}]" for a in range(o) for b in range(i)]
        names += [f"l{k}.bias[{a}]" for a in range(o)]
    return tuple(names)


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
        offsets = np.cumsum([0] + [(i + 1) * o for o, i in self.shapes])
        self.matrices = tuple((int(at), o, i) for at, (o, i) in zip(offsets, self.shapes))   # weights [out, in] (Muon)
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
        z = self.forward(params, self.X if idx is None else self.X[idx])           # [R, b, K]
        if self.kind == "mse":
            T = self.T.expand(len(params), -1, -1) if idx is None else self.T[idx]
            return mse(z, T, weight)
        y = self.y.expand(len(params), -1) if idx is None else self.y[idx]
        ce = F.cross_entropy(z.reshape(-1, self.classes), y.reshape(-1), reduction="none").reshape(y.shape)
        return ce.mean(-1) if weight is None else (ce * weight).sum(-1)

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


# ------------------------------------------------------------------------------------------ scene keys

FIELDS = {
    "dataset": Field("str", default="moons", choices=DATASETS,
                     doc="moons, circles, spirals, xor, blobs (drawn from the scene's seed) or csv (`path`)"),
    "n": Field("int", default=200, ge=4, le=MAX_POINTS, doc="points of a synthetic dataset"),
    "noise": Field("number", default=0.1, ge=0, check=finite,
                   doc="std of the Gaussian jitter of a synthetic dataset (blobs: each cluster's std)"),
    "classes": Field("int", ge=2, le=12, doc="blobs: number of clusters (default 3); csv: number of classes "
                                             "(default: the largest label + 1)"),
    "path": Field("path", doc="dataset = \"csv\": a file with columns x0, x1, label (relative to the scene file)"),
    "hidden": Field("ints", default=(16, 16), ge=1, le=4096, doc="hidden layer widths ([] : a linear classifier)"),
    "activation": Field("str", default="relu", choices=tuple(ACTIVATIONS), doc="after every hidden layer"),
    "loss": Field("str", default="cross_entropy", choices=("cross_entropy", "mse"),
                  doc="cross_entropy on the logits, or mse of the outputs against one-hot targets"),
    "init_seed": Field("int", default=0, ge=0,
                       doc="torch.manual_seed before nn.Linear's initialisation: every run starts from "
                           "these weights (unless train.init says otherwise)"),
}


def _classes(v, y: np.ndarray, file: str) -> int:
    K = int(y.max()) + 1
    if v["dataset"] == "csv" and v.get("classes") is not None:
        if v["classes"] < K:
            raise SceneError.one(file, "problem.classes", f"the labels go up to {K - 1}, so classes must be at "
                                 f"least {K}, got {v['classes']}")
        K = v["classes"]
    return K


def _build(v, ctx: BuildCtx) -> MLP:
    X, y = load_data(v, ctx.seed, ctx.base_dir, ctx.file)
    K = _classes(v, y, ctx.file)
    return MLP(X, y, K, v["hidden"], v["activation"], v["loss"], v["init_seed"], ctx)


def _check(v, base_dir: Path):
    errs = []
    if v["dataset"] == "csv":
        if not v.get("path"):
            return [("path", "missing: dataset = \"csv\" reads its points from a file with columns x0, x1, "
                             "label")]
        errs += problems_of(lambda: _classes(v, _read_csv(v, base_dir, "<scene>")[1], "<scene>"))
        if errs:
            return errs
    else:
        if v.get("path"):
            errs.append(("path", f"a file is read with dataset = \"csv\"; dataset = \"{v['dataset']}\" is drawn "
                                 "from the seed"))
        if v.get("classes") is not None and v["dataset"] != "blobs":
            errs.append(("classes", f"dataset = \"{v['dataset']}\" has two classes; classes is for blobs and csv"))
    K = v.get("classes") or 3
    P = sum((i + 1) * o for o, i in layer_shapes(2, v["hidden"], K))
    if P > MAX_PARAMS:
        errs.append(("hidden", f"{P:,} parameters is more than the limit of {MAX_PARAMS:,}"))
    return errs


MLP_DEF = ProblemDef("mlp", FIELDS, _build, _check,
                     doc="a small network (nn.Linear layers and activations) classifying 2-D points: moons, "
                         "circles, spirals, xor, blobs or a CSV file")
