"""`classifier`: a single linear layer on the 8x8 digits images, as in seed 000 (animopt/problems/classifier.py):
keys, checks, and the data (an .npz file, or scikit-learn's digits) both the checks and the problem read."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ...spec import Field, SceneError
from . import Outline, ProblemDef, placeholder
from .data import finite_or_error, problems_of, read_npz_arrays

MAX_PARAMS = 1_000_000
INSTALL = "pip install 'animopt[digits]'"
DIGITS = (1797, 64, 10)      # scikit-learn's digits: samples, features (8x8 pixels), classes


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


def load(v, base_dir: Path, file: str) -> tuple[np.ndarray, np.ndarray, int]:
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


def _check(v, base_dir: Path):
    if v.get("npz"):           # a user's file is read now, so a bad one is reported with the scene's other errors
        return problems_of(load, v, base_dir, "<scene>")
    if importlib.util.find_spec("sklearn") is None:
        return problems_of(_sklearn_digits, "<scene>")
    return []                  # scikit-learn's digits: n and classes are checked when the problem is built


def _outline(v, base_dir: Path, seed: int, file: str = "<scene>") -> Outline:
    """From the npz file, or the digits' known sizes (scikit-learn is not imported); with mse the least
    squares on one-hot targets exists (NaN: not computed)."""
    from .linear import weight_names

    if v.get("npz"):
        X, y, K = load(v, base_dir, file)
        data = {"X": X, "y": y}
    else:
        n, features, K = DIGITS
        n, K = v.get("n") or n, v.get("classes") or K
        data = {"X": placeholder(n, features), "y": placeholder(n)}
    n, features = data["X"].shape
    P = (features + 1) * K
    mse = v["loss"] == "mse"
    return Outline("classifier", weight_names(features, K), (0.0,) * P, n=n,
                   minimum=np.full(P, np.nan) if mse else None, min_loss=float("nan") if mse else None,
                   data=data, matrices=((0, features, K),), classifier=True)


def _numpy_info(v, base_dir: Path, seed: int, file: str = "<scene>", dtype: str = "float64"):
    """The layer's loss, scores and accuracy in numpy (nets.py), on the data the torch problem trains on."""
    from .nets import class_functions, linear_forward

    X, y, K = load(v, base_dir, file)
    return class_functions(linear_forward(X.shape[1], K), X, y, K, v["loss"], dtype, (X.shape[1] + 1) * K, K)


CLASSIFIER = ProblemDef("classifier", FIELDS, "animopt.problems.classifier.build", _check,
                        doc="a single linear layer on the 8x8 digits (seed 000): mse on one-hot, or cross-entropy",
                        outline=_outline, numpy_info=_numpy_info)
