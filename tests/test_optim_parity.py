"""Every optimizer and every option against torch.optim: full float64 parameter trajectories.

Two levels:
- the batched transforms driven directly (a small loop over closed-form gradients of a quadratic bowl,
  Rosenbrock and a full-batch line fit), several runs per batch, each with its own hyperparameters,
  each compared with its own torch.optim instance fed the same gradients;
- whole scenes (`parse_scene` + `simulate`) against torch.optim with autograd.

Relative error: max |ours - torch| / max |torch| over the whole trajectory, below 1e-9. The
hyperparameters are chosen so that the trajectories are not chaotic: where a trajectory amplifies
rounding (Adam hovering at a minimum, Adadelta crossing the Rosenbrock valley), any two correct
implementations drift apart by the same amount, so such runs prove nothing either way.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import animopt
from animopt.optim import OPTIMIZERS, Ctx
from animopt.scene import parse_scene
from animopt.spec import Errors, check_table

STEPS = 220
TOL = 1e-9
F64 = torch.float64

TORCH = {"sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam,
         "adamw": torch.optim.AdamW, "adagrad": torch.optim.Adagrad, "adadelta": torch.optim.Adadelta,
         "adamax": torch.optim.Adamax, "nadam": torch.optim.NAdam, "radam": torch.optim.RAdam}


# --- problems with closed-form gradients ([R, 2] -> [R, 2]) ---------------------------------------

H = torch.tensor([[3.0, 1.0], [1.0, 0.5]], dtype=F64)
C = torch.tensor([1.0, -2.0], dtype=F64)
LX = torch.linspace(-4.0, 6.0, 12, dtype=F64)
LY = 1.5 * LX - 2.0 + 0.3 * torch.sin(3 * LX)


@pytest.fixture(autouse=True)
def float64_scalar_state():
    """torch.optim keeps its scalar state (step counts, NAdam's mu_product) in float32 unless the
    default dtype is float64; NAdam's float32 mu_product alone moves its trajectory by ~2e-10.
    The references run with float64 defaults so that their state is as precise as ours."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    yield
    torch.set_default_dtype(old)


def bowl(x):
    return (x - C) @ H


def rosenbrock(x):
    a, b = x[:, :1], x[:, 1:2]
    return torch.cat([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)], 1)


def line(x):
    r = x[:, :1] * LX + x[:, 1:2] - LY            # [R, N]
    return torch.stack([2 * (r * LX).mean(1), 2 * r.mean(1)], 1)


# name: (gradient, start, lr for plain gradient steps, lr for normalised steps)
PROBLEMS = {
    "bowl": (bowl, (-2.0, 2.0), 0.1, 0.01),
    "rosenbrock": (rosenbrock, (-1.2, 1.0), 3e-4, 2e-3),
    "line": (line, (1.0, 1.0), 0.01, 0.01),
}

