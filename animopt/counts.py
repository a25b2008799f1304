"""The runs of a scene and their steps, without torch: the sweep with its torch.optim twins, the updates of
each run, the learning rate of every update, and the limits on them (steps, History size, memory).

`simulator.plan` counts on the built problem; `animopt validate` on the problem's outline
(animopt.declare.problems.Outline), so both check the same, and validate never imports torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import limits, record, tune
from .history import History
from .declare.optimizers import OPTIMIZERS
from .declare.schedules import lr_table
from .spec import SceneError
from .sweep import Run, Runs, batch_groups, entries, expand, firsts, hparam_table, labels
from .teach import buffers_wanted

ITEMSIZE = {"float32": 4, "float64": 8}


@dataclass
class Counts:
    """The runs and their updates, on a problem (built, or its outline): what a Plan holds but the device."""

    scene: object
    problem: object                 # param_names, n, default_init, matrices, minimum, info()
    runs: list[Run]
    steps: int                      # updates in the History (the longest run's)
    run_steps: np.ndarray           # [R] updates of each run
    steps_per_epoch: dict           # batch size -> updates per epoch (data problems)
    twins: dict = field(default_factory=dict)   # run -> the run it repeats with torch.optim (compare = "torch")


def count(scene, problem) -> Counts:
    """The runs of `scene` on `problem` and their updates, after every limit (raises SceneError)."""
    f, tr = scene.file, scene.train
    for o in scene.optimizers:
        if o.type == "muon" and not getattr(problem, "matrices", ()):
            raise SceneError.one(f, f"optimizer[{o.index}].type", f"muon updates weight matrices, and a "
                                 f"'{scene.problem.type}' problem has none; use it on 'linear' or 'classifier'")
    P = len(problem.param_names)
    runs, twins = with_twins(expand(scene, P, tuple(problem.default_init)))
    if problem.n is None:
        if tr.batch_size is not None:
            raise SceneError.one(f, "train.batch_size", f"'{scene.problem.type}' has no data to batch; "
                                 "batch_size is for data problems")
        if tr.epochs is not None:
            raise SceneError.one(f, "train.epochs", f"'{scene.problem.type}' has no data, so no epochs; "
                                 "give steps = N")
    if tr.steps is None and tr.epochs is None:
        raise SceneError.one(f, "train.steps", "missing: give steps = N (updates) or epochs = N")
    run_steps, spe = _updates(scene, problem.n, runs)
    steps = int(run_steps.max())
    if (steps + 1) * len(runs) * P > limits.MAX_HISTORY_VALUES:
        raise SceneError.one(f, "train.steps", f"{steps:,} steps x {len(runs):,} runs x {P} parameters is more "
                             f"than the {limits.MAX_HISTORY_VALUES:,} values a History may hold")
    _check_memory(scene, problem.n, runs, steps, P)
    return Counts(scene, problem, runs, steps, np.asarray(run_steps), spe, twins)


def _updates(scene, n: int | None, runs: list[Run]) -> tuple[list[int], dict]:
    """The updates of each run (by its batch size: steps, or epochs x updates per epoch) and the updates
    per epoch of each batch size."""
    tr, spe = scene.train, {}
    run_steps = np.zeros(len(runs), dtype=np.int64)
    for bs, rows in batch_groups(runs).items():      # a sweep has a few batch sizes, many runs
        if n is not None:
            b = min(bs or n, n)
            spe[bs] = n // b if tr.drop_last else math.ceil(n / b)
        n_up = tr.steps if tr.steps is not None else max(1, math.ceil(tr.epochs * spe[bs]))
        if n_up > limits.MAX_STEPS:
            raise SceneError.one(scene.file, "train.epochs", f"{n_up:,} updates per run is more than the limit "
                                 f"of {limits.MAX_STEPS:,}")
        run_steps[rows] = n_up
    return run_steps, spe


def _check_memory(scene, n: int | None, runs: list[Run], steps: int, P: int) -> None:
    """The simulation's memory estimate against the budget (animopt.record): the History and one chunk."""
    sizes = _batch_sizes(n, runs)
    batch, shared = (max(sizes), len(sizes) == 1) if n is not None else (0, True)   # indices: shared?
    dtype = scene.train.dtype
    detail = record.wants_steps_detail(scene, steps, len(runs), P)
    every = record.wants_params(scene, steps, len(runs), P)      # else the first and the last step only
    work = run_work(scene, n, runs, steps, P, sizes)
    const = _constant_rates(scene, runs, len(sizes))
    record.check_fits(record.estimate_bytes(steps, len(runs), P, ITEMSIZE[dtype], detail, batch, shared, every,
                                            work, const), scene.file, steps, len(runs), P, dtype, detail)


