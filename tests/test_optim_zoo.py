"""The optimizers beyond the classic nine, each against its reference implementation, as
tests/test_optim_parity.py does for torch.optim: full float64 parameter trajectories (200+ steps),
several runs per batch with their own hyperparameters, each compared with its own reference instance
fed the same gradients. Relative error max |ours - ref| / max |ref| below 1e-9.

References: torch.optim (Rprop, ASGD, Adafactor, LBFGS, Muon); the test extras lion-pytorch (Lion),
pytorch-optimizer (AdaBelief, Lamb, Yogi, AdEMAMix, Prodigy) and schedulefree (SGDScheduleFree,
AdamWScheduleFree); a test of a missing package is skipped and says which.

Every reference runs in float64 (parameters, gradients and, through the default dtype, the scalar
state: Prodigy keeps its d sums in tensors of the default dtype). Muon orthogonalises in bfloat16 in
torch itself; ours does the same bfloat16 operations on the same float64 inputs, so it too agrees to
1e-9 (bit for bit in practice) — a different bfloat16 rounding anywhere would show as ~1e-3.
"""
from __future__ import annotations

import importlib

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


@pytest.fixture(autouse=True)
def float64_default():
    old = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    yield
    torch.set_default_dtype(old)


# --- problems: loss [R] and gradient [R, P] of a batch of points ----------------------------------

H = torch.tensor([[3.0, 1.0], [1.0, 0.5]], dtype=F64)
C = torch.tensor([1.0, -2.0], dtype=F64)
LX = torch.linspace(-4.0, 6.0, 12, dtype=F64)
LY = 1.5 * LX - 2.0 + 0.3 * torch.sin(3 * LX)


def bowl(x):
    d = x - C
    return 0.5 * ((d @ H) * d).sum(1), d @ H


def rosenbrock(x):
    a, b = x[:, :1], x[:, 1:2]
    loss = ((1 - a) ** 2 + 100 * (b - a * a) ** 2)[:, 0]
    return loss, torch.cat([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)], 1)


def line(x):
    r = x[:, :1] * LX + x[:, 1:2] - LY            # [R, N]
    return (r * r).mean(1), torch.stack([2 * (r * LX).mean(1), 2 * r.mean(1)], 1)


# a linear layer Y = X W + B, W [3, 2] row-major then B [2]: the problem with a weight matrix (Muon)
_g = torch.Generator().manual_seed(3)
XM = torch.rand(20, 3, generator=_g, dtype=F64) * 2 - 1
YM = XM @ torch.tensor([[1.0, -2.0], [0.5, 1.5], [-1.0, 0.3]], dtype=F64) + torch.tensor([0.4, -0.7], dtype=F64)


def linear(x):
    W, B = x[:, :6].reshape(-1, 3, 2), x[:, 6:]
    r = XM @ W + B[:, None, :] - YM                # [R, N, 2]
    n = r.shape[1] * r.shape[2]
    gW = 2 * XM.T @ r / n                           # [R, 3, 2]
    return (r * r).mean((1, 2)), torch.cat([gW.reshape(-1, 6), 2 * r.sum(1) / n], 1)


MATRICES = ((0, 3, 2),)

# name: (loss and gradient, start, lr of normalised steps, lr of plain gradient steps)
PROBLEMS = {
    "bowl": (bowl, (-2.0, 2.0), 0.01, 0.1),
    "rosenbrock": (rosenbrock, (-1.2, 1.0), 2e-3, 3e-4),
    "line": (line, (1.0, 1.0), 0.01, 0.01),
}

