"""`linear`: the multi-dimensional linear model of seed 004, Y = X W + B, fitted by mean squared error
(averaged over the samples and the outputs). Parameters: W row-major (`W[i,j]`), then B (`B[j]`)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from ..spec import Field, SceneError
from .base import BuildCtx, Problem, ProblemDef, finite, least_squares, mse, weight_names, window_around
from .data import finite_or_error, problems_of, read_npz_arrays

MAX_VALUES = 100_000_000     # numbers of data a synthetic set may hold
MAX_PARAMS = 1_000_000
GRAM_MAX_PARAMS = 1024       # the full-data gradient comes from a [P, P] matrix up to this many parameters


class Linear(Problem):
    type = "linear"

    def __init__(self, X: np.ndarray, Y: np.ndarray, true: np.ndarray | None, ctx: BuildCtx):
        self.device, self.dtype = ctx.device, ctx.dtype
        self._X, self._Y = X.astype(np.float64), Y.astype(np.float64)
        self.n, self.inputs = X.shape
        self.outputs = Y.shape[1]
        self.param_names = weight_names(self.inputs, self.outputs)
        self.matrices = ((0, self.inputs, self.outputs),)
        self.X = torch.as_tensor(self._X, dtype=ctx.dtype, device=ctx.device)
        self.Y = torch.as_tensor(self._Y, dtype=ctx.dtype, device=ctx.device)
        A = np.hstack([self._X, np.ones((self.n, 1))])
        sol = least_squares(A, self._Y)                             # [I+1, O] (the smallest, if several)
        self.minimum = None if sol is None else np.concatenate([sol[:-1].ravel(), sol[-1]])
        self.true_params = true
        self.default_init = (0.0,) * len(self.param_names)
        self.window = window_around(self.minimum, self.default_init, true)
        self._A = torch.as_tensor(A, dtype=ctx.dtype, device=ctx.device)
        P = len(self.param_names)
        self._gram = self._gram_form(A, ctx) if P <= min(self.n, GRAM_MAX_PARAMS) else None

    def split(self, params):
        R, k = len(params), self.inputs * self.outputs
        return params[:, :k].reshape(R, self.inputs, self.outputs), params[:, k:]

    def residuals(self, params):
        """X W + B - Y of every run on the full data, `[n, R, outputs]`: one matrix product for all runs,
        A [n, inputs+1] @ [W; B] [inputs+1, R*outputs] with A = [X, 1]."""
        R, k, m = len(params), self.inputs + 1, self.outputs
        Wb = params.reshape(R, k, m).transpose(0, 1).reshape(k, R * m)
        return (self._A @ Wb).view(self.n, R, m) - self.Y[:, None]

    def loss(self, params, idx=None, weight=None):
        if idx is None:
            r = self.residuals(params)
            return (r * r).mean((0, 2))
        W, B = self.split(params)
        return mse(torch.bmm(self.X[idx], W) + B[:, None, :], self.Y[idx], weight)

    def loss_and_grad(self, params, idx=None, weight=None):
        """`loss` and its closed-form gradient: with r = X W + B - Y, the gradient is 2/(n m) X^T r for W
        and 2/(n m) sum_i r_i for B (seed 004; m outputs), each sample weighted in a minibatch. What the
        simulator uses instead of autograd. For the full data with fewer parameters than samples, from the
        quadratic form below: each step then costs parameters^2 per run instead of samples x parameters."""
        if idx is None and self._gram is not None:
            return self._full_from_gram(params)
        R, k, m = len(params), self.inputs + 1, self.outputs
        if idx is None:
            r, s = self.residuals(params), 1.0 / (self.n * m)
            g = (self._A.T @ r.view(self.n, R * m)).view(k, R, m).transpose(0, 1).reshape(R, k * m)
            return (r * r).sum((0, 2)) * s, g * (2 * s)
        W, B = self.split(params)
        X = self.X[idx]                                                          # [R, b, inputs]
        r = torch.bmm(X, W) + B[:, None, :] - self.Y[idx]
        wr = r * (weight * (2.0 / m))[:, :, None]
        g = torch.cat([torch.bmm(X.transpose(1, 2), wr).flatten(1), wr.sum(1)], 1)
        return ((r * r).mean(-1) * weight).sum(-1), g

    def _gram_form(self, A: np.ndarray, ctx: BuildCtx) -> tuple | None:
        """The full-data loss as a quadratic form in the parameters p (W row-major, then B: the rows of
        [W; B], so that X W + B = A [W; B] with A = [X, 1]), taken around a point p0 (the least-squares
        solution, else 0) so that nothing large cancels near the minimum:
            n m L(p) = d.G d + 2 h.d + c,   gradient = 2/(n m) (G d + h),   d = p - p0,
        with G = kron(A^T A, I_m), h = A^T r0 and c = |r0|^2 for the residual r0 = A [W0; B0] - Y.
        None where these numbers overflow (then every step uses the residuals)."""
        m = self.outputs
        p0 = self.minimum if self.minimum is not None else np.zeros((self.inputs + 1) * m)
        with np.errstate(all="ignore"):
            r0 = A @ p0.reshape(self.inputs + 1, m) - self._Y
            G, h, c = np.kron(A.T @ A, np.eye(m)), (A.T @ r0).ravel(), np.sum(r0 * r0)
        G, h, c, p0 = (torch.as_tensor(a, dtype=ctx.dtype, device=ctx.device) for a in (G, h, c, p0))
        if not all(bool(torch.isfinite(a).all()) for a in (G, h, c)):       # in the scene's dtype
            return None
        return G, h, c, p0, 1.0 / r0.size

    def _full_from_gram(self, params):
        G, h, c, p0, s = self._gram
        d = params - p0
        Gd = d @ G
        loss = (((Gd + 2 * h) * d).sum(-1) + c).clamp_min(0) * s
        return loss, (Gd + h) * (2 * s)

    def data(self):
        return {"X": self._X, "Y": self._Y}


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


def _sizes(v) -> tuple[int, int]:
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
        return errs + problems_of(_load_file, v, base_dir, "<scene>")
    I, O = _sizes(v)
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


def _load_file(v, base_dir: Path, file: str) -> tuple[np.ndarray, np.ndarray]:
    from .data import read_csv_columns

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


def _build(v, ctx: BuildCtx) -> Linear:
    if v.get("csv") or v.get("npz"):
        X, Y = _load_file(v, ctx.base_dir, ctx.file)
        return Linear(X, Y, None, ctx)
    I, O = _sizes(v)
    lo, hi = v["x_range"]
    X = np.random.default_rng([ctx.seed, 10]).uniform(lo, hi, size=(v["n"], I))
    drawn = np.random.default_rng([ctx.seed, 11])
    W = np.array(v["W"], dtype=np.float64) if v.get("W") is not None else drawn.standard_normal((I, O))
    B = np.array(v["B"], dtype=np.float64) if v.get("B") is not None else drawn.standard_normal(O)
    Y = X @ W + B + v["noise"] * np.random.default_rng([ctx.seed, 12]).standard_normal((v["n"], O))
    return Linear(X, Y, np.concatenate([W.ravel(), B]), ctx)


LINEAR = ProblemDef("linear", FIELDS, _build, _check,
                    doc="Y = X W + B (seed 004), mean squared error over samples and outputs")
