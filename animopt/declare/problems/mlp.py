"""`mlp`: a small network classifying 2-D points (animopt/problems/mlp.py): keys, checks, and the data
(numpy: synthetic sets from the seed, or a CSV file) and layer shapes both the checks and the problem use."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...spec import Field, SceneError
from . import Outline, ProblemDef, finite
from .data import problems_of, read_csv_columns

DATASETS = ("moons", "circles", "spirals", "xor", "blobs", "csv")
ACTIVATIONS = ("relu", "tanh", "gelu", "sigmoid")     # problems/mlp.py computes each, nets.py in numpy
MAX_PARAMS = 1_000_000
MAX_POINTS = 100_000


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
    "activation": Field("str", default="relu", choices=ACTIVATIONS, doc="after every hidden layer"),
    "loss": Field("str", default="cross_entropy", choices=("cross_entropy", "mse"),
                  doc="cross_entropy on the logits, or mse of the outputs against one-hot targets"),
    "init_seed": Field("int", default=0, ge=0,
                       doc="torch.manual_seed before nn.Linear's initialisation: every run starts from "
                           "these weights (unless train.init says otherwise)"),
}


def classes(v, y: np.ndarray, file: str) -> int:
    K = int(y.max()) + 1
    if v["dataset"] == "csv" and v.get("classes") is not None:
        if v["classes"] < K:
            raise SceneError.one(file, "problem.classes", f"the labels go up to {K - 1}, so classes must be at "
                                 f"least {K}, got {v['classes']}")
        K = v["classes"]
    return K


def _check(v, base_dir: Path):
    errs = []
    if v["dataset"] == "csv":
        if not v.get("path"):
            return [("path", "missing: dataset = \"csv\" reads its points from a file with columns x0, x1, "
                             "label")]
        errs += problems_of(lambda: classes(v, _read_csv(v, base_dir, "<scene>")[1], "<scene>"))
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


def matrices(shapes) -> tuple[tuple[int, int, int], ...]:
    """(offset, out, in) of every layer's weight matrix [out, in] in the parameter vector (Muon)."""
    offsets = np.cumsum([0] + [(i + 1) * o for o, i in shapes])
    return tuple((int(at), o, i) for at, (o, i) in zip(offsets, shapes))


def _outline(v, base_dir: Path, seed: int, file: str = "<scene>") -> Outline:
    """The data and the network's sizes; the start (torch's initialisation) is not drawn here: zeros."""
    X, y = load_data(v, seed, base_dir, file)
    shapes = layer_shapes(X.shape[1], v["hidden"], classes(v, y, file))
    names = param_names(shapes)
    return Outline("mlp", names, (0.0,) * len(names), n=len(X), data={"X": X, "y": y},
                   matrices=matrices(shapes), classifier=True)


def _numpy_info(v, base_dir: Path, seed: int, file: str = "<scene>", dtype: str = "float64"):
    """The network's loss, scores and accuracy in numpy (nets.py), on the data the torch problem trains on."""
    from .nets import class_functions, mlp_forward

    X, y = load_data(v, seed, base_dir, file)
    K = classes(v, y, file)
    shapes = layer_shapes(X.shape[1], v["hidden"], K)
    return class_functions(mlp_forward(shapes, v["activation"]), X, y, K, v["loss"], dtype,
                           sum((i + 1) * o for o, i in shapes), max(o for o, _ in shapes))


MLP_DEF = ProblemDef("mlp", FIELDS, "animopt.problems.mlp.build", _check, outline=_outline,
                     doc="a small network (nn.Linear layers and activations) classifying 2-D points: moons, "
                         "circles, spirals, xor, blobs or a CSV file", numpy_info=_numpy_info)
