"""The simulator: every run of a scene stepped together as `[runs, P]` tensors on one device.

This is the only loop over steps. Torch in, numpy (`History`) out.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from . import record
from .counts import count, lr_tables, run_work
from .counts import outline, with_twins  # noqa: F401  (the simulator's names)
from .history import History
from .optim import OPTIMIZERS, Ctx
from .problems import PROBLEMS, BuildCtx, Problem
from .scene import Scene
from .spec import SceneError, Sweep
from . import tune
from .sweep import Run, batch_groups, column, entries, hparam_table, inits, labels as run_labels, part, slices
from .teach import buffers_wanted

DTYPES = {"float32": torch.float32, "float64": torch.float64}
# runs: the runs are cut into chunks (`chunks`) at multiples of this many from the first run and from their
# optimizer entry's first run, so that each kernel meets a run's numbers where it meets them when every run
# is stepped at once: elementwise ones in the same place of their vector loop (the vectorized body or the
# scalar tail, whose roundings may differ: lerp, exp), matrix products in the same place of their blocks
# of rows and columns (a multiple of 3 x 32: MKL's blocks of 24 or 48 columns, 16 or 32 lanes)
CHUNK_ALIGN = 96
# rules whose entries are not cut into chunks: L-BFGS evaluates the runs of its entry still searching
# together (`Ctx.evaluate`), so a run's evaluation would meet other runs in a chunk
UNCUT = ("lbfgs",)
_NP = {torch.float32: np.float32, torch.float64: np.float64}


@dataclass
class Plan:
    """Everything decided before the first update: problem, runs, step counts, device."""

    scene: Scene
    problem: Problem
    runs: list[Run]
    steps: int                      # updates in the History (the longest run's)
    run_steps: np.ndarray           # [R] updates of each run
    steps_per_epoch: dict           # batch size -> updates per epoch (data problems)
    device: torch.device
    dtype: torch.dtype
    lr: np.ndarray | None = None    # [steps, R] learning rate of every update (0 past a run's end)
    twins: dict = field(default_factory=dict)   # run -> the run it repeats with torch.optim (compare = "torch")


def resolve_device(name: str, file: str = "<scene>", key: str = "train.device") -> torch.device:
    """A torch device that is really there, or a SceneError saying what is."""
    name = name.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise SceneError.one(file, key, f"unknown device {name!r}; expected 'cpu', 'cuda', 'cuda:N', 'mps' "
                                        "or 'auto'") from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SceneError.one(file, key, f"device {name!r} is not available: this torch ({torch.__version__}) "
                                            "sees no CUDA GPU; use 'cpu' or 'auto'")
        n = torch.cuda.device_count()
        if dev.index is not None and dev.index >= n:
            raise SceneError.one(file, key, f"device {name!r} is not available: there are {n} CUDA GPU(s) "
                                            f"(cuda:0 to cuda:{n - 1})")
        return dev
    if dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise SceneError.one(file, key, "device 'mps' is not available on this machine; use 'cpu' or 'auto'")
        return dev
    raise SceneError.one(file, key, f"unsupported device {name!r}; expected 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'")


def plan(scene: Scene, device: str | None = None) -> Plan:
    """Builds the problem and the runs and checks every limit, without running anything."""
    f = scene.file
    dev = resolve_device(device or scene.train.device, f, "train.device" if device is None else "--device")
    dtype = DTYPES[scene.train.dtype]
    if dev.type == "mps" and dtype == torch.float64:
        raise SceneError.one(f, "train.dtype", "the 'mps' device has no float64; use dtype = \"float32\"")
    ctx = BuildCtx(seed=scene.seed, base_dir=scene.base_dir, device=dev, dtype=dtype, file=f)
    problem = PROBLEMS[scene.problem.type].build(dict(scene.problem.options), ctx)
    c = count(scene, problem)
    out = Plan(scene, problem, c.runs, c.steps, c.run_steps, c.steps_per_epoch, dev, dtype, twins=c.twins)
    out.lr = lr_tables(out)
    tune.check_plan(out)
    return out


def _batches(plan: Plan) -> tuple[torch.Tensor | None, torch.Tensor | None, np.ndarray | None]:
    """Minibatch indices `[steps, R, B]` and weights (1/b per real point, 0 padding), or None for full batch."""
    prob, tr, S = plan.problem, plan.scene.train, plan.steps
    if prob.n is None:
        return None, None, None
    by_size = batch_groups(plan.runs)
    if all(min(b or prob.n, prob.n) == prob.n for b in by_size) and not tr.drop_last:
        return None, None, None
    sizes = np.zeros(len(plan.runs), dtype=np.int64)
    for b, rows in by_size.items():
        sizes[rows] = min(b or prob.n, prob.n)
    B = int(sizes.max())
    groups = {}
    for b in dict.fromkeys(min(b or prob.n, prob.n) for b in by_size):
        rng = np.random.default_rng([plan.scene.seed, 2, b])
        idx = np.full((S, B), -1, dtype=np.int64)
        t = 0
        while t < S:
            order = rng.permutation(prob.n) if tr.shuffle else np.arange(prob.n)
            for s in range(0, prob.n, b):
                chunk = order[s:s + b]
                if tr.drop_last and len(chunk) < b:
                    break
                idx[t, :len(chunk)] = chunk
                t += 1
                if t == S:
                    break
        groups[b] = idx
    if len(groups) == 1:                # one batch size: one [S, B] table, seen by every run (no copies)
        idx = next(iter(groups.values()))
        real = idx >= 0
        w = real / np.maximum(real.sum(-1, keepdims=True), 1)
        R = len(plan.runs)
        idx_t = torch.as_tensor(np.where(real, idx, 0), device=plan.device)[:, None, :].expand(S, R, B)
        w_t = torch.as_tensor(w, dtype=plan.dtype, device=plan.device)[:, None, :].expand(S, R, B)
        keep = np.broadcast_to(idx[:, None, :], (S, R, B)) if S * R * B <= 50_000_000 else None
        return idx_t, w_t, keep
    keys = list(groups)
    stack = np.stack([groups[b] for b in keys])                # [G, S, B]
    which = np.searchsorted(np.array(keys), sizes, sorter=np.argsort(keys))
    which = np.argsort(keys)[which]                           # [R] the index in keys of each run's size
    per_run = stack[which].transpose(1, 0, 2)                 # [S, R, B]
    real = per_run >= 0
    w = real / np.maximum(real.sum(-1, keepdims=True), 1)
    idx_t = torch.as_tensor(np.where(real, per_run, 0), device=plan.device)
    w_t = torch.as_tensor(w, dtype=plan.dtype, device=plan.device)
    keep = per_run if per_run.size <= 50_000_000 else None
    return idx_t, w_t, keep


def _hparams_tensor(runs, sl: slice, key: str, dtype, device):
    vals = column(runs, sl, key)
    n = sl.stop - sl.start
    if isinstance(vals, np.ndarray) and vals.dtype.kind in "fiu":           # a swept column (blocks)
        arr = torch.as_tensor(vals, dtype=dtype, device=device)
        return tuple(arr[:, i:i + 1] for i in range(arr.shape[1])) if arr.dim() == 2 else arr.unsqueeze(1)
    if isinstance(vals, np.ndarray):
        vals = vals.tolist()
    elif not isinstance(vals, list):                                       # one value for all (blocks)
        if isinstance(vals, (bool, str, dict)) or vals is None:
            return vals
        if isinstance(vals, tuple):
            return tuple(torch.full((n, 1), float(v), dtype=dtype, device=device) for v in vals)
        return torch.full((n, 1), float(vals), dtype=dtype, device=device)
    v0 = vals[0]
    if isinstance(v0, (bool, str, dict)) or v0 is None:     # dict: a table of arguments (type = "torch")
        return v0
    if isinstance(v0, tuple):
        arr = torch.tensor(vals, dtype=dtype, device=device)    # [R, k]
        return tuple(arr[:, i:i + 1] for i in range(arr.shape[1]))
    return torch.tensor(vals, dtype=dtype, device=device).unsqueeze(1)


def simulate(scene: Scene | Plan, device: str | None = None) -> History:
    """Runs every optimizer of the scene on its problem and records the full History."""
    p = scene if isinstance(scene, Plan) else plan(scene, device)
    with _cpu_threads(p):
        h = _simulate(p)
    return tune.apply(p, h)      # tuned keys (lr = { tune = ... }): each entry at its best candidate


def simulate_candidates(scene: Scene | Plan, device: str | None = None) -> tuple[Plan, History]:
    """The plan and the History of every run, a tuned key's candidates included (`animopt tune`)."""
    p = scene if isinstance(scene, Plan) else plan(scene, device)
    with _cpu_threads(p):
        return p, _simulate(p)