# optimizer -> groups of (flags, list of numeric settings); each group is one batch of runs.
# "lr" is a multiple of the problem's lr (column "g" for gradient-scaled rules, "n" for normalised ones).
CASES = {
    "sgd": ("g", [
        ({}, [{}, {"momentum": 0.9}, {"momentum": 0.5, "dampening": 0.3}, {"dampening": 0.5},
              {"weight_decay": 0.2}, {"momentum": 0.8, "weight_decay": 0.1, "lr": 0.5}]),
        ({"nesterov": True}, [{"momentum": 0.9}, {"momentum": 0.3, "weight_decay": 0.1}]),
        ({"maximize": True}, [{}, {"momentum": 0.7, "dampening": 0.1}]),
    ]),
    "rmsprop": ("n", [
        ({}, [{}, {"alpha": 0.8, "lr": 0.5}, {"momentum": 0.5}, {"weight_decay": 0.1, "eps": 1e-3}]),
        ({"centered": True}, [{}, {"momentum": 0.6, "alpha": 0.95}]),
        ({"maximize": True}, [{"momentum": 0.3}]),
    ]),
    "adam": ("n", [
        ({}, [{}, {"betas": (0.8, 0.99)}, {"weight_decay": 0.1}, {"eps": 1e-3}]),
        ({"amsgrad": True}, [{}, {"betas": (0.7, 0.95), "weight_decay": 0.05}]),
        ({"decoupled_weight_decay": True}, [{"weight_decay": 0.1}, {"weight_decay": 0.3, "betas": (0.9, 0.99)}]),
        ({"maximize": True}, [{}]),
    ]),
    "adamw": ("n", [
        ({}, [{}, {"weight_decay": 0.2}, {"betas": (0.8, 0.99), "eps": 1e-6}]),
        ({"amsgrad": True, "maximize": True}, [{}, {"weight_decay": 0.0}]),
    ]),
    "adagrad": ("n", [
        ({}, [{"lr": 5}, {"lr": 5, "lr_decay": 0.01}, {"lr": 5, "initial_accumulator_value": 0.5},
              {"lr": 5, "weight_decay": 0.1, "eps": 1e-4}]),
        ({"maximize": True}, [{"lr": 5}]),
    ]),
    "adadelta": ("n", [
        ({}, [{"lr": 50}, {"lr": 20, "rho": 0.5}, {"lr": 20, "eps": 1e-4, "weight_decay": 0.1}]),
        ({"maximize": True}, [{"lr": 50}]),
    ]),
    "adamax": ("n", [
        ({}, [{}, {"betas": (0.8, 0.99)}, {"weight_decay": 0.1, "eps": 1e-4}]),
        ({"maximize": True}, [{}]),
    ]),
    "nadam": ("n", [
        ({}, [{}, {"betas": (0.8, 0.99)}, {"momentum_decay": 0.01}, {"weight_decay": 0.1, "eps": 1e-4}]),
        ({"decoupled_weight_decay": True}, [{"weight_decay": 0.2}]),
        ({"maximize": True}, [{}]),
    ]),
    "radam": ("n", [
        ({}, [{}, {"betas": (0.8, 0.99)}, {"betas": (0.9, 0.9)}, {"weight_decay": 0.1, "eps": 1e-4}]),
        ({"decoupled_weight_decay": True}, [{"weight_decay": 0.2}]),
        ({"maximize": True}, [{}]),
    ]),
}


def _settings(name, flags, numeric, base_lr):
    """Full, validated hyperparameters (defaults filled) as plain values."""
    raw = {**flags, **{k: list(v) if isinstance(v, tuple) else v for k, v in numeric.items()}}
    raw["lr"] = base_lr * numeric.get("lr", 1.0)
    errors = Errors(None)
    hp = check_table(raw, OPTIMIZERS[name].fields, "optimizer", errors)
    assert not errors, errors.problems
    return hp


def _batch(hps):
    """Plain settings of R runs -> the builder's input: numbers as [R, 1], pairs as two [R, 1]."""
    out = {}
    for k, v0 in hps[0].items():
        if isinstance(v0, (bool, str)):
            out[k] = v0
        elif isinstance(v0, tuple):
            arr = torch.tensor([h[k] for h in hps], dtype=F64)
            out[k] = tuple(arr[:, i:i + 1] for i in range(arr.shape[1]))
        else:
            out[k] = torch.tensor([[h[k]] for h in hps], dtype=F64)
    return out


def _ours(name, hps, grad, x0, steps, lrs=None):
    hp = _batch(hps)
    tr = OPTIMIZERS[name].build(hp)
    x = torch.tensor([x0] * len(hps), dtype=F64)
    state = tr.init(x)
    traj = [x]
    for t in range(steps):
        lr = hp["lr"] if lrs is None else torch.as_tensor(lrs[t], dtype=F64)[:, None]
        u, state = tr.update(grad(x), state, Ctx(x, lr, t + 1))
        x = x - lr * u
        traj.append(x)
    return torch.stack(traj).numpy()          # [S+1, R, 2]


def _torch_kwargs(name, hp):
    kw = dict(hp)
    kw.pop("compare", None)             # animopt's own key (run the torch.optim twin too)
    if name == "sgd":
        kw.pop("momentum_style")
    return kw


