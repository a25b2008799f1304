"""What the simulator records, and whether it fits: the quantities the scene's views draw, and an
estimate of the memory a simulation holds, checked against a budget before anything runs.

`[train] record = "drawn"` keeps in the History what the views draw: every view but `grads`, `update` and
state arrows reads only the parameters and the loss, so a sweep drawn as a heat map or as basins keeps no
gradients or updates (they are then zero-stride NaN arrays of the usual shape: no memory), and a scene drawn
only by heatmap, loss and lr views (LOSS_ONLY) keeps each run's parameters at the first and last step only
(`History.params_ends`; `params` is then NaN of the usual shape, no memory). `record = "all"`
(or `animopt simulate --all-steps`) keeps every quantity at every step. `record = "auto"` (the default)
keeps everything while a History array holds at most AUTO_VALUES values (every scene but the big sweeps:
the Python API's History has its gradients), and what is drawn past that.

The budget: `$ANIMOPT_MEMORY_MB`, else 60% of the machine's physical memory. A scene whose simulation
would hold more is refused at validation (`animopt validate`, before render) with the estimate and what
to change, instead of being killed by the kernel halfway.

Chunks: the loop steps the runs in contiguous chunks when their working set (`run_work_bytes` a run: the
loop's vectors, the problem's temporaries, what it records before it goes into the History) is more than
CHUNK_SHARE of the budget; each chunk is simulated on its own and written into the one History, so the
simulation holds the History and one chunk's working set (what `estimate_bytes` counts). Every run is
independent of the others, so a chunked History is the unchunked one to the bit (animopt.simulator.chunks).
`$ANIMOPT_CHUNK_RUNS` sets the most runs a chunk may hold instead (tests, or a machine whose memory is shared).
"""
from __future__ import annotations

import os

RUN_BYTES = 100              # each run: its swept values as array columns (sweep.Runs: no object a run)
AUTO_VALUES = 10_000_000     # steps x runs x parameters under which "auto" records everything (80 MB as float64)
CHUNK_SHARE = 0.25           # of the budget: the most the runs of one chunk may hold while the loop steps them
LOOP_VECTORS = 16            # [P] vectors a run holds in the loop: parameters, new parameters, gradient, noise,
                             # update, optimizer state (Adam 2, schedule-free 3, Prodigy 5 and its scalars)
PROBLEM_COPIES = 4           # the problem's temporaries a data point of a run: inputs gathered, activations,
                             # their gradients (at most P values a point: every unit of a layer has a weight)

# views that read only the parameters and the loss (and the learning rate, the hyperparameters)
PARAMS_AND_LOSS = ("fit_line", "loss", "lr", "contour", "surface", "params", "ema", "heatmap", "landscape",
                   "boundary", "accuracy", "basins")
# views that read only the loss (and the learning rate, the hyperparameters): with them alone, "drawn" keeps
# each run's parameters at the first and the last step only (History.params_ends), not at every step
LOSS_ONLY = ("heatmap", "loss", "lr")


def _views(render):
    for row in render.views:
        for v in row:
            yield v
            inner = v.options.get("view") if v.type == "grid" else None
            if inner is not None:
                yield inner


def views_draw_steps_detail(render) -> bool:
    """True when a view draws gradients or updates (grads, update, state arrows, a view not known here)."""
    return any(v.type != "grid" and (v.type not in PARAMS_AND_LOSS or v.options.get("state"))
               for v in _views(render))


def wants_steps_detail(scene, steps: int = 0, runs: int = 0, params: int = 0) -> bool:
    """True when the History must keep the gradient and the update of every step: `record = "all"`,
    `record = "auto"` with at most AUTO_VALUES values, or a view that draws them (grads, update, state
    arrows, or a view this module does not know)."""
    mode = getattr(scene.train, "record", "auto")
    if mode == "all" or (mode == "auto" and steps * runs * params <= AUTO_VALUES):
        return True
    return views_draw_steps_detail(scene.render)


def views_draw_params(render) -> bool:
    """True when a view draws the parameters of some step (any view but heatmap, loss and lr)."""
    return any(v.type != "grid" and v.type not in LOSS_ONLY for v in _views(render))


def wants_params(scene, steps: int = 0, runs: int = 0, params: int = 0) -> bool:
    """True when the History must keep every run's parameters at every step: `record = "all"`, `record =
    "auto"` with at most AUTO_VALUES values, or a view that draws them (every view but heatmap, loss, lr).
    Otherwise it keeps them at the first and the last step only (`History.params_ends`; `params` is then
    NaN of the usual shape, zero strides)."""
    mode = getattr(scene.train, "record", "auto")
    if mode == "all" or (mode == "auto" and steps * runs * params <= AUTO_VALUES):
        return True
    return views_draw_params(scene.render)