@contextmanager
def _cpu_threads(p: Plan):
    """One CPU thread for the small tensors of most scenes: the loop is many tiny ops, and extra threads
    only contend (up to 10x slower on a busy 2-core machine). Big problems keep torch's setting."""
    n0 = torch.get_num_threads()
    work = len(p.runs) * len(p.problem.param_names) * max(1, p.problem.n or 1)
    one = p.device.type == "cpu" and work < 50_000_000 and n0 > 1
    if one:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if one:
            torch.set_num_threads(n0)


@dataclass
class _Sim:
    """A simulation under way: what `_start` decides, what `_loop` fills in, what `_records` hands on."""

    p: Plan                         # the plan of these runs alone (a chunk: `_part`)
    lr_np: np.ndarray               # [S, R] (zero-stride rows for constant schedules)
    lr_const: bool
    lr: torch.Tensor                # [R, 1] or [S, R, 1]
    all_active: bool
    run_steps_t: torch.Tensor | None
    x0: torch.Tensor
    groups: list                    # (slice, transform, state) per optimizer entry
    full: list                      # per group: the rule reads Ctx.loss / Ctx.evaluate (zoo rules)
    idx: torch.Tensor | None
    w: torch.Tensor | None
    rows: slice                     # these runs' place among the plan's (a chunk, or all of them)
    all_runs: int                   # the plan's runs
    gen: torch.Generator | None
    noise_block: int
    keep: bool
    detail: bool
    H_params: torch.Tensor | None
    H_grads: torch.Tensor | None
    H_upd: torch.Tensor | None
    H_loss: torch.Tensor | None
    div_pt: torch.Tensor | None
    H_buf: dict
    recording: bool
    any_full: bool
    last: torch.Tensor | None = None
    H_evals: torch.Tensor | None = None   # evaluations per update (L-BFGS)
    H_iter: torch.Tensor | None = None    # averaged iterates (schedule-free, ASGD)
    has_iter: np.ndarray | None = None
    diverged: torch.Tensor | None = None


