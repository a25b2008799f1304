"""`linear`: Y = X W + B (seed 004), mean squared error (animopt/problems/linear.py): keys, checks, and the
data files read (numpy) both to check them and to build the problem."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...spec import Field, SceneError
from . import Outline, ProblemDef, chunked, finite, loss_only, placeholder
from .data import finite_or_error, least_squares, problems_of, read_csv_columns, read_npz_arrays

MAX_VALUES = 100_000_000     # numbers of data a synthetic set may hold
MAX_PARAMS = 1_000_000
OUTLINE_VALUES = 1_000_000   # synthetic data up to this many numbers are drawn to outline the problem


def _shape_of_W(W) -> tuple[int, int] | str:
    """(rows, columns) of a nested list of numbers, or an error text."""
    num = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)  # noqa: E731
    if not (isinstance(W, list) and W and all(isinstance(r, list) and r and all(num(x) for x in r) for r in W)):
        return "expected a list of rows of numbers, one row per input: [[w00, w01], [w10, w11]]"
    if len({len(r) for r in W}) > 1:
        return f"every row needs the same number of values (one per output), got {[len(r) for r in W]}"
    if finite(W):
        return finite(W)
    return len(W), len(W[0])


FIELDS = {
    "inputs": Field("int", ge=1, doc="input features (default: from W, or 2)"),
    "outputs": Field("int", ge=1, doc="outputs (default: from W or B, or 1)"),
    "n": Field("int", default=100, ge=1, doc="synthetic samples"),
    "x_range": Field("numbers", default=(0.0, 1.0), length=2, doc="inputs drawn uniformly in [lo, hi)",
                     check=finite),
    "noise": Field("number", default=0.0, ge=0, doc="std of Gaussian noise added to Y", check=finite),
    "W": Field("any", doc="true weights, one row per input (default: drawn from the seed)"),
    "B": Field("numbers", min_length=1, doc="true biases, one per output (default: drawn from the seed)",
               check=finite),
    "csv": Field("path", doc="data file with columns x0, x1, ... and y0, y1, ... (or x and y)"),
    "npz": Field("path", doc="data file with arrays X [n, inputs] and Y [n, outputs]"),
}


def sizes(v) -> tuple[int, int]:
    I, O = v.get("inputs"), v.get("outputs")
    if isinstance(_shape_of_W(v.get("W")), tuple):
        I, O = I or len(v["W"]), O or len(v["W"][0])
    if O is None and v.get("B") is not None:
        O = len(v["B"])
    return I or 2, O or 1


def _check(v, base_dir: Path):
    errs = []
    files = [k for k in ("csv", "npz") if v.get(k)]
    if len(files) > 1:
        return [("npz", "give one data file, csv or npz, not both")]
    if files:
        k = files[0]
        for given in ("W", "B"):
            if v.get(given) is not None:
                errs.append((given, f"true {given} is for synthetic data; the data here come from {k}"))
        p = base_dir / v[k]
        if not p.is_file():
            return errs + [(k, f"no such file: {p}")]
        return errs + problems_of(load_file, v, base_dir, "<scene>")
    I, O = sizes(v)
    if v.get("W") is not None:
        shape = _shape_of_W(v["W"])
        if isinstance(shape, str):
            errs.append(("W", shape))
        elif shape != (I, O):
            errs.append(("W", f"expected {I} row(s) of {O} value(s) (inputs x outputs), got {shape[0]} x {shape[1]}"))
    if v.get("B") is not None and len(v["B"]) != O:
        errs.append(("B", f"expected {O} value(s), one per output, got {len(v['B'])}"))
    lo, hi = v["x_range"]
    if lo >= hi:
        errs.append(("x_range", f"expected [lo, hi] with lo < hi, got {[lo, hi]}"))
    if v["n"] * (I + O) > MAX_VALUES:
        errs.append(("n", f"{v['n']:,} samples x {I + O} columns is more than the limit of {MAX_VALUES:,} values"))
    if (I + 1) * O > MAX_PARAMS:
        errs.append(("inputs", f"{(I + 1) * O:,} parameters is more than the limit of {MAX_PARAMS:,}"))
    return errs


_COL = re.compile(r"^([xy])(\d*)$")


def _csv_columns(path: Path, file: str) -> tuple[list[str], list[str]]:
    import csv

    try:
        with open(path, newline="") as fh:
            header = next(csv.reader(fh), [])
    except OSError as e:
        raise SceneError.one(file, "problem.csv", f"cannot read {path}: {e.strerror}") from None
    cols = {"x": [], "y": []}
    for h in (c.strip() for c in header):
        m = _COL.match(h)
        if m:
            cols[m.group(1)].append((int(m.group(2) or 0), h))
    for k in "xy":
        if not cols[k]:
            raise SceneError.one(file, "problem.csv", f"{path} has no {k} column: expected a header like "
                                 "x0,x1,y0 (or x,y); got " + (", ".join(header) or "nothing"))
    return [h for _, h in sorted(cols["x"])], [h for _, h in sorted(cols["y"])]


def load_file(v, base_dir: Path, file: str) -> tuple[np.ndarray, np.ndarray]:
    if v.get("csv"):
        key, path = "problem.csv", base_dir / v["csv"]
        xs, ys = _csv_columns(path, file)
        cols = read_csv_columns(path, tuple(xs + ys), file, key)
        X, Y = np.stack(cols[:len(xs)], 1), np.stack(cols[len(xs):], 1)
    else:
        key, path = "problem.npz", base_dir / v["npz"]
        X, Y = read_npz_arrays(path, (("X", "x"), ("Y", "y")), file, key)
        X = X[:, None] if X.ndim == 1 else X
        Y = Y[:, None] if Y.ndim == 1 else Y
        if X.ndim != 2 or Y.ndim != 2:
            raise SceneError.one(file, key, f"{path}: expected X [n, inputs] and Y [n, outputs], got shapes "
                                 f"{list(X.shape)} and {list(Y.shape)}")
        if len(X) != len(Y):
            raise SceneError.one(file, key, f"{path}: X has {len(X)} rows but Y has {len(Y)}")
        if len(X) == 0:
            raise SceneError.one(file, key, f"{path} holds no samples")
    finite_or_error({"X": X, "Y": Y}, path, file, key)
    for k, got in (("inputs", X.shape[1]), ("outputs", Y.shape[1])):
        if v.get(k) is not None and v[k] != got:
            raise SceneError.one(file, f"problem.{k}", f"{path} has {got} {k}, but {k} = {v[k]}")
    return X.astype(np.float64), Y.astype(np.float64)


def weight_names(inputs: int, outputs: int) -> tuple[str, ...]:
    """Names of a linear layer's parameters: W row-major (`W[i,j]`, input i to output j), then `B[j]`."""
    return tuple(f"W[{i},{j}]" for i in range(inputs) for j in range(outputs)) + tuple(
        f"B[{j}]" for j in range(outputs))