def _reference(name, hps, grad, x0, steps, sched=None):
    """torch.optim fed the same gradients, one param group (one run) per setting: param groups are
    updated independently, each with its own hyperparameters. Adagrad reads initial_accumulator_value
    from its constructor only, so runs that differ in it get their own optimizer. [S+1, R, 2]"""
    ps = [torch.tensor(x0, dtype=F64, requires_grad=True) for _ in hps]
    by_ctor = {}
    for p, hp in zip(ps, hps):
        by_ctor.setdefault(hp.get("initial_accumulator_value"), []).append(
            {"params": [p], **_torch_kwargs(name, hp)})
    opts = [TORCH[name](groups, **({} if k is None else {"initial_accumulator_value": k}))
            for k, groups in by_ctor.items()]
    schs = [sched(o) for o in opts] if sched else []
    traj = [torch.stack([p.detach().clone() for p in ps])]
    for _ in range(steps):
        g = grad(traj[-1])
        for r, p in enumerate(ps):
            p.grad = g[r].clone()
        for o in opts:
            o.step()
        for sch in schs:
            sch.step()
        traj.append(torch.stack([p.detach().clone() for p in ps]))
    return torch.stack(traj).numpy()


def rel_err(ours, ref):
    return float(np.max(np.abs(ours - ref)) / np.max(np.abs(ref)))


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("name", list(CASES))
def test_transforms_match_torch(name, problem):
    grad, x0, lr_g, lr_n = PROBLEMS[problem]
    col, groups = CASES[name]
    base = lr_g if col == "g" else lr_n
    for flags, numerics in groups:
        hps = [_settings(name, flags, n, base) for n in numerics]
        g = (lambda x: -grad(x)) if flags.get("maximize") else grad      # maximize -f
        ours = _ours(name, hps, g, x0, STEPS)
        refs = _reference(name, hps, g, x0, STEPS)
        for r, hp in enumerate(hps):
            ref = refs[:, r]
            assert np.all(np.isfinite(ref)) and np.abs(ref[-1] - ref[0]).max() > 1e-3, (hp, "does not move")
            err = rel_err(ours[:, r], ref)
            assert err < TOL, f"{name} {flags} {numerics[r]} on {problem}: relative error {err:.2e}"


def test_every_optimizer_and_option_is_covered():
    """The cases above name every optimizer, every flag and every numeric key at a non-default value."""
    assert set(CASES) == {n for n, o in OPTIMIZERS.items() if not o.records}   # the rest: tests/test_optim_zoo.py
    for name, (_, groups) in CASES.items():
        fields = OPTIMIZERS[name].fields
        touched = {k for flags, nums in groups for k in flags} | {k for _, nums in groups for n in nums for k in n}
        missing = set(fields) - touched - {"lr", "momentum_style", "compare"}   # compare: test_optim_zoo.py
        assert not missing, f"{name}: no case sets {sorted(missing)}"


def test_defaults_are_torchs():
    """Every key's default is the torch.optim constructor's (lr included)."""
    import inspect

    for name, cls in TORCH.items():
        sig = inspect.signature(cls.__init__).parameters
        for key, f in OPTIMIZERS[name].fields.items():
            if key in ("momentum_style", "compare"):
                continue
            want = sig[key].default
            assert f.default == (tuple(want) if isinstance(want, tuple) else want), (name, key)


# --- the textbook and Keras forms ----------------------------------------------------------------

def _sgd(style, momentum, lr, nesterov=False, R=1):
    hp = _settings("sgd", {"momentum_style": style, "nesterov": nesterov}, {"momentum": momentum}, lr)
    return OPTIMIZERS["sgd"].build(_batch([hp] * R)), hp


def test_ema_of_a_constant_gradient_is_closed_form():
    betas = torch.tensor([[0.0], [0.5], [0.9], [0.99]], dtype=F64)
    tr = OPTIMIZERS["sgd"].build({**_batch([_settings("sgd", {"momentum_style": "ema"}, {}, 0.1)] * 4),
                                  "momentum": betas})
    g = torch.tensor([[2.0, -3.0]] * 4, dtype=F64)
    x = torch.zeros(4, 2, dtype=F64)
    state = tr.init(x)
    for t in range(1, 60):
        u, state = tr.update(g, state, Ctx(x, torch.full((4, 1), 0.1, dtype=F64), t))
        np.testing.assert_allclose(u.numpy(), ((1 - betas ** t) * g).numpy(), rtol=1e-13, atol=0)