# optimizer -> (reference "module:Class", groups of (flags, numeric settings)); "lr" multiplies the
# problem's lr (of normalised steps; "lr_g": of plain gradient steps), "lr_abs" replaces it
CASES = {
    "rprop": ("torch.optim:Rprop", [
        ({}, [{}, {"etas": (0.3, 1.5)}, {"step_sizes": (1e-4, 0.05)}, {"lr": 3.0}]),
        ({"maximize": True}, [{}]),
    ]),
    "asgd": ("torch.optim:ASGD", [
        ({}, [{"lr_g": 1}, {"lr_g": 1, "lambd": 0.05, "alpha": 0.6}, {"lr_g": 1, "t0": 50},
              {"lr_g": 0.5, "t0": 20, "weight_decay": 0.1}]),
        ({"maximize": True}, [{"lr_g": 1}]),
    ]),
    "adafactor": ("torch.optim:Adafactor", [
        ({}, [{}, {"beta2_decay": -0.5}, {"d": 2.0}, {"weight_decay": 0.1, "lr": 3}]),
        ({}, [{"eps": (1e-20, 1e-2)}, {"eps": (1e-3, 1e-1)}]),     # optional keys: given for all runs or none
        ({"maximize": True}, [{}]),
    ]),
    "lion": ("lion_pytorch:Lion", [
        ({}, [{}, {"betas": (0.8, 0.95)}, {"weight_decay": 0.5}]),
        ({"decoupled_weight_decay": True}, [{"weight_decay": 0.01}]),
    ]),
    "adabelief": ("pytorch_optimizer:AdaBelief", [
        ({}, [{}, {"betas": (0.8, 0.99)}, {"weight_decay": 0.1}, {"eps": 1e-8}]),
        ({"weight_decouple": False}, [{"weight_decay": 0.1}]),
        ({"fixed_decay": True}, [{"weight_decay": 0.001}]),
        ({"ams_bound": True}, [{}, {"betas": (0.7, 0.95)}]),
        ({"rectify": True}, [{}, {"n_sma_threshold": 8}]),
        ({"rectify": True, "degenerated_to_sgd": False}, [{}]),
        ({"maximize": True}, [{}]),
    ]),
    "lamb": ("pytorch_optimizer:Lamb", [
        ({}, [{}, {"betas": (0.8, 0.99)}, {"weight_decay": 0.1}, {"eps": 1e-3}]),
        ({"weight_decouple": False}, [{"weight_decay": 0.1}]),
        ({"fixed_decay": True}, [{"weight_decay": 0.001}]),
        ({"grad_averaging": False}, [{"lr": 0.5}]),
        ({"adam": True}, [{}]),
        ({"maximize": True}, [{}]),
    ]),
    "yogi": ("pytorch_optimizer:Yogi", [
        ({}, [{}, {"betas": (0.8, 0.99)}, {"initial_accumulator": 0.1}, {"eps": 1e-6}, {"weight_decay": 0.1}]),
        ({"weight_decouple": False}, [{"weight_decay": 0.1}]),
        ({"fixed_decay": True}, [{"weight_decay": 0.001}]),
        ({"maximize": True}, [{}]),
    ]),
    "ademamix": ("pytorch_optimizer:AdEMAMix", [
        ({}, [{}, {"betas": (0.8, 0.99, 0.999)}, {"alpha": 2.0}, {"eps": 1e-4}, {"weight_decay": 0.1}]),
        ({}, [{"t_alpha_beta3": 100.0}, {"t_alpha_beta3": 30.0, "alpha": 2.0}]),
        ({"weight_decouple": True}, [{"weight_decay": 0.1}]),
        ({"weight_decouple": True, "fixed_decay": True}, [{"weight_decay": 0.001}]),
        ({"maximize": True}, [{}]),
    ]),
    "prodigy": ("pytorch_optimizer:Prodigy", [
        ({}, [{"lr_abs": 1.0, "beta3": 0.9}, {"lr_abs": 1.0, "beta3": 0.99}]),
        ({}, [{"lr_abs": 1.0}, {"lr_abs": 0.5, "betas": (0.8, 0.99)},
              {"lr_abs": 0.3, "d0": 1e-4}, {"lr_abs": 1.0, "d_coef": 0.5}, {"lr_abs": 1.0, "growth_rate": 1.05},
              {"lr_abs": 1.0, "weight_decay": 0.05}, {"lr_abs": 1.0, "eps": 1e-4}]),
        ({"weight_decouple": False}, [{"lr_abs": 1.0, "weight_decay": 0.1}]),
        ({"fixed_decay": True}, [{"lr_abs": 1.0, "weight_decay": 0.01}]),
        ({"bias_correction": True}, [{"lr_abs": 1.0}]),
        ({"safeguard_warmup": True}, [{"lr_abs": 1.0}]),
        ({"maximize": True}, [{"lr_abs": 1.0}]),
    ]),
    "schedule_free_sgd": ("schedulefree:SGDScheduleFree", [
        ({}, [{"lr": 3}, {"lr": 3, "momentum": 0.5}, {"lr": 3, "weight_decay": 0.1}, {"lr": 3, "warmup_steps": 30},
              {"lr": 3, "r": 1.0}, {"lr": 3, "weight_lr_power": 1.0}]),
    ]),
    "schedule_free_adamw": ("schedulefree:AdamWScheduleFree", [
        ({}, [{}, {"betas": (0.8, 0.99)}, {"eps": 1e-4}, {"weight_decay": 0.1}, {"warmup_steps": 30},
              {"r": 1.0}, {"weight_lr_power": 1.0}]),
    ]),
}
# the maximizing rules minimise -f: their cases get the negated gradient (torch's convention)