def _constant_rates(scene, runs, batch_sizes: int) -> bool:
    """True when lr_tables will hold one rate a run (a zero-stride table: `_block_lr`): every entry's
    schedule constant without warmup and not swept, and every run as long as the others."""
    if not isinstance(runs, Runs) or (batch_sizes > 1 and scene.train.steps is None):
        return False
    return all(b.schedule == "constant" and not b.warmup and not any(k.startswith("schedule.") for k, _ in b.axes)
               for b in runs.blocks)


def _batch_sizes(n: int | None, runs) -> set[int]:
    """The runs' minibatch sizes (the full batch as n); {1} for a problem without data."""
    return {min(bs or n, n) for bs in batch_groups(runs)} if n is not None else {1}


def run_work(scene, n: int | None, runs, steps: int, P: int, sizes: set[int] | None = None) -> int:
    """One run's working set in the loop (animopt.record.run_work_bytes) in this scene: what its views
    record, the data points of a step (the largest minibatch; 1 for a problem without data)."""
    R = len(runs)
    rows = max(sizes if sizes is not None else _batch_sizes(n, runs))
    detail, every = record.wants_steps_detail(scene, steps, R, P), record.wants_params(scene, steps, R, P)
    return record.run_work_bytes(steps, P, ITEMSIZE[scene.train.dtype], detail, every,
                                 len(buffers_wanted(scene.render)), rows)


def with_twins(runs: list[Run]) -> tuple[list[Run], dict[int, int]]:
    """`compare = "torch"`: after each entry's runs, its torch.optim twins, one per run (type "torch", the
    same settings as the class's arguments, label "... (torch.optim)"). Returns the runs and twin -> run."""
    if isinstance(runs, Runs) and not any(np.any(np.asarray(b.column("compare"), dtype=object) == "torch")
                                          for b in runs.blocks):
        return runs, {}
    out, twins, pending = [], {}, []

    def flush():
        for i in pending:
            r = runs[i]
            args = {k: v for k, v in r.hparams.items()
                    if k not in ("lr", "compare", "momentum_style") and v is not None}
            if r.type == "lbfgs" and args.get("line_search_fn") == "none":
                del args["line_search_fn"]
            twins[len(out)] = pos[i]
            out.append(r._replace(type="torch", label=f"{r.label} (torch.optim)", hparams={
                "lr": r.hparams["lr"], "class": f"torch.optim.{OPTIMIZERS[r.type].twin}", "args": args,
                "compare": "none"}))
        pending.clear()

    pos = {}
    for i, r in enumerate(runs):
        if out and r.entry != runs[i - 1].entry:
            flush()
        pos[i] = len(out)
        out.append(r)
        if r.hparams.get("compare") == "torch":
            pending.append(i)
    flush()
    return out, twins