def test_ema_is_the_seeds_loop_on_a_line():
    """The textbook update of the seeds, written out: avg = beta*avg + (1-beta)*g, p -= lr*avg."""
    beta, lr = 0.8, 0.02
    tr, hp = _sgd("ema", beta, lr)
    ours = _ours("sgd", [hp], line, (1.0, 1.0), STEPS)[:, 0]
    p, avg, ref = np.array([1.0, 1.0]), np.zeros(2), [np.array([1.0, 1.0])]
    for _ in range(STEPS):
        g = line(torch.tensor(p[None]))[0].numpy()
        avg = beta * avg + (1 - beta) * g
        p = p - lr * avg
        ref.append(p)
    assert rel_err(ours, np.array(ref)) < TOL


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_keras_equals_torch_at_constant_lr(problem, nesterov):
    grad, x0, lr, _ = PROBLEMS[problem]
    hps = [_settings("sgd", {"momentum_style": s, "nesterov": nesterov}, {"momentum": 0.8}, lr)
           for s in ("keras", "torch")]
    keras = _ours("sgd", hps[:1], grad, x0, STEPS)[:, 0]
    torch_form = _ours("sgd", hps[1:], grad, x0, STEPS)[:, 0]
    assert rel_err(keras, torch_form) < TOL
    assert rel_err(torch_form, _reference("sgd", hps[1:], grad, x0, STEPS)[:, 0]) < TOL


@pytest.mark.parametrize("nesterov", [False, True])
def test_keras_form_with_a_decaying_lr(nesterov):
    """v = m*v - lr_t*g; p += v (nesterov: p += m*v - lr_t*g), lr_t = lr/(1 + decay*t), as in the seed."""
    m, lr, decay = 0.7, 0.02, 0.05
    lrs = lr / (1 + decay * np.arange(STEPS))
    hp = _settings("sgd", {"momentum_style": "keras", "nesterov": nesterov}, {"momentum": m}, lr)
    ours = _ours("sgd", [hp], line, (1.0, 1.0), STEPS, lrs=lrs[:, None])[:, 0]
    p, v, ref = np.array([1.0, 1.0]), np.zeros(2), [np.array([1.0, 1.0])]
    for t in range(STEPS):
        g = line(torch.tensor(p[None]))[0].numpy()
        v = m * v - lrs[t] * g
        p = p + (m * v - lrs[t] * g if nesterov else v)
        ref.append(p)
    assert rel_err(ours, np.array(ref)) < TOL
    # and it is not torch's form once the rate changes
    torch_hp = dict(hp, momentum_style="torch")
    assert rel_err(_ours("sgd", [torch_hp], line, (1.0, 1.0), STEPS, lrs=lrs[:, None])[:, 0], ours) > 1e-6


# --- whole scenes on the line problem ------------------------------------------------------------

XS = [-3.0, -1.0, 0.5, 2.0, 4.0, 5.5, 7.0]
YS = [-7.2, -2.9, 1.1, 4.2, 8.8, 12.1, 14.0]