def _ref_class(spec):
    mod, cls = spec.split(":")
    try:
        m = importlib.import_module(mod)
    except ImportError:
        pytest.skip(f"reference package '{mod}' is not installed (pip install -e '.[test]')")
    return getattr(m, cls)


def _settings(name, flags, numeric, base_lr, plain_lr=None):
    raw = {**flags, **{k: list(v) if isinstance(v, tuple) else v for k, v in numeric.items()
                       if k not in ("lr", "lr_abs", "lr_g")}}
    raw["lr"] = (numeric["lr_abs"] if "lr_abs" in numeric else plain_lr * numeric["lr_g"] if "lr_g" in numeric
                 else base_lr * numeric.get("lr", 1.0))
    errors = Errors(None)
    hp = check_table(raw, OPTIMIZERS[name].fields, "optimizer", errors)
    assert not errors, errors.problems
    return hp


def _batch(hps):
    out = {}
    for k, v0 in hps[0].items():
        if isinstance(v0, (bool, str)) or v0 is None:
            out[k] = v0
        elif isinstance(v0, tuple):
            arr = torch.tensor([h[k] for h in hps], dtype=F64)
            out[k] = tuple(arr[:, i:i + 1] for i in range(arr.shape[1]))
        else:
            out[k] = torch.tensor([[h[k]] for h in hps], dtype=F64)
    return out


def ours(name, hps, fn, x0, steps, extra=None):
    """Our batched rule: ([S+1, R, P] parameters, records by key)."""
    hp = {**_batch(hps), **(extra or {})}
    tr = OPTIMIZERS[name].build(hp)
    x = torch.tensor([x0] * len(hps), dtype=F64)
    state = tr.init(x)
    traj, recs = [x], {}
    for t in range(steps):
        L, g = fn(x)
        rec = {}
        u, state = tr.update(g, state, Ctx(x, hp["lr"], t + 1, L, lambda pts, rows: fn(pts), rec))
        x = rec.pop("next", x - hp["lr"] * u)
        traj.append(x)
        for k, v in rec.items():
            recs.setdefault(k, []).append(v.clone())
    return torch.stack(traj).numpy(), {k: torch.stack(v).numpy() for k, v in recs.items()}


def _ref_kwargs(name, hp):
    kw = dict(hp)
    kw.pop("compare", None)
    if name == "adafactor" and kw.get("eps") is None:
        kw.pop("eps")
    if name == "lbfgs":
        kw["line_search_fn"] = None if kw["line_search_fn"] == "none" else kw["line_search_fn"]
    return kw


def reference(name, hps, fn, x0, steps, sign=1.0):
    """One reference instance per run, fed the run's gradient: [S+1, R, P] (and the schedule-free
    iterates x, as .eval() computes them)."""
    cls = _ref_class(CASES[name][0])
    ps = [torch.tensor(x0, dtype=F64, requires_grad=True) for _ in hps]
    opts = [cls([p], **_ref_kwargs(name, hp)) for p, hp in zip(ps, hps)]
    sf = name.startswith("schedule_free")
    for o in opts:
        if sf:
            o.train()
    traj, its = [torch.stack([p.detach().clone() for p in ps])], []
    for _ in range(steps):
        _, g = fn(traj[-1])
        for r, p in enumerate(ps):
            p.grad = g[r].clone()
        for o in opts:
            o.step()
        traj.append(torch.stack([p.detach().clone() for p in ps]))
        if sf:
            beta = [hp["momentum"] if "momentum" in hp else hp["betas"][0] for hp in hps]
            its.append(torch.stack([p.detach().lerp(o.state[p]["z"], 1 - 1 / b) for p, o, b in zip(ps, opts, beta)]))
    return torch.stack(traj).numpy(), (torch.stack(its).numpy() if its else None)