def _simulate(p: Plan) -> History:
    """Plan the tensors, step the runs chunk by chunk (`chunks`), gather what they recorded, and make the
    History of all of them."""
    if p.lr is None:
        p = replace(p, lr=lr_tables(p))
    batches = _batches(p)                 # one table for every chunk
    out: dict = {}
    for rows in chunks(p):
        _gather(out, _chunk(p, batches, rows), rows, len(p.runs))
    return _finish(p, out, batches[2])


def chunks(p: Plan) -> list[slice]:
    """The runs in contiguous chunks of at most `record.chunk_runs` runs (by a run's working set,
    animopt.record) where the cuts allow: a cut is at a multiple of CHUNK_ALIGN runs from the first run and
    from its optimizer entry's first run, and CHUNK_ALIGN runs at least from the last; not inside an entry of
    UNCUT. One chunk when the views draw optimizer buffers: a rule reports a buffer only when a run of its
    entry has one (SGD with momentum 0 alone reports none), so a chunk's could differ."""
    R = len(p.runs)
    n = record.chunk_runs(run_work(p.scene, p.problem.n, p.runs, p.steps, len(p.problem.param_names)))
    if n >= R or buffers_wanted(p.scene.render):
        return [slice(0, R)]
    groups = slices(p.runs)
    starts = np.array([sl.start for sl in groups])
    whole = np.array([p.runs[sl.start].type in UNCUT for sl in groups])
    cuts = np.arange(CHUNK_ALIGN, R - CHUNK_ALIGN + 1, CHUNK_ALIGN)
    g = np.searchsorted(starts, cuts, side="right") - 1         # the entry each cut falls in
    cuts = cuts[((cuts - starts[g]) % CHUNK_ALIGN == 0) & (~whole[g] | (cuts == starts[g]))].tolist()
    edges = [0]
    for c, after in zip(cuts, cuts[1:] + [R]):
        if after - edges[-1] > n:           # going on to the next cut would pass n runs: cut here
            edges.append(c)
    edges.append(R)
    return [slice(a, b) for a, b in zip(edges, edges[1:])]