# (scene lines, torch class kwargs or None for a hand-written reference)
SCENE_RUNS = [
    ('type = "sgd"\nlr = 0.01\nmomentum = 0.9\nnesterov = true\nweight_decay = 0.01', ("sgd", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01})),
    ('type = "sgd"\nlr = 0.01\nmomentum = 0.6\ndampening = 0.2', ("sgd", {"lr": 0.01, "momentum": 0.6, "dampening": 0.2})),
    ('type = "rmsprop"\nlr = 0.01\ncentered = true\nmomentum = 0.5', ("rmsprop", {"lr": 0.01, "centered": True, "momentum": 0.5})),
    ('type = "adam"\nlr = 0.05\nbetas = [0.8, 0.99]\namsgrad = true', ("adam", {"lr": 0.05, "betas": (0.8, 0.99), "amsgrad": True})),
    ('type = "adamw"\nlr = 0.05\nweight_decay = 0.1', ("adamw", {"lr": 0.05, "weight_decay": 0.1})),
    ('type = "adagrad"\nlr = 0.5\nlr_decay = 0.01', ("adagrad", {"lr": 0.5, "lr_decay": 0.01})),
    ('type = "adadelta"\nlr = 2.0\nrho = 0.8', ("adadelta", {"lr": 2.0, "rho": 0.8})),
    ('type = "adamax"\nlr = 0.05', ("adamax", {"lr": 0.05})),
    ('type = "nadam"\nlr = 0.05\nmomentum_decay = 0.01', ("nadam", {"lr": 0.05, "momentum_decay": 0.01})),
    ('type = "radam"\nlr = 0.05\nweight_decay = 0.1\ndecoupled_weight_decay = true', ("radam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True})),
    ('type = "sgd"\nlr = 1e-4\nmaximize = true', ("sgd", {"lr": 1e-4, "maximize": True})),
]


def _line_scene(optimizers: str, steps=STEPS, extra="") -> str:
    return f"""
[problem]
type = "line"
x = {XS}
y = {YS}
[train]
steps = {steps}
init = [0.3, -0.2]
{extra}
{optimizers}
[render]
views = ["loss"]
"""


def _autograd_reference(name, kw, steps, sched=None, sign=1.0):
    x, y = torch.tensor(XS, dtype=F64), torch.tensor(YS, dtype=F64)
    p = torch.tensor([0.3, -0.2], dtype=F64, requires_grad=True)
    opt = TORCH[name]([p], **kw)
    sch = sched(opt) if sched else None
    ref = [p.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        (sign * ((p[0] * x + p[1] - y) ** 2).mean()).backward()
        opt.step()
        if sch:
            sch.step()
        ref.append(p.detach().clone())
    return torch.stack(ref).numpy()


def test_scene_runs_match_torch():
    """One scene naming every optimizer; each run of the History against torch.optim with autograd."""
    text = _line_scene("\n".join(f"[[optimizer]]\n{body}" for body, _ in SCENE_RUNS))
    h = animopt.simulate(parse_scene(text))
    assert h.runs == len(SCENE_RUNS)
    for r, (body, (name, kw)) in enumerate(SCENE_RUNS):
        # maximize: the scene ascends the loss; torch ascends it too (same gradient, maximize=True)
        ref = _autograd_reference(name, kw, STEPS)
        if not kw.get("maximize"):
            assert h.loss[-1, r] < h.loss[0, r]
        assert rel_err(h.params[:, r], ref) < TOL, body
        # the recorded direction is what was applied
        np.testing.assert_allclose(h.params[1:, r], h.params[:-1, r] - h.lr[:, r, None] * h.updates[:, r],
                                   rtol=1e-12, atol=1e-12)


def test_scene_momentum_styles():
    """ema and keras through a scene: their closed-form references on the line."""
    text = _line_scene('[[optimizer]]\ntype = "sgd"\nlr = 0.02\nmomentum = 0.8\nmomentum_style = "ema"\n'
                       '[[optimizer]]\ntype = "sgd"\nlr = 0.01\nmomentum = 0.8\nmomentum_style = "keras"\n'
                       'nesterov = true\nschedule = { type = "inverse_time", decay = 0.02 }')
    h = animopt.simulate(parse_scene(text))
    x, y = np.array(XS), np.array(YS)

    def grad(p):
        r = p[0] * x + p[1] - y
        return np.array([2 * np.mean(r * x), 2 * np.mean(r)])

    p, avg, ema = np.array([0.3, -0.2]), np.zeros(2), [np.array([0.3, -0.2])]
    for _ in range(STEPS):
        avg = 0.8 * avg + 0.2 * grad(p)
        p = p - 0.02 * avg
        ema.append(p)
    p, v, keras = np.array([0.3, -0.2]), np.zeros(2), [np.array([0.3, -0.2])]
    for t in range(STEPS):
        lr_t = 0.01 * (1.0 / (1.0 + 0.02 * t))
        g = grad(p)
        v = 0.8 * v - lr_t * g
        p = p + 0.8 * v - lr_t * g
        keras.append(p)
    assert rel_err(h.params[:, 0], np.array(ema)) < TOL
    assert rel_err(h.params[:, 1], np.array(keras)) < TOL
    # the EMA direction is the smoothed gradient, recorded as such
    np.testing.assert_allclose(h.updates[1, 0], 0.8 * 0.2 * h.grads[0, 0] + 0.2 * h.grads[1, 0], rtol=1e-12)


# --- whole scenes on the quadratic and rosenbrock problems ---------------------------------------

ANALYTIC = {
    # problem table, init, (lr of plain gradient steps, lr of normalised steps), torch loss of p
    "quadratic": ('type = "quadratic"\ngammas = [5.0, 1.0]\ncenter = [1.0, -1.0]', [-1.5, 2.0], (0.05, 0.01),
                  lambda p: 0.5 * (torch.tensor([5.0, 1.0], dtype=F64)
                                   * (p - torch.tensor([1.0, -1.0], dtype=F64)) ** 2).sum(-1)),
    "rosenbrock": ('type = "rosenbrock"', [-1.2, 1.0], (3e-4, 2e-3),
                   lambda p: (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] ** 2) ** 2),
}
# every optimizer with a few options on; lr multiplies the problem's (g: plain, n: normalised)
ANALYTIC_RUNS = [
    ("sgd", "g", {"momentum": 0.9, "nesterov": True}),
    ("sgd", "g", {"momentum": 0.5, "dampening": 0.2, "weight_decay": 0.05}),
    ("rmsprop", "n", {"centered": True, "momentum": 0.3}),
    ("adam", "n", {"amsgrad": True, "betas": (0.8, 0.99)}),
    ("adamw", "n", {"weight_decay": 0.1}),
    ("adagrad", "n", {"lr": 5.0, "lr_decay": 0.01}),
    ("adadelta", "n", {"lr": 20.0, "rho": 0.8}),
    ("adamax", "n", {"weight_decay": 0.01}),
    ("nadam", "n", {"momentum_decay": 0.01}),
    ("radam", "n", {"weight_decay": 0.1, "decoupled_weight_decay": True}),
]


def _toml(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple):
        return "[" + ", ".join(map(repr, v)) + "]"
    return repr(v)


@pytest.mark.parametrize("problem", list(ANALYTIC))
def test_scene_runs_on_analytic_problems_match_torch(problem):
    from animopt.problems import PROBLEMS as REGISTRY

    if problem not in REGISTRY:
        pytest.skip(f"no '{problem}' problem")
    table, init, (lr_g, lr_n), loss = ANALYTIC[problem]
    kws = []
    for name, col, opts in ANALYTIC_RUNS:
        kw = dict(opts)
        kw["lr"] = (lr_g if col == "g" else lr_n) * opts.get("lr", 1.0)
        kws.append((name, kw))
    entries = "\n".join(f'[[optimizer]]\ntype = "{name}"\n' + "\n".join(f"{k} = {_toml(v)}" for k, v in kw.items())
                        for name, kw in kws)
    text = f"[problem]\n{table}\n[train]\nsteps = {STEPS}\ninit = {init}\n{entries}\n[render]\nviews = [\"loss\"]\n"
    h = animopt.simulate(parse_scene(text))
    # torch: one optimizer per run, one backward through the sum of the (independent) losses
    ps = [torch.tensor(init, dtype=F64, requires_grad=True) for _ in kws]
    opts = [TORCH[name]([p], **kw) for p, (name, kw) in zip(ps, kws)]
    ref = [torch.stack([p.detach().clone() for p in ps])]
    for _ in range(STEPS):
        for o in opts:
            o.zero_grad()
        sum(loss(p) for p in ps).backward()
        for o in opts:
            o.step()
        ref.append(torch.stack([p.detach().clone() for p in ps]))
    ref = torch.stack(ref).numpy()
    for r, (name, kw) in enumerate(kws):
        assert np.abs(ref[-1, r] - ref[0, r]).max() > 1e-3, (name, kw)
        assert rel_err(h.params[:, r], ref[:, r]) < TOL, (name, kw, rel_err(h.params[:, r], ref[:, r]))
