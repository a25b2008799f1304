"""The record of a simulation: numpy arrays, saved as `.npz` or `.csv`."""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .info import ProblemInfo


OPTIONAL = ("optimizer", "epoch", "batch_idx", "frame_steps",   # arrays a History may lack
            "momentum", "second_moment", "step_scale", "evals", "iterate", "params_ends")


@dataclass(frozen=True)
class History:
    params: np.ndarray        # [steps+1, runs, P]
    loss: np.ndarray          # [steps+1, runs]  full-data loss, the start included
    grads: np.ndarray         # [steps, runs, P] gradient used by each update (the minibatch's)
    updates: np.ndarray       # [steps, runs, P] direction applied: params[t+1] = params[t] - lr[t] * updates[t]
    lr: np.ndarray            # [steps, runs]
    diverged_at: np.ndarray   # [runs] step at which the run diverged, -1 = never
    labels: tuple[str, ...]
    param_names: tuple[str, ...]
    hparams: dict[str, np.ndarray] = field(default_factory=dict)  # per-run value of every swept key
    optimizer: np.ndarray | None = None    # [runs] index of the [[optimizer]] entry of each run
    epoch: np.ndarray | None = None        # [steps+1] epoch (float) reached at each step, data problems
    batch_idx: np.ndarray | None = None    # [steps, runs, B] data indices of each update's minibatch (-1: padding)
    frame_steps: np.ndarray | None = None  # [frames] int64, the step each frame of the scene's clip shows
    # optimizer buffers after each update, recorded when a view draws them (NaN where a rule has none):
    momentum: np.ndarray | None = None       # [steps, runs, P] momentum / velocity buffer, gradient units
    second_moment: np.ndarray | None = None  # [steps, runs, P] squared-gradient estimate (v, s, ...)
    step_scale: np.ndarray | None = None     # [steps, runs, P] per-coordinate factor on the gradient
    evals: np.ndarray | None = None          # [steps, runs] loss evaluations of each update (L-BFGS; others 1)
    iterate: np.ndarray | None = None        # [steps+1, runs, P] the averaged iterate, where a rule has one:
    #   schedule-free's x (what .eval() uses; params holds the evaluated point y), ASGD's average; params elsewhere
    # [2, runs, P] each run's parameters at the first and the last step, when only these are kept (record =
    # "drawn" and views that draw the loss alone, animopt.record.LOSS_ONLY): params is then NaN of its usual
    # shape with zero strides (no memory); the last row is NaN for a run that diverged, as params[-1] is
    params_ends: np.ndarray | None = None
    problem: ProblemInfo | None = field(default=None, compare=False)

    @property
    def steps(self) -> int:
        return self.loss.shape[0] - 1

    @property
    def runs(self) -> int:
        return self.loss.shape[1]

    def save(self, path: str | Path, extra: dict[str, np.ndarray] | None = None, compact: bool = False) -> Path:
        """Writes `.npz` (all arrays, and `extra` ones) or `.csv` (a row per step and run), atomically. A
        `compact` `.npz` (the simulation cache's) holds a repeated array once, with its shape (`_compact`):
        `History.load` reads it back, `np.load` alone would not."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.part")
        try:
            if path.suffix.lower() == ".csv":
                with open(tmp, "w", newline="") as fh:
                    self._write_csv(fh)
            else:
                with open(tmp, "wb") as fh:
                    arrays = {**self.arrays(), **(extra or {})}
                    _write_npz(fh, _compact(arrays) if compact else arrays)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def arrays(self) -> dict[str, np.ndarray]:
        out = {k: getattr(self, k) for k in ("params", "loss", "grads", "updates", "lr", "diverged_at")}
        out["labels"] = np.array(self.labels, dtype=str)
        out["param_names"] = np.array(self.param_names, dtype=str)
        for k, v in self.hparams.items():
            out[f"hparams.{k}"] = np.asarray(v)
        for k in OPTIONAL:
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        if self.problem is not None:
            for k, v in self.problem.data.items():
                out[f"data.{k}"] = v
        return out

    @classmethod
    def load(cls, path: str | Path) -> "History":
        with np.load(path) as z:
            kw = {k: read(z, k) for k in ("params", "loss", "grads", "updates", "lr", "diverged_at")}
            kw["labels"] = tuple(str(s) for s in z["labels"])
            kw["param_names"] = tuple(str(s) for s in z["param_names"])
            kw["hparams"] = {k[8:]: read(z, k) for k in z.files if k.startswith("hparams.")}
            for k in OPTIONAL:
                kw[k] = read(z, k) if k in z.files else None
        return cls(**kw)

    def _write_csv(self, fh) -> None:
        w = csv.writer(fh)
        hk = list(self.hparams)
        w.writerow(["step", "run", "label", *hk, "loss", "lr", *self.param_names,
                    *[f"grad[{n}]" for n in self.param_names], *[f"update[{n}]" for n in self.param_names]])
        S, R = self.steps, self.runs
        nanP = [""] * len(self.param_names)
        for t in range(S + 1):
            for r in range(R):
                last = t == S
                w.writerow([t, r, self.labels[r], *[_cell(self.hparams[k][r]) for k in hk],
                            _cell(self.loss[t, r]), "" if last else _cell(self.lr[t, r]),
                            *[_cell(x) for x in self.params[t, r]],
                            *(nanP if last else [_cell(x) for x in self.grads[t, r]]),
                            *(nanP if last else [_cell(x) for x in self.updates[t, r]])])


BROADCAST = ".broadcast_shape"      # suffix of the key that holds a repeated array's full shape


def _compact(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Arrays with zero strides (a value repeated along an axis: parameters or gradients not recorded, one
    learning rate a run) stored as their distinct values and their full shape (key + BROADCAST): a
    million-run History's NaN parameters are not written out (1.2 GB) nor read back."""
    out = {}
    for k, v in arrays.items():
        v = np.asarray(v)
        if v.ndim and 0 in v.strides and v.size > 1:
            out[k] = v[tuple(slice(0, 1) if st == 0 else slice(None) for st in v.strides)]
            out[k + BROADCAST] = np.array(v.shape, dtype=np.int64)
        else:
            out[k] = v
    return out


STORED_BYTES = 16 << 20     # float arrays past this are stored, not deflated (a big sweep's loss: 30% smaller
                            # at 30 MB/s, 12 s for a million runs, against 0.4 s stored); a repeated value
                            # (zero strides: NaN where nothing was recorded) is deflated (1000x smaller)


def _write_npz(fh, arrays: dict[str, np.ndarray]) -> None:
    """An `.npz` as np.savez_compressed writes it (np.load reads it), but big float arrays of distinct values
    stored as they are."""
    import zipfile

    with zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
        for key, value in arrays.items():
            value = np.asanyarray(value)
            info = zipfile.ZipInfo(key + ".npy")
            big = value.dtype.kind in "fc" and value.nbytes > STORED_BYTES and 0 not in value.strides
            info.compress_type = zipfile.ZIP_STORED if big else zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as out:
                np.lib.format.write_array(out, value, allow_pickle=True)


def read(z, key: str) -> np.ndarray:
    """Array `key` of a loaded `.npz`, repeated to its full shape (zero strides, read-only) when stored
    compact (`_compact`)."""
    v = z[key]
    if key + BROADCAST in z.files:
        return np.broadcast_to(v, tuple(int(n) for n in z[key + BROADCAST]))
    return v


def _cell(x) -> str:
    if isinstance(x, np.ndarray) or isinstance(x, (list, tuple)):
        return json.dumps(np.asarray(x).tolist())
    if isinstance(x, (float, np.floating)):
        return repr(float(x))
    return str(x)