def rel_err(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _neg(fn):
    def f(x):
        L, g = fn(x)
        return -L, -g
    return f


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("name", list(CASES))
def test_zoo_matches_reference(name, problem):
    fn, x0, lr, lr_g = PROBLEMS[problem]
    for flags, numerics in CASES[name][1]:
        hps = [_settings(name, flags, n, lr, lr_g) for n in numerics]
        f = _neg(fn) if flags.get("maximize") else fn
        mine, rec = ours(name, hps, f, x0, STEPS)
        ref, its = reference(name, hps, f, x0, STEPS)
        for r, hp in enumerate(hps):
            assert np.all(np.isfinite(ref[:, r])) and np.abs(ref[-1, r] - ref[0, r]).max() > 1e-3, (hp, "does not move")
            err = rel_err(mine[:, r], ref[:, r])
            assert err < TOL, f"{name} {flags} {numerics[r]} on {problem}: relative error {err:.2e}"
            if its is not None:
                err = rel_err(rec["iterate"][:, r], its[:, r])
                assert err < TOL, f"{name} {numerics[r]} on {problem}: iterate relative error {err:.2e}"


def test_every_zoo_option_is_covered():
    for name, (_, groups) in CASES.items():
        touched = {k for flags, _ in groups for k in flags} | {k for _, nums in groups for n in nums for k in n}
        missing = set(OPTIMIZERS[name].fields) - touched - {"lr", "lr_abs", "lr_g", "compare"}
        assert not missing, f"{name}: no case sets {sorted(missing)}"


@pytest.mark.parametrize("name", list(CASES) + ["lbfgs", "muon"])
def test_defaults_are_the_references(name):
    """Every key's default is the reference constructor's."""
    import inspect

    spec = {"lbfgs": "torch.optim:LBFGS", "muon": "torch.optim:Muon"}.get(name) or CASES[name][0]
    sig = inspect.signature(_ref_class(spec).__init__).parameters
    for key, f in OPTIMIZERS[name].fields.items():
        if key.startswith("fallback") or key == "compare" or (name, key) in {("adafactor", "eps"), ("lbfgs", "line_search_fn"),
                                                          ("muon", "adjust_lr_fn")}:
            continue
        want = sig[key].default
        assert f.default == (tuple(want) if isinstance(want, tuple) else want), (name, key)
    if name == "adafactor":
        assert sig["eps"].default == (None, 1e-3)


# --- L-BFGS: closures ----------------------------------------------------------------------------

# (flags, settings): runs of one batch share their strings and which optional keys they give
LBFGS_GROUPS = [
    ({}, [{}, {"history_size": 3}, {"max_iter": 4}, {"tolerance_grad": 1e-3}, {"tolerance_change": 1e-4}]),
    ({}, [{"max_eval": 7, "max_iter": 10}, {"max_eval": 12}]),
    ({"line_search_fn": "strong_wolfe"}, [{}, {"history_size": 2, "max_iter": 5}, {"max_eval": 10}]),
]


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_lbfgs_matches_torch(problem):
    """One update = one LBFGS.step(closure); the evaluations of each step recorded (torch's
    state['func_evals'] difference)."""
    fn, x0, _, _ = PROBLEMS[problem]
    steps = 30 if problem != "rosenbrock" else 200
    lr = {"bowl": 0.1, "rosenbrock": 0.05, "line": 0.05}[problem]
    most = 0
    for flags, cases in LBFGS_GROUPS:
        hps = [_settings("lbfgs", flags, c, lr) for c in cases]
        if "max_eval" in cases[-1] and not all("max_eval" in c for c in cases):
            hps = [{**h, "max_eval": h["max_eval"] or h["max_iter"] * 5 // 4} for h in hps]
        mine, rec = ours("lbfgs", hps, fn, x0, steps)
        for r, hp in enumerate(hps):
            p = torch.tensor(x0, dtype=F64, requires_grad=True)
            opt = torch.optim.LBFGS([p], **_ref_kwargs("lbfgs", hp))

            def closure():
                L, g = fn(p.detach()[None])
                p.grad = g[0].clone()
                return L[0]

            traj, evals = [p.detach().clone()], []
            for _ in range(steps):
                before = opt.state[p].get("func_evals", 0) if p in opt.state else 0
                opt.step(closure)
                traj.append(p.detach().clone())
                evals.append(opt.state[p]["func_evals"] - before)
            ref = torch.stack(traj).numpy()
            assert np.abs(ref[-1] - ref[0]).max() > 1e-3
            err = rel_err(mine[:, r], ref)
            assert err < TOL, f"lbfgs {flags} {cases[r]} on {problem}: relative error {err:.2e}"
            np.testing.assert_array_equal(rec["evals"][:, r], evals)
        most = max(most, rec["evals"].max())
    assert most > 1


# --- Muon: matrices and the AdamW fallback -------------------------------------------------------

MUON_CASES = [{}, {"momentum": 0.8, "ns_steps": 3}, {"weight_decay": 0.0, "eps": 1e-3, "ns_coefficients": (3.0, -3.2, 1.2)},
              {"fallback_lr": 0.05, "fallback_betas": (0.8, 0.99), "fallback_eps": 1e-3, "fallback_weight_decay": 0.2}]


@pytest.mark.parametrize("flags", [{}, {"nesterov": False}, {"adjust_lr_fn": "match_rms_adamw"}])
def test_muon_matches_torch(flags):
    """torch.optim.Muon on W [3, 2] and torch.optim.AdamW (the fallback_* keys) on B, one pair per run."""
    torch.set_default_dtype(torch.float32)   # Muon has no scalar state; bfloat16 matmuls are slower under float64
    lr = 0.02
    hps = [_settings("muon", flags, c, lr) for c in (MUON_CASES if not flags else MUON_CASES[:1])]
    mine, _ = ours("muon", hps, linear, tuple([0.1] * 8), 200, extra={"_matrices": MATRICES})
    for r, hp in enumerate(hps):
        W = torch.full((3, 2), 0.1, dtype=F64, requires_grad=True)   # noqa: the parameters stay float64
        B = torch.full((2,), 0.1, dtype=F64, requires_grad=True)
        muon = torch.optim.Muon([W], lr=hp["lr"], weight_decay=hp["weight_decay"], momentum=hp["momentum"],
                                nesterov=hp["nesterov"], ns_coefficients=hp["ns_coefficients"], eps=hp["eps"],
                                ns_steps=hp["ns_steps"], adjust_lr_fn=hp["adjust_lr_fn"])
        adamw = torch.optim.AdamW([B], lr=hp["fallback_lr"], betas=hp["fallback_betas"], eps=hp["fallback_eps"],
                                  weight_decay=hp["fallback_weight_decay"])
        traj = [torch.cat([W.detach().flatten(), B.detach()])]
        for _ in range(200):
            _, g = linear(traj[-1][None])
            W.grad, B.grad = g[0, :6].reshape(3, 2).clone(), g[0, 6:].clone()
            muon.step()
            adamw.step()
            traj.append(torch.cat([W.detach().flatten(), B.detach()]))
        ref = torch.stack(traj).numpy()
        assert np.abs(ref[-1] - ref[0]).max() > 1e-2
        err = rel_err(mine[:, r], ref)
        assert err < TOL, f"muon {hp} relative error {err:.2e}"


# --- whole scenes --------------------------------------------------------------------------------

XS = [-3.0, -1.0, 0.5, 2.0, 4.0, 5.5, 7.0]
YS = [-7.2, -2.9, 1.1, 4.2, 8.8, 12.1, 14.0]

SCENE_RUNS = [   # (scene lines, reference spec, kwargs)
    ('type = "rprop"\nlr = 0.01', "torch.optim:Rprop", {"lr": 0.01}),
    ('type = "asgd"\nlr = 0.01\nt0 = 20', "torch.optim:ASGD", {"lr": 0.01, "t0": 20}),
    ('type = "adafactor"\nlr = 0.05', "torch.optim:Adafactor", {"lr": 0.05}),
    ('type = "lbfgs"\nlr = 0.1\nmax_iter = 5', "torch.optim:LBFGS", {"lr": 0.1, "max_iter": 5}),
    ('type = "lbfgs"\nlr = 0.5\nline_search_fn = "strong_wolfe"\nhistory_size = 4', "torch.optim:LBFGS",
     {"lr": 0.5, "line_search_fn": "strong_wolfe", "history_size": 4}),
    ('type = "lion"\nlr = 0.01', "lion_pytorch:Lion", {"lr": 0.01}),
    ('type = "adabelief"\nlr = 0.05', "pytorch_optimizer:AdaBelief", {"lr": 0.05}),
    ("type = \"lamb\"\nlr = 0.01", "pytorch_optimizer:Lamb", {"lr": 0.01}),
    ('type = "yogi"\nlr = 0.05', "pytorch_optimizer:Yogi", {"lr": 0.05}),
    ('type = "ademamix"\nlr = 0.02', "pytorch_optimizer:AdEMAMix", {"lr": 0.02}),
    ('type = "prodigy"\nlr = 0.5', "pytorch_optimizer:Prodigy", {"lr": 0.5}),
    ('type = "schedule_free_sgd"\nlr = 0.01', "schedulefree:SGDScheduleFree", {"lr": 0.01}),
    ('type = "schedule_free_adamw"\nlr = 0.05', "schedulefree:AdamWScheduleFree", {"lr": 0.05}),
]


def test_scene_runs_match_references():
    """One scene naming every new optimizer on a line fit; each run of the History against its
    reference class with autograd (L-BFGS through a closure); evals and iterates recorded."""
    text = f"""
[problem]
type = "line"
x = {XS}
y = {YS}
[train]
steps = 200
init = [0.3, -0.2]
{chr(10).join(f"[[optimizer]]{chr(10)}{body}" for body, _, _ in SCENE_RUNS)}
[render]
views = ["loss"]
"""
    h = animopt.simulate(parse_scene(text))
    x, y = torch.tensor(XS, dtype=F64), torch.tensor(YS, dtype=F64)
    for r, (body, spec, kw) in enumerate(SCENE_RUNS):
        p = torch.tensor([0.3, -0.2], dtype=F64, requires_grad=True)
        opt = _ref_class(spec)([p], **kw)
        if spec.startswith("schedulefree"):
            opt.train()

        def closure():
            opt.zero_grad()
            loss = ((p[0] * x + p[1] - y) ** 2).mean()
            loss.backward()
            return loss

        ref, evals, its = [p.detach().clone()], [], [p.detach().clone()]
        for _ in range(200):
            before = opt.state[p].get("func_evals", 0) if p in opt.state else 0
            opt.step(closure) if "LBFGS" in spec else (closure(), opt.step())
            ref.append(p.detach().clone())
            if "LBFGS" in spec:
                evals.append(opt.state[p]["func_evals"] - before)
            if spec.startswith("schedulefree"):
                b = kw.get("momentum", 0.9)
                its.append(p.detach().lerp(opt.state[p]["z"], 1 - 1 / b))
        ref = torch.stack(ref).numpy()
        assert h.loss[-1, r] < h.loss[0, r], body
        assert rel_err(h.params[:, r], ref) < TOL, (body, rel_err(h.params[:, r], ref))
        np.testing.assert_allclose(h.params[1:, r], h.params[:-1, r] - h.lr[:, r, None] * h.updates[:, r],
                                   rtol=1e-10, atol=1e-12)
        if evals:
            np.testing.assert_array_equal(h.evals[:, r], evals)
        if spec.startswith("schedulefree"):
            assert rel_err(h.iterate[:, r], torch.stack(its).numpy()) < TOL
    assert h.evals[:, 0].max() == 1 and h.evals[:, 3].max() > 1
    np.testing.assert_array_equal(h.iterate[:, 0], h.params[:, 0])      # no iterate: the params


def test_muon_scene_on_a_linear_model():
    """muon through a scene: W by Muon, B by the AdamW fallback; a problem without matrices is an error
    naming the key."""
    lin = """
[problem]
type = "linear"
inputs = 3
outputs = 2
n = 20
[train]
steps = 60
[[optimizer]]
type = "muon"
lr = 0.02
fallback_lr = 0.01
[render]
views = ["loss"]
"""
    h = animopt.simulate(parse_scene(lin))
    assert h.loss[-1, 0] < 0.5 * h.loss[0, 0]
    W = torch.tensor(h.params[0, 0, :6].reshape(3, 2), requires_grad=True)
    B = torch.tensor(h.params[0, 0, 6:], requires_grad=True)
    from animopt.simulator import plan
    prob = plan(parse_scene(lin)).problem
    mu, aw = torch.optim.Muon([W], lr=0.02), torch.optim.AdamW([B], lr=0.01)
    for t in range(60):
        x = torch.cat([W.detach().flatten(), B.detach()])[None]
        xg = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(prob.loss(xg).sum(), xg)
        W.grad, B.grad = g[0, :6].reshape(3, 2).clone(), g[0, 6:].clone()
        mu.step()
        aw.step()
    final = torch.cat([W.detach().flatten(), B.detach()]).numpy()
    assert np.abs(h.params[-1, 0] - final).max() / np.abs(final).max() < 1e-9
    with pytest.raises(animopt.SceneError, match=r"optimizer\[0\]\.type: muon updates weight matrices"):
        animopt.simulate(parse_scene(lin.replace('type = "linear"\ninputs = 3\noutputs = 2\nn = 20',
                                                 'type = "rosenbrock"').replace("[train]\n", "[train]\ninit = [0.0, 0.0]\n")))


def test_every_zoo_optimizer_is_tested():
    assert set(CASES) | {"lbfgs", "muon", "torch"} == {n for n, o in OPTIMIZERS.items() if o.records}


# --- type = "torch": the installed class itself --------------------------------------------------

def test_torch_class_runs_the_real_class():
    """type = "torch" runs the class, one instance per run: equal to our batched rules to the bit, the
    lr swept and scheduled through the param groups, LBFGS with its closure (evaluations recorded)."""
    text = """
[problem]
type = "rosenbrock"
[train]
steps = 60
init = [-1.2, 1.0]
[[optimizer]]
type = "torch"
class = "torch.optim.Rprop"
lr = [0.001, 0.01]
args = { etas = [0.4, 1.3] }
[[optimizer]]
type = "rprop"
lr = [0.001, 0.01]
etas = [0.4, 1.3]
[[optimizer]]
type = "torch"
class = "torch.optim.LBFGS"
lr = 0.05
args = { line_search_fn = "strong_wolfe", history_size = 5 }
[[optimizer]]
type = "lbfgs"
lr = 0.05
line_search_fn = "strong_wolfe"
history_size = 5
[[optimizer]]
type = "torch"
class = "torch.optim.Adam"
lr = 0.01
schedule = { type = "cosine" }
[[optimizer]]
type = "adam"
lr = 0.01
schedule = { type = "cosine" }
[render]
views = ["loss"]
"""
    h = animopt.simulate(parse_scene(text))
    assert h.labels[:4] == ("Rprop (torch.optim) lr=0.001", "Rprop (torch.optim) lr=0.01", "Rprop lr=0.001", "Rprop lr=0.01")
    for a, b in ((0, 2), (1, 3), (4, 5)):
        np.testing.assert_array_equal(h.params[:, a], h.params[:, b])
    np.testing.assert_array_equal(h.evals[:, 4], h.evals[:, 5])
    assert h.evals[:, 4].max() > 1
    assert rel_err(h.params[:, 6], h.params[:, 7]) < TOL


@pytest.mark.parametrize("cls", ["pytorch_optimizer.Prodigy", "schedulefree.SGDScheduleFree", "lion_pytorch.Lion"])
def test_torch_class_from_the_other_packages(cls):
    mod = cls.split(".")[0]
    pytest.importorskip(mod, reason=f"reference package '{mod}' is not installed")
    ours = {"pytorch_optimizer.Prodigy": "prodigy", "schedulefree.SGDScheduleFree": "schedule_free_sgd",
            "lion_pytorch.Lion": "lion"}[cls]
    text = f"""
[problem]
type = "quadratic"
[train]
steps = 50
init = [1.0, 2.0]
[[optimizer]]
type = "torch"
class = "{cls}"
lr = 0.05
[[optimizer]]
type = "{ours}"
lr = 0.05
[render]
views = ["loss"]
"""
    h = animopt.simulate(parse_scene(text))
    assert rel_err(h.params[:, 0], h.params[:, 1]) < TOL


@pytest.mark.parametrize("lines, key, words", [
    ('class = "os.system"', "optimizer[0].class", "only optimizer classes of torch.optim"),
    ('class = "torch.nn.Linear"', "optimizer[0].class", "only optimizer classes"),
    ('class = "torch.optim.lr_scheduler.StepLR"', "optimizer[0].class", "not a subclass of torch.optim.Optimizer"),
    ('class = "torch.optim.Nope"', "optimizer[0].class", "torch.optim has no 'Nope'"),
    ('class = "Rprop"', "optimizer[0].class", "expected a class name"),
    ('class = "torch.optim.SGD"\nargs = { momentun = 0.9 }', "optimizer[0].args.momentun", "did you mean 'momentum'"),
    ('class = "torch.optim.SGD"\nargs = { lr = 0.9 }', "optimizer[0].args.lr", "give lr on the entry"),
    ('args = { momentum = 0.9 }', "optimizer[0].class", "missing"),
])
def test_torch_class_errors_name_the_key(lines, key, words):
    text = f'[problem]\ntype = "rosenbrock"\n[train]\nsteps = 5\n[[optimizer]]\ntype = "torch"\n{lines}\n'
    with pytest.raises(animopt.SceneError) as e:
        parse_scene(text)
    assert any(k == key and words in m for _, k, m in e.value.problems), e.value.problems


# --- compare = "torch" ----------------------------------------------------------------------------

def test_compare_runs_the_torch_twin():
    """compare = "torch" adds, after the entry's runs, one torch.optim run per run (sweeps included),
    labelled "(torch.optim, max diff D)" with D the largest difference over the History."""
    text = """
[problem]
type = "quadratic"
[train]
steps = 40
init = [1.0, 2.0]
[[optimizer]]
type = "sgd"
lr = [0.05, 0.1]
momentum = 0.9
compare = "torch"
[[optimizer]]
type = "adam"
lr = 0.1
compare = "torch"
schedule = { type = "cosine" }
[[optimizer]]
type = "lbfgs"
lr = 0.5
compare = "torch"
[render]
views = ["loss"]
"""
    h = animopt.simulate(parse_scene(text))
    assert h.runs == 8
    np.testing.assert_array_equal(h.optimizer, [0, 0, 0, 0, 1, 1, 2, 2])
    assert h.labels[2].startswith("SGD lr=0.05 (torch.optim, max diff ") and h.labels[5].startswith("Adam (torch.optim")
    for ours, twin in ((0, 2), (1, 3), (4, 5), (6, 7)):
        d = np.abs(h.params[:, ours] - h.params[:, twin]).max()
        assert d < 1e-12 and f"max diff {d:.0e})" in h.labels[twin]
    np.testing.assert_array_equal(h.lr[:, 4], h.lr[:, 5])
    np.testing.assert_array_equal(h.evals[:, 6], h.evals[:, 7])
    with pytest.raises(animopt.SceneError, match=r"optimizer\[0\]\.compare: torch.optim.SGD has momentum_style"):
        parse_scene(text.replace("momentum = 0.9", 'momentum = 0.9\nmomentum_style = "ema"'))
    with pytest.raises(animopt.SceneError, match=r"optimizer\[0\]\.compare: unknown key"):
        parse_scene(text.replace('type = "sgd"', 'type = "lion"').replace("momentum = 0.9\n", ""))
