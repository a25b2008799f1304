"""Sweeps: an [[optimizer]] entry with listed or ranged values becomes a grid of runs."""
from __future__ import annotations

import itertools
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
    for p in pts:
        if len(p) != n_params:
            raise SceneError.one(scene.file, "train.init",
                                 f"expected {n_params} values (one per parameter), got {len(p)}")
    return pts


def grid_points(axes, n_params: int, file: str = "<scene>") -> list[tuple[float, ...]]:
    """The starts of `init = { grid = [[lo, hi, n], ...] }`: every point of the grid, the first parameter
    varying fastest (row-major image order: rows along the second parameter, columns along the first)."""
    if len(axes) != n_params:
        raise SceneError.one(file, "train.init.grid", f"expected {n_params} [lo, hi, n] (one per parameter), "
                                                      f"got {len(axes)}")
    lines = [np.linspace(lo, hi, n) for lo, hi, n in axes]
    mesh = np.meshgrid(*lines[::-1], indexing="ij")[::-1]         # the last parameter slowest
    return list(zip(*(m.ravel().tolist() for m in mesh)))


def expand(scene: Scene, n_params: int, default_init: tuple[float, ...]) -> list[Run]:
    """Every run of the scene, entry by entry; within an entry the grid varies the last key fastest,
    then the starting points. Labels name the swept values: `SGD lr=0.1 momentum=0.9`."""
    starts = init_points(scene, n_params, default_init)
    runs: list[Run] = []
    for spec, name in zip(scene.optimizers, entry_labels(scene.optimizers)):
        axes = _axes(spec, scene)
        sizes = [len(vals) for _, vals in axes]
        total = int(np.prod(sizes, dtype=np.float64)) * len(starts)
        if len(runs) + total > limits.MAX_RUNS:
            grid = " x ".join([f"{k} ({n})" for (k, _), n in zip(axes, sizes)]
                              + ([f"{len(starts)} starts"] if len(starts) > 1 else []))
            key = max(axes, key=lambda a: len(a[1]))[0] if axes else "init"
            where = "train.batch_size" if key == "batch_size" else ("train.init" if key == "init"
                                                                    else f"optimizer[{spec.index}].{key}")
            raise SceneError.one(scene.file, where,
                                 f"this sweep makes {len(runs) + total:,} runs ({grid}"
                                 + (f", after {len(runs):,} of earlier entries" if runs else "")
                                 + f"), more than the limit of {limits.MAX_RUNS:,}")
        base = name
        names = [k for k, _ in axes]
        texts = [[f" {k}={_fmt(v)}" for v in vals] for k, vals in axes]
        fixed_hp = dict(spec.hparams)
        fixed_so = dict(spec.schedule.options)
        warmup = dict(spec.schedule.warmup) if spec.schedule.warmup else None
        for values, parts in zip(itertools.product(*[vals for _, vals in axes]), itertools.product(*texts)):
            chosen = dict(zip(names, values))
            hp, sopts = dict(fixed_hp), dict(fixed_so)
            for k, v in chosen.items():
                if k.startswith("schedule."):
                    sopts[k[9:]] = v
                elif k != "batch_size":
                    hp[k] = v
            bs = chosen.get("batch_size", scene.train.batch_size)
            label = base + "".join(parts)
            for j, start in enumerate(starts):
                sw, lab = chosen, label
                if len(starts) > 1:
                    sw = {**chosen, "init": start}
                    lab = f"{label} start {j + 1}"
                runs.append(Run(entry=spec.index, type=spec.type, label=lab, hparams=hp,
                                schedule=spec.schedule.type, schedule_options=sopts, warmup=warmup,
                                batch_size=bs, init=start, swept=sw))
    return runs


def _axes(spec: OptimizerSpec, scene: Scene) -> list[tuple[str, tuple]]:
    axes = [(k, v.values) for k, v in spec.hparams.items() if isinstance(v, Sweep)]
    axes += [(f"schedule.{k}", v.values) for k, v in spec.schedule.options.items() if isinstance(v, Sweep)]
    if isinstance(scene.train.batch_size, Sweep):
        axes.append(("batch_size", scene.train.batch_size.values))
    return axes


def hparam_table(runs: list[Run]) -> dict[str, np.ndarray]:
    """Per-run value of every key swept anywhere in the scene (NaN where a run has no such key)."""
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