def budget_bytes() -> int:
    """`$ANIMOPT_MEMORY_MB` megabytes, else 60% of the physical memory (4 GB where it cannot be read)."""
    from .spec import env_number

    megabytes = env_number("ANIMOPT_MEMORY_MB")
    if megabytes is not None:
        return int(megabytes * 2 ** 20)
    try:
        return int(0.6 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def run_work_bytes(steps: int, params: int, itemsize: int, detail: bool, params_all: bool = True,
                   buffers: int = 0, rows: int = 1) -> int:
    """The memory one run takes while the loop steps it (its share of a chunk's working set): LOOP_VECTORS
    vectors of its parameters, the problem's temporaries for the `rows` data points of a step (the
    minibatch, all the data for a full batch, 1 for an analytic problem: PROBLEM_COPIES x rows x P), and
    what it records while it steps (parameters as `wants_params`, loss, gradients and updates when
    `detail`, `buffers` optimizer buffers) twice: the tensors, and their copy into the History."""
    S1 = steps + 1
    recorded = (S1 if params_all else 2) * params + S1 + (2 * detail + buffers) * steps * params
    return itemsize * (LOOP_VECTORS * params + PROBLEM_COPIES * max(1, rows) * params + 2 * recorded)


def chunk_runs(work: int) -> int:
    """The most runs one chunk steps at once, for runs of `work` bytes each (`run_work_bytes`):
    `$ANIMOPT_CHUNK_RUNS`, else as many as CHUNK_SHARE of the budget holds (at least one)."""
    from .spec import env_number

    runs = env_number("ANIMOPT_CHUNK_RUNS", integer=True)
    if runs is not None:
        return runs
    return max(1, int(CHUNK_SHARE * budget_bytes()) // max(1, work))


def estimate_bytes(steps: int, runs: int, params: int, itemsize: int, detail: bool, batch: int = 0,
                   shared_batches: bool = True, params_all: bool = True, work: int = 0,
                   constant_lr: bool = False) -> dict[str, int]:
    """The memory a simulation holds at its peak, by part: each run's Python objects, the recorded parameters
    in the simulation's dtype (at every step, or at the first and the last only when not `params_all`: the
    views draw the loss alone, see `wants_params`), the gradients and updates when `detail`, the loss (kept in
    the dtype, returned as float64 up to AUTO_VALUES values), the learning-rate table (float64, and a copy in
    the dtype; one rate a run when `constant_lr`), the minibatch indices when each run has its own ([steps, runs, batch] int64), and the working
    set of one chunk of runs of `work` bytes each (`run_work_bytes`, `chunk_runs`)."""
    S1 = steps + 1
    parts = {
        "runs": runs * RUN_BYTES,
        "params": (S1 if params_all else 2) * runs * params * itemsize,
        "loss": S1 * runs * (itemsize + (8 if S1 * runs <= AUTO_VALUES else 0)),
        # the table, its tensor copy, the active mask; one rate a run for constant schedules (zero strides)
        "lr": (1 if constant_lr else steps) * runs * (8 + itemsize + 1),
    }
    if detail:
        parts["grads and updates"] = 2 * steps * runs * params * itemsize
    if batch and not shared_batches:
        parts["minibatch indices"] = steps * runs * batch * (8 + itemsize)
    if work:
        parts["working set"] = min(runs, chunk_runs(work)) * work
    return parts


def check_fits(parts: dict[str, int], file: str, steps: int, runs: int, params: int, dtype: str,
               detail: bool) -> None:
    """A SceneError with the estimate and what to change when `parts` add up to more than the budget."""
    from .spec import SceneError

    total, budget = sum(parts.values()), budget_bytes()
    if total <= budget:
        return
    gb = lambda b: f"{b / 2 ** 30:.1f} GB"  # noqa: E731
    biggest = ", ".join(f"{k} {gb(v)}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]) if v >= 2 ** 28)
    fixes = []
    if dtype == "float64":
        fixes.append('dtype = "float32" (about half)')
    if detail:
        fixes.append('views that draw no gradients (not grads, update or state arrows) and record = "auto" or '
                     '"drawn"')
    share = budget / total
    fixes.append(f"fewer runs (about {int(runs * share):,} fit) or fewer steps (about {max(1, int(steps * share)):,})")
    raise SceneError.one(file, "train", f"this simulation would hold about {gb(total)} ({runs:,} runs x "
                         f"{steps:,} steps x {params} parameters: {biggest}), more than the memory budget of "
                         f"{gb(budget)} ($ANIMOPT_MEMORY_MB, default 60% of this machine's memory); "
                         "use " + ", or ".join(fixes))
