"""Sweeps: an [[optimizer]] entry with listed or ranged values becomes a grid of runs."""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from . import limits
from .scene import OptimizerSpec, Scene
from .spec import SceneError, Sweep


class Run(NamedTuple):
    """One trajectory: an optimizer with plain (unswept) values. (A NamedTuple: a sweep makes
    thousands, and they are built fast and never changed.)"""

    entry: int                    # index of its [[optimizer]] entry
    type: str
    label: str
    hparams: dict[str, Any]
    schedule: str
    schedule_options: dict[str, Any]
    warmup: dict[str, Any] | None
    batch_size: int | None
    init: tuple[float, ...] | None   # None: the problem's default start
    swept: dict[str, Any]            # the swept keys and this run's values


class Points(Sequence):
    """Starting points held as one [n, P] float64 array (a 400 x 400 grid is one array, not 160,000
    tuples); `points[i]` is the tuple of floats a list of starts would hold."""

    def __init__(self, array: np.ndarray):
        self.array = np.ascontiguousarray(array, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [tuple(r) for r in self.array[i].tolist()]
        return tuple(self.array[i].tolist())

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype, copy=False)

    def __eq__(self, other):
        if isinstance(other, Points):
            return np.array_equal(self.array, other.array)
        return isinstance(other, (tuple, list)) and list(self) == list(other)

    def __hash__(self):
        return hash((self.array.shape, self.array.tobytes()))

    def __repr__(self):
        return f"Points({len(self)} x {self.array.shape[1] if self.array.ndim == 2 else 0})"


def _starts_array(starts, default=None) -> np.ndarray:
    if isinstance(starts, Points):
        return starts.array
    return np.asarray([default if s is None else s for s in starts], dtype=np.float64)