def linear_data(v, seed: int, base_dir: Path, file: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(X, Y, the true parameters of synthetic data, else None): from the data file, or drawn."""
    if v.get("csv") or v.get("npz"):
        X, Y = load_file(v, base_dir, file)
        return X, Y, None
    I, O = sizes(v)
    lo, hi = v["x_range"]
    X = np.random.default_rng([seed, 10]).uniform(lo, hi, size=(v["n"], I))
    drawn = np.random.default_rng([seed, 11])
    W = np.array(v["W"], dtype=np.float64) if v.get("W") is not None else drawn.standard_normal((I, O))
    B = np.array(v["B"], dtype=np.float64) if v.get("B") is not None else drawn.standard_normal(O)
    Y = X @ W + B + v["noise"] * np.random.default_rng([seed, 12]).standard_normal((v["n"], O))
    return X, Y, np.concatenate([W.ravel(), B])


def _outline(v, base_dir: Path, seed: int, file: str = "<scene>") -> Outline:
    """Big synthetic data are not drawn: their least squares is known to exist (NaN), not computed."""
    if not (v.get("csv") or v.get("npz")) and v["n"] * sum(sizes(v)) > OUTLINE_VALUES:
        I, O = sizes(v)
        P = (I + 1) * O
        return Outline("linear", weight_names(I, O), (0.0,) * P, n=v["n"], minimum=np.full(P, np.nan),
                       min_loss=float("nan"), data={"X": placeholder(v["n"], I), "Y": placeholder(v["n"], O)},
                       matrices=((0, I, O),))
    X, Y, _ = linear_data(v, seed, base_dir, file)
    (n, I), O = X.shape, Y.shape[1]
    A = np.hstack([X, np.ones((n, 1))])
    sol = least_squares(A, Y)
    minimum = None if sol is None else np.concatenate([sol[:-1].ravel(), sol[-1]])
    min_loss = None if sol is None else float(np.mean((A @ sol - Y) ** 2))
    return Outline("linear", weight_names(I, O), (0.0,) * ((I + 1) * O), n=n, minimum=minimum, min_loss=min_loss,
                   data={"X": X, "Y": Y}, matrices=((0, I, O),))


def _numpy_loss(v, base_dir: Path, seed: int, file: str = "<scene>", dtype: str = "float64"):
    """The mean squared error of X W + B over samples and outputs, in numpy (the torch problem's loss):
    A [n, inputs+1] @ [W; B] of every row of parameters at once, A = [X, 1]."""
    X, Y, _ = linear_data(v, seed, base_dir, file)
    (n, I), O = X.shape, Y.shape[1]
    A, Y = np.hstack([X, np.ones((n, 1))]).astype(dtype), Y.astype(dtype)

    def f(p):
        K = len(p)
        r = (A @ p.reshape(K, I + 1, O).transpose(1, 0, 2).reshape(I + 1, K * O)).reshape(n, K, O) - Y[:, None]
        return (r * r).mean((0, 2))

    return chunked(f, dtype, max(1, 2 ** 22 // (n * O)))


LINEAR = ProblemDef("linear", FIELDS, "animopt.problems.linear.build", _check,
                    doc="Y = X W + B (seed 004), mean squared error over samples and outputs", outline=_outline,
                    numpy_info=loss_only(_numpy_loss))
