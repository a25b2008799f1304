"""Learning-rate schedules against torch.optim.lr_scheduler, stepped once per update.

- the rate of every update, for every schedule, alone and after a warmup (torch's
  SequentialLR([LinearLR(start_factor, total_iters=n), schedule], milestones=[n]));
- whole trajectories: SGD with momentum on the bowl, Rosenbrock and line of test_optim_parity driven by
  `lr_table`, and scenes on the `line`, `quadratic` and `rosenbrock` problems, against torch.optim with
  the scheduler;
- the scene side: warmup in either place, sweeping a schedule's numbers, errors.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as L

import animopt
from animopt.optim import SCHEDULES, lr_table
from animopt.scene import parse_scene
from animopt.spec import SceneError
from test_optim_parity import PROBLEMS, TOL, _ours, _settings, rel_err

STEPS = 240
F64 = torch.float64

# name -> (options for animopt, torch scheduler for an optimizer whose lr is `lr`)
CASES = {
    "constant": ({}, lambda o, lr: L.LambdaLR(o, lambda t: 1.0)),
    "step": ({"step_size": 40, "gamma": 0.5}, lambda o, lr: L.StepLR(o, 40, 0.5)),
    "multistep": ({"milestones": (30, 90, 90, 170), "gamma": 0.4},
                  lambda o, lr: L.MultiStepLR(o, [30, 90, 90, 170], 0.4)),
    "exponential": ({"gamma": 0.99}, lambda o, lr: L.ExponentialLR(o, 0.99)),
    "cosine": ({"T_max": 150, "eta_min": 0.0}, lambda o, lr: L.CosineAnnealingLR(o, 150, 0.0)),
    "cosine_restarts": ({"T_0": 25, "T_mult": 2, "eta_min": 1e-4},
                        lambda o, lr: L.CosineAnnealingWarmRestarts(o, 25, 2, 1e-4)),
    "onecycle": ({"max_lr": None, "total_steps": 250, "pct_start": 0.3, "anneal_strategy": "cos",
                  "div_factor": 25.0, "final_div_factor": 1e4, "three_phase": False},
                 lambda o, lr: L.OneCycleLR(o, max_lr=lr, total_steps=250, cycle_momentum=False)),
    "linear": ({"start_factor": 0.25, "end_factor": 0.9, "total_iters": 120},
               lambda o, lr: L.LinearLR(o, 0.25, 0.9, 120)),
    "polynomial": ({"total_iters": 200, "power": 2.0}, lambda o, lr: L.PolynomialLR(o, 200, 2.0)),
    "inverse_time": ({"decay": 0.03}, lambda o, lr: L.LambdaLR(o, lambda t: 1.0 / (1.0 + 0.03 * t))),
}
MORE = [   # the other options of the schedules above
    ("cosine_restarts", {"T_0": 30, "T_mult": 1, "eta_min": 0.0},
     lambda o, lr: L.CosineAnnealingWarmRestarts(o, 30, 1, 0.0)),
    ("onecycle", {"max_lr": 0.3, "total_steps": 260, "pct_start": 0.25, "anneal_strategy": "linear",
                  "div_factor": 10.0, "final_div_factor": 100.0, "three_phase": True},
     lambda o, lr: L.OneCycleLR(o, 0.3, total_steps=260, pct_start=0.25, anneal_strategy="linear",
                                div_factor=10, final_div_factor=100, three_phase=True, cycle_momentum=False)),
    ("cosine", {"T_max": 100, "eta_min": 0.01}, lambda o, lr: L.CosineAnnealingLR(o, 100, 0.01)),  # past T_max
    ("polynomial", {"total_iters": 120, "power": 0.5}, lambda o, lr: L.PolynomialLR(o, 120, 0.5)),
]
ALL = [(n, o, m) for n, (o, m) in CASES.items()] + MORE
WARMUPS = [None, (20, 0.1)]


def _with_warmup(make, warmup):
    if warmup is None:
        return make
    n, f = warmup

    def seq(opt, lr):
        return L.SequentialLR(opt, [L.LinearLR(opt, start_factor=f, total_iters=n), make(opt, lr)], milestones=[n])
    return seq


def torch_rates(make, lr, steps=STEPS):
    p = torch.zeros(2, dtype=F64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = make(opt, lr)
        out = []
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return np.array(out)


def _ids(cases):
    return [f"{n}-{i}" for i, (n, _, _) in enumerate(cases)]


def test_every_schedule_is_tested():
    assert set(CASES) == set(SCHEDULES)
    for name, sdef in SCHEDULES.items():
        used = {k for n, o, _ in ALL if n == name for k in o}
        assert set(sdef.fields) <= used, name


@pytest.mark.parametrize("warmup", WARMUPS, ids=str)
@pytest.mark.parametrize("name,options,make", ALL, ids=_ids(ALL))
def test_rates_match_torch(name, options, make, warmup):
    lr = 0.1
    ours = lr_table(name, options, None if warmup is None else {"steps": warmup[0], "start_factor": warmup[1]},
                    lr, STEPS)
    ref = torch_rates(_with_warmup(make, warmup), lr)
    assert ours.shape == (STEPS,)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)
    # and batched over several base rates at once (one column per run)
    lrs = np.array([0.1, 0.02, 0.5])
    table = lr_table(name, options, None if warmup is None else {"steps": warmup[0], "start_factor": warmup[1]},
                     lrs, STEPS)
    assert table.shape == (STEPS, 3)
    for k, base in enumerate(lrs):
        single = lr_table(name, options, None if warmup is None else {"steps": warmup[0],
                                                                      "start_factor": warmup[1]}, base, STEPS)
        np.testing.assert_array_equal(table[:, k], single)


def test_onecycle_max_lr_defaults_to_the_optimizer_lr():
    opts = dict(CASES["onecycle"][0])
    a = lr_table("onecycle", opts, None, 0.2, 100)
    b = lr_table("onecycle", {**opts, "max_lr": 0.2}, None, 0.05, 100)
    np.testing.assert_array_equal(a, b)
    assert a.max() == pytest.approx(0.2, rel=1e-3) and a[0] == pytest.approx(0.2 / 25)


def test_defaults_and_lengths():
    """T_max / total_steps default to the run's updates (after the warmup); torch's own defaults elsewhere."""
    t = lr_table("cosine", {"T_max": None, "eta_min": 0.0}, None, 1.0, 100)
    assert t[0] == 1.0 and t[50] == pytest.approx(0.5) and t[99] == pytest.approx(0.5 * (1 + np.cos(np.pi * 0.99)))
    w = lr_table("cosine", {"T_max": None, "eta_min": 0.0}, {"steps": 20, "start_factor": 0.1}, 1.0, 120)
    np.testing.assert_allclose(w[20:], t, rtol=1e-15)
    assert SCHEDULES["step"].fields["gamma"].default == 0.1
    assert SCHEDULES["linear"].fields["start_factor"].default == pytest.approx(1 / 3)
    assert SCHEDULES["linear"].fields["total_iters"].default == 5


# --- trajectories ----------------------------------------------------------------------------------

@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_trajectories_with_schedules_match_torch(problem):
    """SGD with momentum 0.8 driven by each schedule (with and without warmup), batched: one run per
    schedule, against torch.optim.SGD with the torch scheduler, on the three test problems."""
    grad, x0, lr, _ = PROBLEMS[problem]
    hp = _settings("sgd", {}, {"momentum": 0.8}, lr)
    cases = [(n, o, m, w) for n, (o, m) in CASES.items() for w in (None, (15, 0.2))]
    tables = np.stack([lr_table(n, o, None if w is None else {"steps": w[0], "start_factor": w[1]}, lr, STEPS)
                       for n, o, m, w in cases], 1)                                    # [S, R]
    ours = _ours("sgd", [hp] * len(cases), grad, x0, STEPS, lrs=tables)
    # one torch.optim.SGD per run (each with its scheduler), fed the same closed-form gradients
    ps = [torch.tensor(x0, dtype=F64, requires_grad=True) for _ in cases]
    opts = [torch.optim.SGD([p], lr=lr, momentum=0.8) for p in ps]
    ref = [torch.stack([p.detach().clone() for p in ps])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheds = [_with_warmup(m, w)(o, lr) for o, (n, _, m, w) in zip(opts, cases)]
        for _ in range(STEPS):
            g = grad(ref[-1])
            for r, (p, o, sch) in enumerate(zip(ps, opts, scheds)):
                p.grad = g[r].clone()
                o.step()
                sch.step()
            ref.append(torch.stack([p.detach().clone() for p in ps]))
    ref = torch.stack(ref).numpy()
    for r, (n, o, m, w) in enumerate(cases):
        assert np.abs(ref[-1, r] - ref[0, r]).max() > 1e-3
        assert rel_err(ours[:, r], ref[:, r]) < TOL, (n, w, rel_err(ours[:, r], ref[:, r]))


SCENE_SCHEDULES = [
    ('{ type = "step", step_size = 40, gamma = 0.5 }', lambda o: L.StepLR(o, 40, 0.5)),
    ('{ type = "cosine", eta_min = 0.001, warmup = { steps = 10, start_factor = 0.2 } }',
     lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.2, total_iters=10), L.CosineAnnealingLR(o, STEPS - 10, 0.001)],
                              milestones=[10])),
    ('{ type = "onecycle", pct_start = 0.4 }',
     lambda o: L.OneCycleLR(o, max_lr=o.param_groups[0]["lr"], total_steps=STEPS, pct_start=0.4,
                            cycle_momentum=False)),
    ('{ type = "cosine_restarts", T_0 = 30, T_mult = 2 }', lambda o: L.CosineAnnealingWarmRestarts(o, 30, 2)),
    ('{ type = "multistep", milestones = [50, 120], gamma = 0.3 }', lambda o: L.MultiStepLR(o, [50, 120], 0.3)),
    ('{ type = "inverse_time", decay = 0.02 }', lambda o: L.LambdaLR(o, lambda t: 1 / (1 + 0.02 * t))),
]

SCENE_PROBLEMS = {
    # problem table, init, lr, torch loss of p
    "line": ('type = "line"\nx = [-3.0, -1.0, 0.5, 2.0, 4.0, 5.5, 7.0]\ny = [-7.2, -2.9, 1.1, 4.2, 8.8, 12.1, 14.0]',
             [0.3, -0.2], 0.01,
             lambda p: ((p[0] * torch.tensor([-3.0, -1.0, 0.5, 2.0, 4.0, 5.5, 7.0], dtype=F64) + p[1]
                         - torch.tensor([-7.2, -2.9, 1.1, 4.2, 8.8, 12.1, 14.0], dtype=F64)) ** 2).mean()),
    "quadratic": ('type = "quadratic"\ngammas = [5.0, 1.0]\ncenter = [1.0, -1.0]', [-1.5, 2.0], 0.05,
                  lambda p: 0.5 * (torch.tensor([5.0, 1.0], dtype=F64)
                                   * (p - torch.tensor([1.0, -1.0], dtype=F64)) ** 2).sum(-1)),
    "rosenbrock": ('type = "rosenbrock"', [-1.2, 1.0], 3e-4,
                   lambda p: (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] ** 2) ** 2),
}


def _problem_available(name):
    from animopt.problems import PROBLEMS as REG
    return name in REG


@pytest.mark.parametrize("problem", list(SCENE_PROBLEMS))
def test_scene_schedules_match_torch(problem):
    if not _problem_available(problem):
        pytest.skip(f"no '{problem}' problem")
    table, init, lr, loss = SCENE_PROBLEMS[problem]
    entries = "\n".join(f'[[optimizer]]\ntype = "sgd"\nlr = {lr}\nmomentum = 0.9\nschedule = {s}'
                        for s, _ in SCENE_SCHEDULES)
    text = f"[problem]\n{table}\n[train]\nsteps = {STEPS}\ninit = {init}\n{entries}\n[render]\nviews = [\"loss\"]\n"
    h = animopt.simulate(parse_scene(text))
    # one torch.optim.SGD and scheduler per run; one backward through the sum of their (independent) losses
    ps = [torch.tensor(init, dtype=F64, requires_grad=True) for _ in SCENE_SCHEDULES]
    opts = [torch.optim.SGD([p], lr=lr, momentum=0.9) for p in ps]
    ref, rates = [torch.stack([p.detach().clone() for p in ps])], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheds = [make(o) for o, (_, make) in zip(opts, SCENE_SCHEDULES)]
        for _ in range(STEPS):
            rates.append([o.param_groups[0]["lr"] for o in opts])
            for o in opts:
                o.zero_grad()
            sum(loss(p) for p in ps).backward()
            for o, sch in zip(opts, scheds):
                o.step()
                sch.step()
            ref.append(torch.stack([p.detach().clone() for p in ps]))
    ref = torch.stack(ref).numpy()
    np.testing.assert_allclose(h.lr, rates, rtol=1e-12, atol=0)
    for r, (s, _) in enumerate(SCENE_SCHEDULES):
        assert rel_err(h.params[:, r], ref[:, r]) < TOL, s


# --- scene side ------------------------------------------------------------------------------------

BASE = """
[problem]
type = "line"
x = [1.0, 2.0, 3.0, 4.0]
y = [2.0, 3.9, 6.1, 8.0]
[train]
steps = 60
[[optimizer]]
type = "sgd"
lr = 0.01
{extra}
"""


def _sim(extra):
    return animopt.simulate(parse_scene(BASE.format(extra=extra)))


def test_warmup_in_the_schedule_or_on_the_optimizer():
    a = _sim('schedule = { type = "exponential", gamma = 0.97, warmup = { steps = 8, start_factor = 0.25 } }')
    b = _sim('schedule = { type = "exponential", gamma = 0.97 }\nwarmup = { steps = 8, start_factor = 0.25 }')
    np.testing.assert_array_equal(a.lr, b.lr)
    np.testing.assert_allclose(a.lr[:8, 0], 0.01 * (0.25 + 0.75 * np.arange(8) / 8), rtol=1e-14)
    np.testing.assert_allclose(a.lr[8:, 0], 0.01 * 0.97 ** np.arange(52), rtol=1e-13)
    c = _sim('warmup = { steps = 10 }')          # start_factor defaults to 0.1; the schedule to constant
    np.testing.assert_allclose(c.lr[:, 0], 0.01 * np.minimum(0.1 + 0.9 * np.arange(60) / 10, 1.0), rtol=1e-14)


def test_schedule_given_by_name():
    a = _sim('schedule = "cosine"')
    np.testing.assert_allclose(a.lr[:, 0], 0.01 * (1 + np.cos(np.pi * np.arange(60) / 60)) / 2, rtol=1e-13)


def test_schedule_numbers_sweep():
    h = _sim('schedule = { type = "step", step_size = [10, 20], gamma = { from = 0.2, to = 0.8, num = 3 } }')
    assert h.runs == 6
    assert h.labels[0] == "SGD schedule.step_size=10 schedule.gamma=0.2"
    np.testing.assert_array_equal(h.hparams["schedule.step_size"], [10, 10, 10, 20, 20, 20])
    np.testing.assert_allclose(h.hparams["schedule.gamma"], [0.2, 0.5, 0.8] * 2)
    for r in range(6):
        step, gamma = h.hparams["schedule.step_size"][r], h.hparams["schedule.gamma"][r]
        np.testing.assert_allclose(h.lr[:, r], 0.01 * gamma ** (np.arange(60) // step), rtol=1e-14)
    m = _sim('schedule = { type = "multistep", milestones = [[10, 20], [30]] }')
    np.testing.assert_array_equal(m.hparams["schedule.milestones"][1], [30, np.nan])
    np.testing.assert_allclose(m.lr[25:35, 1], [0.01] * 5 + [0.001] * 5, rtol=1e-14)


@pytest.mark.parametrize("extra,key,words", [
    ('schedule = { type = "cosin" }', "optimizer[0].schedule.type", "did you mean 'cosine'"),
    ('schedule = { type = "step" }', "optimizer[0].schedule.step_size", "missing"),
    ('schedule = { type = "step", step_size = 0 }', "optimizer[0].schedule.step_size", ">= 1"),
    ('schedule = { type = "step", step_size = 5, gama = 0.5 }', "optimizer[0].schedule.gama",
     "did you mean 'gamma'"),
    ('schedule = { type = "onecycle", anneal_strategy = "cosine" }', "optimizer[0].schedule.anneal_strategy", "'cos'"),
    ('schedule = { type = "linear", start_factor = 0 }', "optimizer[0].schedule.start_factor", "> 0"),
    ('schedule = { type = "exponential", gamma = 0.9, warmup = { steps = 0 } }',
     "optimizer[0].schedule.warmup.steps", ">= 1"),
    ('schedule = { type = "exponential", gamma = 0.9, warmup = { steps = 5 } }\nwarmup = { steps = 5 }',
     "optimizer[0].warmup", "twice"),
    ('schedule = { type = "multistep", milestones = [[10, 20], 5] }', "optimizer[0].schedule.milestones", ""),
    ('momentum = 0.5\nmomentum_style = "keras"\nschedule = { type = "polynomial", total_iters = 30 }',
     "optimizer[0].schedule", "reaches 0 at update 30"),
])
def test_schedule_errors_name_the_key(extra, key, words):
    with pytest.raises(SceneError) as e:
        _sim(extra)
    keys = [k for _, k, _ in e.value.problems]
    assert key in keys, str(e.value)
    assert words in str(e.value)