class Block(NamedTuple):
    """The runs of one [[optimizer]] entry: its fixed settings, its swept axes and its starts (every
    combination of the axes, the last fastest, then the starts)."""

    entry: int
    type: str
    base: str                             # the entry's label
    hparams: dict[str, Any]               # the fixed values (a swept key's is its Sweep)
    schedule: str
    schedule_options: dict[str, Any]
    warmup: dict[str, Any] | None
    batch_size: Any                       # the scene's (a Sweep when batch_size is an axis)
    axes: tuple                           # ((key, values), ...)
    starts: tuple                         # the starting points
    n: int                                # runs: prod(axis sizes) x starts (fewer in a part of it)
    first: int = 0                        # a part of the entry's runs (`part`): where in them it starts

    def axis_index(self, a: int, j=None) -> np.ndarray:
        """[n] (or at the block positions `j`) the index into axis `a`'s values of each run."""
        j = self.first + (np.arange(self.n) if j is None else np.asarray(j))
        sizes = [len(v) for _, v in self.axes]
        return np.unravel_index(j // len(self.starts), sizes)[a]

    def column(self, key: str):
        """Every run's value of `key` (a hyperparameter, `schedule.K`, `batch_size`, `init`): a numpy
        array ([n] or [n, k]) when it varies, else the one value."""
        for a, (k, vals) in enumerate(self.axes):
            if k == key:
                arr = np.empty(len(vals), dtype=object)
                arr[:] = list(vals)
                out = arr[self.axis_index(a)]
                try:
                    return np.array(out.tolist())
                except (ValueError, TypeError):
                    return out
        if key == "init":
            return self.starts[0] if len(self.starts) <= 1 else self.start_rows()
        if key == "batch_size":
            return self.batch_size
        if key.startswith("schedule."):
            return self.schedule_options.get(key[9:])
        return self.hparams.get(key)

    def start_rows(self, default=None) -> np.ndarray:
        """[n, P] each run's start (a grid's Points: its own array, no copy when not repeated)."""
        a = _starts_array(self.starts, default)
        if self.first == 0 and self.n % len(a) == 0:
            return a if self.n == len(a) else np.tile(a, (self.n // len(a), 1))
        return a[(self.first + np.arange(self.n)) % len(a)]

    def swept_keys(self) -> list[str]:
        return [k for k, _ in self.axes] + (["init"] if len(self.starts) > 1 else [])

    def labels(self) -> np.ndarray:
        """[n] every run's label, as `run(j).label` makes it, each axis's values formatted once (a
        million labels in a fraction of a second instead of seconds)."""
        combo, s = np.divmod(self.first + np.arange(self.n), len(self.starts))
        out = np.full(self.n, self.base, dtype=object)
        sizes = [len(v) for _, v in self.axes]
        for (k, vals), pick in zip(self.axes, np.unravel_index(combo, sizes) if sizes else ()):
            texts = np.empty(len(vals), dtype=object)
            texts[:] = [f" {k}={_fmt(v)}" for v in vals]
            out = out + texts[pick]
        if len(self.starts) > 1:
            texts = np.empty(len(self.starts), dtype=object)
            texts[:] = [f" start {i + 1}" for i in range(len(self.starts))]
            out = out + texts[s]
        return out

    def run(self, j: int) -> "Run":
        nst = len(self.starts)
        combo, s = divmod(self.first + j, nst)
        sizes = [len(v) for _, v in self.axes]
        pick = [int(i) for i in np.unravel_index(combo, sizes)] if sizes else []
        chosen = {k: vals[i] for (k, vals), i in zip(self.axes, pick)}
        hp, sopts = dict(self.hparams), dict(self.schedule_options)
        for k, v in chosen.items():
            if k.startswith("schedule."):
                sopts[k[9:]] = v
            elif k != "batch_size":
                hp[k] = v
        label = self.base + "".join(f" {k}={_fmt(v)}" for k, v in chosen.items())
        start, sw = self.starts[s], chosen
        if nst > 1:
            sw, label = {**chosen, "init": start}, f"{label} start {s + 1}"
        return Run(entry=self.entry, type=self.type, label=label, hparams=hp, schedule=self.schedule,
                   schedule_options=sopts, warmup=self.warmup,
                   batch_size=chosen.get("batch_size", self.batch_size), init=start, swept=sw)


class Runs(Sequence):
    """Every run of a scene, held as its entries' blocks (a million-run sweep is a few numbers, not a
    million objects): `runs[i]` makes run i's `Run`; `column`, `entries`, `slices`, `labels` answer for
    all runs at once. The functions below (`entries`, `column`, ...) take this or a plain list of Runs."""

    def __init__(self, blocks: list[Block]):
        self.blocks = [b for b in blocks if b.n]
        self.offsets = np.cumsum([0] + [b.n for b in self.blocks])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        b = int(np.searchsorted(self.offsets, i, side="right")) - 1
        return self.blocks[b].run(i - int(self.offsets[b]))


class Labels(Sequence):
    """The runs' labels, each made when asked (a million strings otherwise)."""

    def __init__(self, runs: Runs):
        self._runs = runs

    def __len__(self) -> int:
        return len(self._runs)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        return self._runs[i].label

    def __iter__(self):
        for b in self._runs.blocks:
            yield from b.labels().tolist()

    def __array__(self, dtype=None, copy=None):
        out = np.concatenate([b.labels() for b in self._runs.blocks]) if self._runs.blocks else np.zeros(0, object)
        return out.astype(dtype or str)

    def __eq__(self, other):
        return isinstance(other, (tuple, list, Labels)) and len(self) == len(other) and tuple(self) == tuple(other)

    __hash__ = None

    def __repr__(self) -> str:
        return f"Labels({len(self)} runs)"


def entries(runs) -> np.ndarray:
    """[R] int64: each run's [[optimizer]] entry."""
    if isinstance(runs, Runs):
        return np.repeat(np.array([b.entry for b in runs.blocks], dtype=np.int64), [b.n for b in runs.blocks])
    return np.array([r.entry for r in runs], dtype=np.int64)


def slices(runs) -> list[slice]:
    """The runs in contiguous groups of one entry and one type (what one transform steps)."""
    if isinstance(runs, Runs):
        return [slice(int(a), int(b)) for a, b in zip(runs.offsets[:-1], runs.offsets[1:])]
    out, start, R = [], 0, len(runs)
    while start < R:
        stop = start
        while stop < R and runs[stop].entry == runs[start].entry and runs[stop].type == runs[start].type:
            stop += 1
        out.append(slice(start, stop))
        start = stop
    return out


def part(runs, rows: slice):
    """The runs in `rows` (a contiguous range) as runs of their own, in order: for `Runs`, its blocks cut
    at the range's ends (a cut block keeps its place in its entry's grid: `Block.first`)."""
    if not isinstance(runs, Runs):
        return runs[rows]
    blocks = []
    for b, off in zip(runs.blocks, runs.offsets[:-1].tolist()):
        lo, hi = max(rows.start - off, 0), min(rows.stop - off, b.n)
        if lo < hi:
            blocks.append(b._replace(first=b.first + lo, n=hi - lo))
    return Runs(blocks)


def column(runs, sl: slice, key: str):
    """The values of hyperparameter `key` of the runs in `sl` (one entry's): a list or array of them,
    or the one value when they share it."""
    if isinstance(runs, Runs):
        b = int(np.searchsorted(runs.offsets, sl.start, side="right")) - 1
        blk = runs.blocks[b]
        if runs.offsets[b] == sl.start and runs.offsets[b + 1] == sl.stop:
            return blk.column(key)
        runs = runs[sl]
        sl = slice(0, len(runs))
    return [r.hparams[key] for r in runs[sl]]


def batch_groups(runs) -> dict:
    """batch size (None: the scene's full batch) -> [runs with it] (int64 indices)."""
    if isinstance(runs, Runs):
        out: dict = {}
        for blk, off in zip(runs.blocks, runs.offsets):
            bs = blk.column("batch_size")
            if isinstance(bs, np.ndarray):
                for v in dict.fromkeys(bs.tolist()):
                    out.setdefault(v, []).append(off + np.nonzero(bs == v)[0])
            else:
                out.setdefault(bs, []).append(np.arange(off, off + blk.n))
        return {k: np.concatenate(v) for k, v in out.items()}
    out = {}
    for i, r in enumerate(runs):
        out.setdefault(r.batch_size, []).append(i)
    return {k: np.array(v, dtype=np.int64) for k, v in out.items()}


def inits(runs, default) -> np.ndarray:
    """[R, P] float64: each run's start."""
    if isinstance(runs, Runs):
        return np.concatenate([b.start_rows(default) for b in runs.blocks])
    return np.array([default if r.init is None else r.init for r in runs], dtype=np.float64)


def labels(runs):
    """The runs' labels: a tuple, or for `Runs` a `Labels` that makes each when asked."""
    return Labels(runs) if isinstance(runs, Runs) else tuple(r.label for r in runs)


def firsts(runs) -> dict[int, "Run"]:
    """entry -> its first run."""
    if isinstance(runs, Runs):
        out = {}
        for b, off in zip(runs.blocks, runs.offsets):
            out.setdefault(b.entry, runs[int(off)])
        return out
    out = {}
    for r in runs:
        out.setdefault(r.entry, r)
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def setting_text(key: str, value: Any) -> str:
    """How one setting reads in a label or a listing: `lr 0.1`, `betas [0.9, 0.99]`, `lr swept`."""
    return f"{key} swept" if isinstance(value, Sweep) else f"{key} {_fmt(value)}"


def schedule_text(spec: OptimizerSpec) -> str:
    """`cosine schedule`, `warmup 60 + cosine schedule`, `constant lr` (its options apart: `entry_settings`)."""
    s = spec.schedule
    text = "constant lr" if s.type == "constant" else f"{s.type} schedule"
    return f"warmup {s.warmup['steps']} + {text}" if s.warmup else text


def entry_settings(spec: OptimizerSpec) -> dict[str, str]:
    """Every setting of an [[optimizer]] entry as text, by key: `lr` first, then the other
    hyperparameters, the schedule (`schedule`) and its options (`schedule.T_max`, ...)."""
    keys = ["lr"] + [k for k in spec.hparams if k != "lr"]
    out = {k: setting_text(k, spec.hparams[k]) for k in keys if spec.hparams.get(k) is not None}
    out["schedule"] = schedule_text(spec)
    out.update({f"schedule.{k}": setting_text(k, v) for k, v in spec.schedule.options.items() if v is not None})
    return out


def type_label(spec: OptimizerSpec) -> str:
    """The optimizer's name: `Adam`; for `type = "torch"` its class and package, `Rprop (torch.optim)`."""
    from .declare.optimizers import OPTIMIZERS

    if spec.type == "torch" and isinstance(spec.hparams.get("class"), str):
        mod, _, cls = spec.hparams["class"].rpartition(".")
        return f"{cls} ({mod})"
    return OPTIMIZERS[spec.type].label


def entry_labels(optimizers) -> list[str]:
    """The name of each [[optimizer]] entry: its `label`, else its optimizer's name, followed, when
    other unlabelled entries have the same type, by the settings that tell it apart from them:
    `Adam (lr 0.1, cosine schedule)` and `Adam (lr 0.5, constant lr)`. The same words as `animopt list`
    (`describe_entry`)."""
    from .declare.optimizers import OPTIMIZERS

    labels = [o.label or type_label(o) for o in optimizers]
    for name in dict.fromkeys(labels):      # entries of one optimizer (for type "torch": of one class)
        group = [i for i, o in enumerate(optimizers) if labels[i] == name and not o.label]
        if len(group) < 2:
            continue
        settings = {i: entry_settings(optimizers[i]) for i in group}
        keys = list(dict.fromkeys(k for st in settings.values() for k in st))
        differ = [k for k in keys if len({st.get(k) for st in settings.values()}) > 1]
        if "schedule" in differ:        # different schedules: their options would only add noise
            differ = [k for k in differ if not k.startswith("schedule.")]
        for n, i in enumerate(group, 1):          # a swept key is named by the sweep (`lr=0.1`)
            texts = [settings[i][k] for k in differ if k in settings[i] and not settings[i][k].endswith(" swept")]
            labels[i] += f" ({', '.join(texts)})" if texts else f" {n}"
    return labels


def describe_entry(spec: OptimizerSpec) -> str:
    """One entry for `animopt list`: `Adam (lr 0.1, cosine schedule, 6 runs over lr x momentum)`."""
    from .declare.optimizers import OPTIMIZERS

    settings = entry_settings(spec)
    parts = [settings["lr"]] if "lr" in settings else []
    if spec.schedule.type != "constant":
        parts.append(settings["schedule"])
    from .spec import Tune

    tuned = {k: v for k, v in spec.hparams.items() if isinstance(v, Tune)}
    if "lr" in tuned:                              # `lr tuned over 64 candidates by final_loss`
        parts = [p for p in parts if p != settings["lr"]]
    parts = [f"{k} tuned over {len(v)} candidates by {v.score}" for k, v in tuned.items()] + parts
    swept = [k for k, v in spec.hparams.items() if isinstance(v, Sweep) and k not in tuned]
    runs = int(np.prod([len(spec.hparams[k]) for k in swept])) if swept else 1
    if runs > 1:
        parts.append(f"{runs} runs over " + " x ".join(swept))
    return f"{spec.label or type_label(spec)} ({', '.join(parts)})"


def init_points(scene: Scene, n_params: int, default: tuple[float, ...]) -> list[tuple[float, ...] | None]:
    """The starting points: one (default or given), several, or K seeded random ones."""
    init = scene.train.init
    if init is None:
        return [tuple(default)]
    if isinstance(init, tuple) and init and isinstance(init[0], float):
        pts = [init]
    elif isinstance(init, tuple):
        pts = list(init)
    elif "grid" in init:
        pts = grid_points(init["grid"], n_params, scene.file)
    else:
        rng = np.random.default_rng([scene.seed, 1])
        ranges = np.array(init["range"])
        if len(ranges) == 1:          # one [lo, hi] for every parameter
            ranges = np.repeat(ranges, n_params, axis=0)
        if len(ranges) != n_params:
            raise SceneError.one(scene.file, "train.init.range",
                                 f"expected {n_params} [lo, hi] pairs (one per parameter) or one for all, got {len(ranges)}")
        u = rng.random((init["random"], n_params))
        pts = [tuple(float(x) for x in row) for row in ranges[:, 0] + u * (ranges[:, 1] - ranges[:, 0])]
    for p in ([pts.array[0]] if isinstance(pts, Points) else pts):
        if len(p) != n_params:
            raise SceneError.one(scene.file, "train.init",
                                 f"expected {n_params} values (one per parameter), got {len(p)}")
    return pts


def grid_points(axes, n_params: int, file: str = "<scene>") -> Points:
    """The starts of `init = { grid = [[lo, hi, n], ...] }`: every point of the grid, the first parameter
    varying fastest (row-major image order: rows along the second parameter, columns along the first)."""
    if len(axes) != n_params:
        raise SceneError.one(file, "train.init.grid", f"expected {n_params} [lo, hi, n] (one per parameter), "
                                                      f"got {len(axes)}")
    lines = [np.linspace(lo, hi, n) for lo, hi, n in axes]
    mesh = np.meshgrid(*lines[::-1], indexing="ij")[::-1]         # the last parameter slowest
    return Points(np.stack([m.ravel() for m in mesh], 1))


def expand(scene: Scene, n_params: int, default_init: tuple[float, ...]) -> Runs:
    """Every run of the scene, entry by entry; within an entry the grid varies the last key fastest,
    then the starting points. Labels name the swept values: `SGD lr=0.1 momentum=0.9`."""
    starts = init_points(scene, n_params, default_init)
    blocks: list[Block] = []
    n_runs = 0
    for spec, name in zip(scene.optimizers, entry_labels(scene.optimizers)):
        axes = _axes(spec, scene)
        sizes = [len(vals) for _, vals in axes]
        total = int(np.prod(sizes, dtype=np.float64)) * len(starts)
        if n_runs + total > limits.MAX_RUNS:
            grid = " x ".join([f"{k} ({n})" for (k, _), n in zip(axes, sizes)]
                              + ([f"{len(starts)} starts"] if len(starts) > 1 else []))
            key = max(axes, key=lambda a: len(a[1]))[0] if axes else "init"
            where = "train.batch_size" if key == "batch_size" else ("train.init" if key == "init"
                                                                    else f"optimizer[{spec.index}].{key}")
            raise SceneError.one(scene.file, where,
                                 f"this sweep makes {n_runs + total:,} runs ({grid}"
                                 + (f", after {n_runs:,} of earlier entries" if n_runs else "")
                                 + f"), more than the limit of {limits.MAX_RUNS:,}")
        blocks.append(Block(entry=spec.index, type=spec.type, base=name, hparams=dict(spec.hparams),
                            schedule=spec.schedule.type, schedule_options=dict(spec.schedule.options),
                            warmup=dict(spec.schedule.warmup) if spec.schedule.warmup else None,
                            batch_size=scene.train.batch_size, axes=tuple(axes), starts=starts if isinstance(starts, Points) else tuple(starts), n=total))
        n_runs += total
    return Runs(blocks)


def _axes(spec: OptimizerSpec, scene: Scene) -> list[tuple[str, tuple]]:
    axes = [(k, v.values) for k, v in spec.hparams.items() if isinstance(v, Sweep)]
    axes += [(f"schedule.{k}", v.values) for k, v in spec.schedule.options.items() if isinstance(v, Sweep)]
    if isinstance(scene.train.batch_size, Sweep):
        axes.append(("batch_size", scene.train.batch_size.values))
    return axes


def hparam_table(runs: list[Run]) -> dict[str, np.ndarray]:
    """Per-run value of every key swept anywhere in the scene (NaN where a run has no such key)."""
    if isinstance(runs, Runs):
        return _block_table(runs)
    keys = list(dict.fromkeys(k for r in runs for k in r.swept))
    out = {}
    for k in keys:
        vals = [_value_of(r, k) for r in runs]
        width = max((len(v) for v in vals if isinstance(v, tuple)), default=0)
        if width:
            arr = np.full((len(runs), width), np.nan)
            for i, v in enumerate(vals):
                if isinstance(v, tuple):
                    arr[i, :len(v)] = v
        else:
            arr = np.array([np.nan if v is None or isinstance(v, (str, bool)) else float(v) for v in vals])
        out[k] = arr
    return out


def _block_table(runs: Runs) -> dict[str, np.ndarray]:
    """`hparam_table` of blocks: each column filled block by block (numbers only, no per-run objects)."""
    keys = list(dict.fromkeys(k for b in runs.blocks for k in b.swept_keys()))
    out = {}
    for k in keys:
        parts = []
        for b in runs.blocks:
            v = b.column(k)
            if not isinstance(v, np.ndarray):
                v = np.nan if v is None or isinstance(v, (str, bool, dict)) else v
                v = np.broadcast_to(np.asarray(v, dtype=np.float64), (b.n,) + np.shape(v))
            elif v.dtype.kind not in "fiu":            # ragged tuples, strings, None: value by value
                vals = v.tolist()
                w = max((len(x) for x in vals if isinstance(x, tuple)), default=0)
                if w:
                    v = np.full((len(vals), w), np.nan)
                    for i, x in enumerate(vals):
                        if isinstance(x, tuple):
                            v[i, :len(x)] = x
                else:
                    v = np.array([np.nan if x is None or isinstance(x, (str, bool)) else float(x) for x in vals])
            parts.append(np.asarray(v, dtype=np.float64))
        width = max((p.shape[1] for p in parts if p.ndim == 2), default=0)
        if width:
            parts = [p if p.ndim == 2 and p.shape[1] == width else
                     np.concatenate([p.reshape(len(p), -1), np.full((len(p), width - (p.shape[1] if p.ndim == 2 else 0)), np.nan)], 1)
                     if p.ndim == 2 else np.full((len(p), width), np.nan) for p in parts]
        out[k] = np.concatenate(parts)
    return out


def _value_of(run: Run, key: str) -> Any:
    if key in run.swept:
        return run.swept[key]
    if key == "batch_size":
        return run.batch_size
    if key == "init":
        return run.init
    if key.startswith("schedule."):
        return run.schedule_options.get(key[9:])
    return run.hparams.get(key)