def _chunk(p: Plan, batches: tuple, rows: slice) -> dict:
    """The records of the runs `rows`, simulated on their own (the rest of their tensors freed on return)."""
    s = _start(p, batches, rows)
    _loop(s)
    return _records(s)


def _part(p: Plan, rows: slice) -> Plan:
    """The plan of the runs `rows` alone: their runs, updates and learning rates (the twins' labels and
    the tuning read the whole History)."""
    if rows == slice(0, len(p.runs)):
        return p
    return replace(p, runs=part(p.runs, rows), run_steps=p.run_steps[rows], lr=p.lr[:, rows], twins={})


def _start(whole: Plan, batches: tuple, rows: slice) -> _Sim:
    """The learning rates, the optimizer groups, the minibatches and the record tensors of the plan's runs
    `rows` (what to record and the noise: as for all the plan's runs), before step 0."""
    p = _part(whole, rows)
    sc, prob, runs, S = p.scene, p.problem, p.runs, p.steps
    dev, dt = p.device, p.dtype
    R, P, all_runs = len(runs), len(prob.param_names), len(whole.runs)
    lr_np = p.lr
    # one rate a run for the whole simulation (constant schedules: a zero-stride table), else [S, R, 1]
    lr_const = lr_np.strides[0] == 0
    lr = torch.as_tensor(np.array(lr_np[0]) if lr_const else lr_np, dtype=dt, device=dev).unsqueeze(-1)
    # runs that stop early (batch sizes with other epoch lengths): a run is active while t < its steps
    all_active = bool((p.run_steps >= S).all())
    x0 = torch.as_tensor(inits(runs, tuple(prob.default_init)), dtype=dt, device=dev)
    groups, full = _groups(p, x0)
    idx, w = (None, None) if batches[0] is None else (batches[0][:, rows], batches[1][:, rows])
    # every run's parameters at every step unless the views draw only the loss (animopt.record.wants_params):
    # then the first and the last step's alone, and the loss of each step computed in the loop
    keep = record.wants_params(sc, S, all_runs, P)
    # gradients and updates of every step only when a view draws them or record = "all" (animopt.record)
    detail = record.wants_steps_detail(sc, S, all_runs, P)
    # the optimizer buffers the views draw (state arrows, the update view), only when they ask
    H_buf = {b: torch.full((S, R, P), math.nan, dtype=dt, device=dev) for b in buffers_wanted(sc.render)}
    s = _Sim(
        p=p, lr_np=lr_np, lr_const=lr_const, lr=lr, all_active=all_active,
        run_steps_t=None if all_active else torch.as_tensor(p.run_steps, device=dev),
        x0=x0, groups=groups, full=full, idx=idx, w=w, rows=rows, all_runs=all_runs,
        # drawn on the CPU from the scene's seed, in blocks of steps of every run (a chunk takes its runs'
        # part), so every device and every chunk sees the same noise
        gen=torch.Generator().manual_seed(sc.seed) if sc.train.grad_noise > 0 else None,
        noise_block=max(1, min(S, (1 << 22) // max(1, all_runs * P))), keep=keep, detail=detail,
        H_params=torch.empty((S + 1, R, P), dtype=dt, device=dev) if keep else None,
        H_grads=torch.empty((S, R, P), dtype=dt, device=dev) if detail else None,
        H_upd=torch.empty((S, R, P), dtype=dt, device=dev) if detail else None,
        H_loss=torch.empty((S + 1, R), dtype=dt, device=dev) if idx is None or not keep else None,  # full batch: reused
        div_pt=x0.clone() if idx is None and not keep else None,   # full batch, params not kept: diverged points
        H_buf=H_buf, recording=bool(H_buf) and "record" in Ctx._fields, any_full=any(full),
        has_iter=np.zeros(R, dtype=bool), diverged=torch.full((R,), -1, dtype=torch.long, device=dev))
    if keep:
        s.H_params[0] = x0
    else:
        s.last = x0
        if idx is not None:
            s.H_loss[0] = _full_loss_t(prob, x0[None])[0]
    return s


def _groups(p: Plan, x0: torch.Tensor) -> tuple[list, list]:
    """(slice, transform, state) of each optimizer entry, and whether its rule reads the loss itself."""
    groups, full, runs = [], [], p.runs
    for sl in slices(runs):
        first = runs[sl.start]
        hp = {k: _hparams_tensor(runs, sl, k, p.dtype, p.device) for k in first.hparams}
        if first.type == "muon":
            hp["_matrices"] = tuple(p.problem.matrices)
        tr = OPTIMIZERS[first.type].build(hp)
        groups.append((sl, tr, tr.init(x0[sl])))
        full.append(OPTIMIZERS[first.type].records)
    return groups, full


def _loss_grad(s: _Sim, t: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss [R] and gradient [R, P] at x on update t's minibatch (a problem may give both in closed
    form: `loss_and_grad`)."""
    prob = s.p.problem
    bi = None if s.idx is None else s.idx[t]
    bw = None if s.w is None else s.w[t]
    loss_and_grad = getattr(prob, "loss_and_grad", None)
    if loss_and_grad is not None:
        return loss_and_grad(x, bi, bw)
    xg = x.detach().requires_grad_(True)
    L = prob.loss(xg, bi, bw)
    (g,) = torch.autograd.grad(L.sum(), xg)
    return L, g


def _evaluator(s: _Sim, t: int, start: int):
    """Loss and gradient of some runs (rows of a group starting at `start`) at other points, on
    update t's minibatch: L-BFGS's extra evaluations (no gradient noise)."""
    prob, idx, w = s.p.problem, s.idx, s.w
    loss_and_grad = getattr(prob, "loss_and_grad", None)

    def evaluate(pts, rows):
        gi = rows + start
        bi = None if idx is None else idx[t][gi]
        bw = None if w is None else w[t][gi]
        if loss_and_grad is not None:
            Lx, G = loss_and_grad(pts, bi, bw)
            return Lx.detach(), G
        with torch.enable_grad():
            xg = pts.detach().requires_grad_(True)
            Lx = prob.loss(xg, bi, bw)
            (G,) = torch.autograd.grad(Lx.sum(), xg)
        return Lx.detach(), G
    return evaluate


def _loop(s: _Sim) -> None:
    """Every update of every run: gradient (and noise), the rules' updates, divergence, the records."""
    sc, S = s.p.scene, s.p.steps
    P = len(s.p.problem.param_names)
    noise = sc.train.grad_noise
    thr = sc.train.divergence_threshold
    on_cpu = s.p.device.type == "cpu"     # where a per-step check costs no device sync
    x = s.x0
    for t in range(S):
        L, g = _loss_grad(s, t, x)
        if s.gen is not None:
            if t % s.noise_block == 0:
                eps = torch.randn((s.noise_block, s.all_runs, P), generator=s.gen, dtype=s.p.dtype)
                eps = eps[:, s.rows].to(s.p.device)
            g = g + noise * eps[t % s.noise_block]
        ctx_lr = s.lr if s.lr_const else s.lr[t]
        u, nexts = _updates(s, t, x, L, g, ctx_lr)
        x_new = x - ctx_lr * u
        if nexts:                      # rules that give their new point exactly (the reference's, bit for bit)
            for sl, v in nexts:
                x_new[sl] = v
        x = _advance(s, t, x, x_new, L, g, u, thr, on_cpu)


def _updates(s: _Sim, t: int, x, L, g, ctx_lr) -> tuple[torch.Tensor, list]:
    """Each group's update of step t, and the new points of the rules that give them exactly."""
    groups, nexts = s.groups, []
    if s.recording or s.any_full:
        u = torch.empty_like(g)
        for i, (sl, tr, state) in enumerate(groups):
            full = s.full[i]
            rec = {} if s.recording or full else None
            extra = (L.detach()[sl], _evaluator(s, t, sl.start)) if full else (None, None)
            u[sl], state = tr.update(g[sl], state, Ctx(x[sl], ctx_lr[sl], t + 1, *extra, record=rec))
            for b, H in s.H_buf.items():
                if b in rec:
                    H[t, sl] = rec[b]
            if full:
                _record_full(s, t, sl, rec, nexts)
            groups[i] = (sl, tr, state)
    elif len(groups) == 1:
        sl, tr, state = groups[0]
        u, state = tr.update(g, state, Ctx(x, ctx_lr, t + 1))
        groups[0] = (sl, tr, state)
    else:
        u = torch.empty_like(g)
        for i, (sl, tr, state) in enumerate(groups):
            u[sl], state = tr.update(g[sl], state, Ctx(x[sl], ctx_lr[sl], t + 1))
            groups[i] = (sl, tr, state)
    return u, nexts


def _record_full(s: _Sim, t: int, sl: slice, rec: dict, nexts: list) -> None:
    """What a zoo rule reported at step t: its exact next point, its evaluations, its averaged iterate."""
    S, R, P = s.p.steps, len(s.p.runs), len(s.p.problem.param_names)
    if "next" in rec:
        nexts.append((sl, rec["next"]))
    if "evals" in rec:
        if s.H_evals is None:
            s.H_evals = torch.ones((S, R), dtype=torch.long)
        s.H_evals[t, sl] = rec["evals"].cpu()
    if "iterate" in rec and s.keep:
        if s.H_iter is None:
            s.H_iter = torch.full((S + 1, R, P), math.nan, dtype=s.p.dtype, device=s.p.device)
            s.H_iter[0] = s.x0
        s.H_iter[t + 1, sl] = rec["iterate"]
        s.has_iter[sl] = True


def _advance(s: _Sim, t: int, x, x_new, L, g, u, thr: float, on_cpu: bool) -> torch.Tensor:
    """Divergence at step t, the records of step t, and the points each run moves to (returned)."""
    diverged = s.diverged
    # divergence: the loss at step t, or the parameters of step t+1, non-finite or past the threshold
    running = (diverged < 0) if s.all_active else (diverged < 0) & (s.run_steps_t > t)
    Ld = L.detach()
    bad_loss = running & ~(Ld.abs() <= thr)                               # NaN compares False
    bad_x = running & ~bad_loss & ~(x_new.abs().amax(1) <= thr)          # amax keeps NaN
    diverged = torch.where(bad_loss, t, diverged)
    s.diverged = torch.where(bad_x, t + 1, diverged)
    moving = running & ~bad_loss
    if s.detail:
        s.H_grads[t] = g
        s.H_upd[t] = u
    if s.idx is None:                       # full batch: the loop's loss is the full-data one
        s.H_loss[t] = Ld
    go = moving & ~bad_x
    if s.div_pt is not None:                # the points _loop_loss evaluates again (params kept)
        s.div_pt = torch.where(bad_loss[:, None], x, torch.where(bad_x[:, None], x_new, s.div_pt))
    if on_cpu and bool(go.all()):           # the usual step, every run moves: no selects
        row = x = x_new
    else:
        row = torch.where(moving[:, None], x_new, x)
        x = torch.where(go[:, None], x_new, x)
    if s.keep:
        s.H_params[t + 1] = row
    else:
        s.last = row
        if s.idx is not None:               # minibatches: the full-data loss of the recorded point
            s.H_loss[t + 1] = _full_loss_t(s.p.problem, row[None])[0]
    return x


def _records(s: _Sim) -> dict:
    """What the loop recorded, by name (tensors): the parameters of every step (or of the first and the last),
    the loop's losses, the gradients, updates, buffers, iterates and evaluations, the step each run diverged
    at as the loop saw it, and (full batch, the ends alone) the points where the runs diverged."""
    rec = {"diverged": s.diverged, "has_iter": torch.from_numpy(s.has_iter)}
    if s.keep:
        rec["params"] = s.H_params
    else:
        rec["params_ends"] = torch.stack([s.x0, s.last])
    named = {"loss": s.H_loss, "div_pt": s.div_pt, "grads": s.H_grads, "updates": s.H_upd, "iterate": s.H_iter,
             "evals": s.H_evals, **s.H_buf}
    rec.update({k: v for k, v in named.items() if v is not None})
    return rec


def _gather(out: dict, rec: dict, rows: slice, R: int) -> None:
    """A chunk's records (`_records`) written into tensors of all `R` runs on the CPU, each made at the first
    chunk that has it (iterates and evaluations: where a chunk's rules give none, `_finish` reads the
    parameters, and evaluations are 1)."""
    if rows == slice(0, R):                 # one chunk: its tensors are all the runs'
        out.update(rec)
        return
    for k, t in rec.items():
        at = (rows,) if k in ("diverged", "has_iter", "div_pt") else (slice(None), rows)
        if k not in out:
            shape = t.shape[:len(at) - 1] + (R,) + t.shape[len(at):]
            out[k] = (torch.ones if k == "evals" else torch.empty)(shape, dtype=t.dtype)
        out[k][at] = t


def _finish(p: Plan, rec: dict, batch_keep: np.ndarray | None) -> History:
    """The History of all the plan's runs from their records (`_gather`): the full-data loss, NaN past each
    run's divergence, the averaged iterates, the learning rates, the labels, the swept values, the epochs."""
    prob, S, R, P = p.problem, p.steps, len(p.runs), len(p.problem.param_names)
    params, ends, loss = _params_loss(p, rec)
    if "grads" in rec:
        grads, updates = rec["grads"].cpu().numpy(), rec["updates"].cpu().numpy()
    else:                                   # not drawn: NaN of the usual shape, no memory (zero strides)
        grads = updates = np.broadcast_to(np.array(np.nan, dtype=params.dtype), (S, R, P))
    buffers = {b: rec[b].cpu().numpy() for b in buffers_wanted(p.scene.render)}
    div = _first_divergence(loss, rec["diverged"].cpu().numpy(), p.scene.train.divergence_threshold)
    for k in np.unique(div[div >= 0]):      # runs by the step they diverged at (at most S groups)
        r = np.nonzero(div == k)[0]           # params[k] / loss[k] is the last point recorded, past the bound
        if ends is None:
            params[k + 1:, r] = np.nan
        elif k + 1 <= S:
            ends[1, r] = np.nan
        loss[k + 1:, r] = np.nan
        if "grads" in rec:
            grads[k:, r] = np.nan
            updates[k:, r] = np.nan
        for b in buffers.values():
            b[k:, r] = np.nan
    if "iterate" in rec:                    # runs whose rule gives none: their parameters
        iterate, has = rec["iterate"].cpu().numpy(), rec["has_iter"].numpy()
        iterate[:, ~has] = params[:, ~has]
        iterate[np.isnan(params)] = np.nan
        buffers["iterate"] = iterate
    if "evals" in rec:
        buffers["evals"] = rec["evals"].numpy()
    lr_np = p.lr if p.lr.strides[0] == 0 else p.lr.copy()     # (zero-stride: read-only, no memory)
    epoch = None
    if prob.n is not None and len(set(p.steps_per_epoch.values())) == 1:   # one epoch length for all runs
        per = next(iter(p.steps_per_epoch.values()))
        epoch = np.arange(S + 1) / per
    return History(
        params=params, loss=loss, grads=grads, updates=updates, lr=lr_np,
        diverged_at=div.astype(np.int64), labels=twin_labels(p, params if ends is None else ends),
        params_ends=ends, param_names=tuple(prob.param_names), hparams=hparam_table(p.runs),
        optimizer=entries(p.runs), epoch=epoch, batch_idx=batch_keep, problem=prob.info(), **buffers)


def _params_loss(p: Plan, rec: dict) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(params, ends, loss): every step's parameters, or (not drawn) NaN of that shape and the first and
    last points; the full-data loss of every step, where the loop did not compute it."""
    prob, S, R, P = p.problem, p.steps, len(p.runs), len(p.problem.param_names)
    if "params" in rec:
        H = rec["params"]
        loss = _full_loss_t(prob, H) if "loss" not in rec else _loop_loss(prob, rec["loss"], H, rec["diverged"])
        return H.cpu().numpy(), None, _loss_dtype(loss.cpu().numpy())
    # not drawn: NaN of the usual shape (zero strides), the ends kept
    params = np.broadcast_to(np.array(np.nan, dtype=_NP[p.dtype]), (S + 1, R, P))
    ends, H_loss = rec["params_ends"], rec["loss"]
    if "div_pt" in rec:                     # full batch: the loss at the last points, and where runs diverged
        with torch.no_grad():
            H_loss[S] = _loss_at(prob, ends[1], H_loss)
            diverged = rec["diverged"]
            bad = torch.nonzero(diverged >= 0).flatten()
            if len(bad):
                H_loss[diverged[bad], bad] = _loss_at(prob, rec["div_pt"][bad], H_loss)
    return params, ends.cpu().numpy(), _loss_dtype(H_loss.cpu().numpy())


def _loss_at(prob: Problem, points: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The full-data loss at `points` [n, P], on `like`'s device (records gathered from chunks: the CPU)."""
    return prob.loss(points.to(prob.device)).to(like.device)


def twin_labels(p: Plan, params: np.ndarray) -> tuple[str, ...]:
    """The runs' labels; a torch.optim twin's names the largest difference from its run over the
    History: `Adam (torch.optim, max diff 2e-16)`."""
    if not p.twins:
        return run_labels(p.runs)
    labels = [r.label for r in p.runs]
    for tw, r in p.twins.items():
        d = np.abs(params[:, tw] - params[:, r])
        big = float(np.nanmax(d)) if np.isfinite(d).any() else float("nan")
        labels[tw] = f"{p.runs[r].label} (torch.optim, max diff {big:.0e})"
    return tuple(labels)


def _first_divergence(loss: np.ndarray, diverged: np.ndarray, thr: float) -> np.ndarray:
    """[R] first step whose full-data loss is non-finite or past `thr`, or the step the loop found
    (minibatch loss or parameters), whichever comes first; -1 for runs that never diverge."""
    first = np.full(loss.shape[1], -1, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        for t in range(loss.shape[0]):      # a step at a time: no [steps, runs] temporaries (a million runs)
            bad = ~(np.abs(loss[t]) <= thr) if np.isfinite(thr) else ~np.isfinite(loss[t]) | (np.abs(loss[t]) > thr)
            first[(first < 0) & bad] = t
    both = np.where((first >= 0) & (diverged >= 0), np.minimum(first, diverged), np.maximum(first, diverged))
    return both.astype(np.int64)


def _loop_loss(prob: Problem, H_loss: torch.Tensor, params: torch.Tensor, diverged: torch.Tensor) -> torch.Tensor:
    """Full batch: the loop has evaluated the loss at every recorded point but the last, and but the
    point where a run's parameters passed the bound (the loop stayed at the previous one)."""
    S = params.shape[0] - 1
    with torch.no_grad():
        H_loss[S] = _loss_at(prob, params[S], H_loss)
        runs = torch.nonzero(diverged >= 0).flatten()
        if len(runs):
            steps = diverged[runs]
            H_loss[steps, runs] = _loss_at(prob, params[steps, runs], H_loss)
    return H_loss


def _full_loss_t(prob: Problem, params: torch.Tensor, budget: int = 1 << 24) -> torch.Tensor:
    """Full-data loss of every recorded point, a [S1, R] tensor of the parameters' dtype and device,
    evaluated in chunks without gradients (about `budget` values of parameters x data per chunk, so a
    many-parameter problem stays small in memory)."""
    S1, R, P = params.shape
    flat = params.reshape(-1, P)
    out = torch.empty(flat.shape[0], dtype=params.dtype, device=params.device)
    # a problem whose full-data loss is a quadratic form (the linear model): parameters^2 per point
    # instead of samples x parameters (a million-run sweep: most of the simulation's time otherwise)
    quadratic = getattr(prob, "_gram", None) is not None and hasattr(prob, "_full_loss_from_gram")
    rows = _aligned(max(1, budget // ((P if quadratic else max(1, prob.n or 1)) * P)))
    with torch.no_grad():
        for i in range(0, flat.shape[0], rows):
            chunk = flat[i:i + rows].to(prob.device)
            out[i:i + rows] = prob._full_loss_from_gram(chunk) if quadratic else prob.loss(chunk)
    return out.reshape(S1, R)


def _aligned(rows: int) -> int:
    """Rows of parameters evaluated at once: `rows` down to a multiple of CHUNK_ALIGN, or under it to a divisor
    of it, so that the blocks of a chunk's runs start where those of all the runs do."""
    if rows >= CHUNK_ALIGN:
        return rows // CHUNK_ALIGN * CHUNK_ALIGN
    return max(d for d in range(1, rows + 1) if CHUNK_ALIGN % d == 0)


def _loss_dtype(loss: np.ndarray) -> np.ndarray:
    """The History's loss: float64, but in the simulation's dtype past AUTO_VALUES values (a big
    sweep: what its views draw, at half the memory in float32)."""
    return loss if loss.size > record.AUTO_VALUES else loss.astype(np.float64)