def lr_tables(p) -> np.ndarray:
    """[steps, R] learning rates; runs of an entry with the same schedule values and length are computed
    in one call. A rule that divides by the rate (Keras-style momentum) may not meet a rate of 0."""
    runs = p.runs
    if isinstance(runs, Runs):
        fast = _block_lr(p)
        if fast is not None:
            return fast
    out = np.zeros((p.steps, len(p.runs)))
    entries: dict = {}
    for i, r in enumerate(runs):
        entries.setdefault(r.entry, []).append(i)
    for e, cols in entries.items():
        r0 = runs[cols[0]]
        swept = [k for k in r0.swept if k.startswith("schedule.")]
        groups: dict = {}
        for i in cols:
            sw = runs[i].swept
            groups.setdefault((tuple(sw[k] for k in swept), int(p.run_steps[i])), []).append(i)
        for (_, n), idx in groups.items():
            ri = runs[idx[0]]
            lrs = np.array([runs[i].hparams["lr"] for i in idx], dtype=np.float64)
            out[:n, idx] = lr_table(ri.schedule, dict(ri.schedule_options), ri.warmup, lrs, n)
        if OPTIMIZERS[r0.type].needs_positive_lr(r0.hparams):
            for i in cols:
                zero = np.nonzero(~(out[:p.run_steps[i], i] > 0))[0]
                if len(zero):
                    raise SceneError.one(p.scene.file, f"optimizer[{e}].schedule",
                                         f"{runs[i].label!r} divides by the learning rate (momentum_style = "
                                         f"\"keras\"), but its schedule reaches {out[zero[0], i]:g} at update {zero[0]}")
    return out


def _block_lr(p) -> np.ndarray | None:
    """`lr_tables` of blocks whose schedule options are not swept and whose runs all run every step:
    one `lr_table` call a block; when every block's rate is constant, one rate a run as a zero-stride
    [steps, R] table (no memory). None when a block is not of this kind (the per-run way then)."""
    runs, S = p.runs, p.steps
    if (np.asarray(p.run_steps) != S).any():
        return None
    rates, const = [], True
    for b in runs.blocks:
        if any(k.startswith("schedule.") for k, _ in b.axes):
            return None
        lr = b.column("lr")
        rates.append(np.broadcast_to(np.asarray(lr, dtype=np.float64), (b.n,)))
        const &= b.schedule == "constant" and not b.warmup
    for b, lr in zip(runs.blocks, rates):
        if OPTIMIZERS[b.type].needs_positive_lr(b.hparams) and const and (~(lr > 0)).any():
            return None                  # the per-run way names the run
    if const:
        return np.broadcast_to(np.concatenate(rates)[None, :], (S, len(runs)))
    out = np.zeros((S, len(runs)))
    for b, lr, a, z in zip(runs.blocks, rates, runs.offsets[:-1], runs.offsets[1:]):
        if OPTIMIZERS[b.type].needs_positive_lr(b.hparams):
            return None
        out[:, a:z] = lr_table(b.schedule, dict(b.schedule_options), b.warmup, lr, S)
    return out


def outline(p) -> History:
    """The History a plan (or Counts) will make, as far as the views' checks read it (runs, labels, parameter
    names, swept values, optimizer entries, problem), with one step of zeros: validate checks the
    views on it without simulating. (Zero-stride arrays: no memory, whatever the number of runs.)"""
    R, P = len(p.runs), len(p.problem.param_names)

    def zeros(*shape):
        return np.broadcast_to(np.zeros((), dtype=np.float64), shape)

    h = History(
        params=zeros(2, R, P), loss=zeros(2, R), grads=zeros(1, R, P), updates=zeros(1, R, P), lr=zeros(1, R),
        diverged_at=np.broadcast_to(np.int64(-1), (R,)), labels=labels(p.runs),
        param_names=tuple(p.problem.param_names), hparams=hparam_table(p.runs),
        optimizer=entries(p.runs), problem=p.problem.info())
    groups = tune.candidate_groups(p)        # tuned: one run per group, as the tuned History will have
    return tune.select(h, tune.keep_runs(p, [{"runs": g.runs, "best": 0} for g in groups])) if groups else h


def checked(scene) -> Counts:
    """The scene's runs and steps on its problem's outline (no torch), after every check `simulator.plan`
    makes but the device's: the limits, a schedule reaching 0 for a rule that divides by the rate, tuning."""
    from .declare.problems import PROBLEMS

    values = dict(scene.problem.options)
    c = count(scene, PROBLEMS[scene.problem.type].outline(values, scene.base_dir, scene.seed, scene.file))
    first = firsts(c.runs)
    if any(OPTIMIZERS[r.type].needs_positive_lr(r.hparams) for r in first.values()):
        lr_tables(c)                 # [steps, runs]: only for the entries' check
    tune.check_plan(c)
    return c
