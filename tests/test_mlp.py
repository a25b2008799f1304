"""The `mlp` problem: its data, its start (torch's nn.Linear), its parameter order, and the proof that a
History is torch's: for every optimizer, the same network rebuilt with torch.nn from `params[0]` and
trained by torch.optim on the same minibatches (`History.batch_idx`) follows the same trajectory."""
from pathlib import Path

import numpy as np
import pytest
import torch

import animopt
from animopt.optim import OPTIMIZERS
from animopt.problems.mlp import make_dataset
from animopt.scene import parse_scene
from animopt.simulator import plan
from animopt.spec import SceneError

F64 = torch.float64
TOL = 1e-9
STEPS = 30
ACT = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "gelu": torch.nn.GELU, "sigmoid": torch.nn.Sigmoid}


def scene_text(problem: str, optimizers: str = '[[optimizer]]\ntype = "sgd"\nlr = 0.1', train="steps = 5",
               seed=3) -> str:
    return (f'seed = {seed}\n[problem]\ntype = "mlp"\n{problem}\n[train]\n{train}\n{optimizers}\n'
            '[render]\nviews = ["loss"]\n')


def build(problem: str, path=None):
    return plan(parse_scene(scene_text(problem), path)).problem


def error_keys(problem: str, path=None) -> list[str]:
    with pytest.raises(SceneError) as e:
        plan(parse_scene(scene_text(problem), path))
    return [k for _, k, _ in e.value.problems]


def network(sizes, activation):
    layers = []
    for k in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[k], sizes[k + 1]))
        if k < len(sizes) - 2:
            layers.append(ACT[activation]())
    return torch.nn.Sequential(*layers)


@pytest.fixture(autouse=True)
def float64_scalar_state():
    """torch.optim keeps scalar state (NAdam's mu_product) in the default dtype: float64 for the
    references (see test_optim_parity)."""
    old = torch.get_default_dtype()
    yield
    torch.set_default_dtype(old)


def test_start_and_names_are_torchs():
    p = build('hidden = [5, 3]\ninit_seed = 11\ndataset = "blobs"\nclasses = 4')
    torch.manual_seed(11)
    net = network([2, 5, 3, 4], "relu")
    ref = torch.nn.utils.parameters_to_vector(net.parameters()).detach().double().numpy()
    np.testing.assert_array_equal(np.array(p.default_init), ref)
    names = p.param_names
    assert len(names) == len(ref) == 2 * 5 + 5 + 5 * 3 + 3 + 3 * 4 + 4
    assert names[:3] == ("l0.weight[0,0]", "l0.weight[0,1]", "l0.weight[1,0]")
    assert names[10:12] == ("l0.bias[0]", "l0.bias[1]") and names[15] == "l1.weight[0,0]"
    assert names[-1] == "l2.bias[3]"
    # the loss of params[0] is the network's
    for act in ("tanh", "gelu", "sigmoid"):
        p = build(f'hidden = [6]\nactivation = "{act}"\ninit_seed = 2')
        torch.manual_seed(2)
        net = network([2, 6, 2], act).double()
        X, y = (torch.as_tensor(v) for v in (p.data()["X"], p.data()["y"]))
        ref = torch.nn.functional.cross_entropy(net(X), y).detach()
        assert float(p.loss(torch.tensor([p.default_init], dtype=F64))[0]) == pytest.approx(float(ref.detach()), rel=1e-12)
        acc = float((net(X).argmax(1) == y).double().mean())
        assert p.accuracy(np.array([p.default_init]))[0] == pytest.approx(acc)
        scores = p.predict(np.array([p.default_init]), p.data()["X"][:7])
        np.testing.assert_allclose(scores[0], net(X[:7]).softmax(-1).detach().numpy(), rtol=1e-12)


def test_datasets_are_seeded_balanced_and_shaped():
    for kind in ("moons", "circles", "spirals", "xor", "blobs"):
        X, y = make_dataset(kind, 101, 0.1, 5)
        assert X.shape == (101, 2) and y.shape == (101,) and np.isfinite(X).all()
        K = 3 if kind == "blobs" else 2
        assert set(np.unique(y)) == set(range(K))
        if kind != "xor":
            assert np.ptp(np.bincount(y)) <= 1
        X2, y2 = make_dataset(kind, 101, 0.1, 5)
        np.testing.assert_array_equal(X, X2)
        assert not np.array_equal(X, make_dataset(kind, 101, 0.1, 6)[0])
    X, y = make_dataset("circles", 200, 0.0, 0)
    np.testing.assert_allclose(np.hypot(*X.T), np.where(y == 0, 1.0, 0.5))


def test_csv_dataset_relative_to_the_scene(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "pts.csv").write_text("x0,x1,label\n0,0,0\n1,0,1\n0,1,2\n1,1,1\n")
    p = build('dataset = "csv"\npath = "d/pts.csv"\nhidden = [3]', tmp_path / "s.toml")
    assert p.n == 4 and p.classes == 3 and len(p.param_names) == 3 * 3 + 3 * 4
    np.testing.assert_array_equal(p.data()["y"], [0, 1, 2, 1])
    s = tmp_path / "s.toml"
    assert error_keys('dataset = "csv"', s) == ["problem.path"]
    assert error_keys('dataset = "csv"\npath = "nope.csv"', s) == ["problem.path"]
    (tmp_path / "bad.csv").write_text("x0,x1,label\n0,0,0.5\n1,1,1\n")
    assert error_keys('dataset = "csv"\npath = "bad.csv"', s) == ["problem.path"]
    assert error_keys('dataset = "csv"\npath = "d/pts.csv"\nclasses = 2', s) == ["problem.classes"]
    assert error_keys('path = "d/pts.csv"', s) == ["problem.path"]
    assert error_keys('classes = 3') == ["problem.classes"]
    assert error_keys('activation = "swish"') == ["problem.activation"]
    assert error_keys('hidden = [4096, 4096]') == ["problem.hidden"]


# optimizer -> (scene lines, torch.optim kwargs)
CASES = {
    "sgd": ('lr = 0.2\nmomentum = 0.9\nnesterov = true\nweight_decay = 0.01',
            {"lr": 0.2, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    "rmsprop": ('lr = 0.01\nmomentum = 0.5\ncentered = true', {"lr": 0.01, "momentum": 0.5, "centered": True}),
    "adam": ('lr = 0.02\nbetas = [0.8, 0.99]\namsgrad = true', {"lr": 0.02, "betas": (0.8, 0.99), "amsgrad": True}),
    "adamw": ('lr = 0.02\nweight_decay = 0.1', {"lr": 0.02, "weight_decay": 0.1}),
    "adagrad": ('lr = 0.1\nlr_decay = 0.01', {"lr": 0.1, "lr_decay": 0.01}),
    "adadelta": ('lr = 1.0\nrho = 0.8', {"lr": 1.0, "rho": 0.8}),
    "adamax": ('lr = 0.02', {"lr": 0.02}),
    "nadam": ('lr = 0.02\nmomentum_decay = 0.01', {"lr": 0.02, "momentum_decay": 0.01}),
    "radam": ('lr = 0.02\nweight_decay = 0.1\ndecoupled_weight_decay = true',
              {"lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True}),
}
# optimizers that animopt may have and torch.optim has too (each replayed when animopt has it); adafactor
# treats the parameters as one vector (unfactored), so its reference trains one flat parameter
MORE = {
    "rprop": ('lr = 0.005\netas = [0.4, 1.3]', {"lr": 0.005, "etas": (0.4, 1.3)}),
    "asgd": ('lr = 0.05\nt0 = 10.0\nlambd = 0.001', {"lr": 0.05, "t0": 10.0, "lambd": 0.001}),
    "lbfgs": ('lr = 0.05\nmax_iter = 2', {"lr": 0.05, "max_iter": 2}),
    "adafactor": ('lr = 0.01\nweight_decay = 0.01', {"lr": 0.01, "weight_decay": 0.01}),
    "muon": ('lr = 0.02\nfallback_lr = 0.01', {"lr": 0.02, "fallback_lr": 0.01}),   # + AdamW on the biases
}
CASES.update({k: v for k, v in MORE.items() if k in OPTIMIZERS})
TORCH = {"sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam,
         "adamw": torch.optim.AdamW, "adagrad": torch.optim.Adagrad, "adadelta": torch.optim.Adadelta,
         "adamax": torch.optim.Adamax, "nadam": torch.optim.NAdam, "radam": torch.optim.RAdam,
         "rprop": torch.optim.Rprop, "asgd": torch.optim.ASGD, "lbfgs": torch.optim.LBFGS,
         "adafactor": getattr(torch.optim, "Adafactor", None), "muon": getattr(torch.optim, "Muon", None)}


def replay(h, r, sizes, activation, loss, X, y, opt_name, kw):
    """Run `r` of the History again with torch.nn and torch.optim, float64, from params[0]."""
    torch.set_default_dtype(F64)
    net = network(sizes, activation)
    torch.nn.utils.vector_to_parameters(torch.tensor(h.params[0, r]), net.parameters())
    flat = torch.nn.Parameter(torch.tensor(h.params[0, r]))      # adafactor: one vector, as animopt's
    names = [(n, p.shape, p.numel()) for n, p in net.named_parameters()]

    def forward(x):
        if opt_name != "adafactor":
            return net(x)
        views, at = {}, 0
        for n, shape, k in names:
            views[n] = flat[at:at + k].view(shape)
            at += k
        return torch.func.functional_call(net, views, (x,))

    params = [flat] if opt_name == "adafactor" else list(net.parameters())
    if opt_name == "muon":            # torch's Muon on the weight matrices, AdamW (the fallback) on the biases
        kw = dict(kw)
        adamw = torch.optim.AdamW([p for p in params if p.dim() == 1], lr=kw.pop("fallback_lr"))
        muon = torch.optim.Muon([p for p in params if p.dim() == 2], **kw)

        class Both:
            def zero_grad(self):
                muon.zero_grad()
                adamw.zero_grad()

            def step(self):
                muon.step()
                adamw.step()

        opt = Both()
    else:
        opt = TORCH[opt_name](params, **kw)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    traj = [h.params[0, r]]
    for t in range(h.steps):
        idx = h.batch_idx[t, r]
        idx = torch.as_tensor(idx[idx >= 0])

        def closure():
            opt.zero_grad()
            out = forward(Xt[idx])
            if loss == "mse":
                L = torch.nn.functional.mse_loss(out, torch.eye(sizes[-1])[yt[idx]])
            else:
                L = torch.nn.functional.cross_entropy(out, yt[idx])
            L.backward()
            return L

        if opt_name == "lbfgs":
            opt.step(closure)
        else:
            closure()
            opt.step()
        now = flat if opt_name == "adafactor" else torch.nn.utils.parameters_to_vector(net.parameters())
        traj.append(now.detach().numpy().copy())
    return np.array(traj)


@pytest.mark.parametrize("activation,loss", [("tanh", "cross_entropy"), ("relu", "mse")])
def test_every_optimizer_replays_in_torch(activation, loss):
    """One scene, every optimizer a run, minibatches of 8 reshuffled each epoch: each run's trajectory
    is torch.nn + torch.optim's from params[0] on the same minibatches, to 1e-9 relative."""
    # every optimizer torch.optim also has is replayed here; the others (no torch.optim class) are proven
    # against their reference implementations in their own tests
    torch_named = {k for k, o in OPTIMIZERS.items() if any(k == n.lower() for n in dir(torch.optim))}
    assert torch_named <= set(CASES), f"no replay case for {sorted(torch_named - set(CASES))}"
    assert {"sgd", "rmsprop", "adam", "adamw", "adagrad", "adadelta", "adamax", "nadam", "radam"} <= set(CASES)
    opts = "\n".join(f'[[optimizer]]\ntype = "{k}"\n{body}' for k, (body, _) in CASES.items())
    text = scene_text(f'dataset = "moons"\nn = 40\nhidden = [6, 5]\nactivation = "{activation}"\n'
                      f'loss = "{loss}"\ninit_seed = 4', opts,
                      train=f"steps = {STEPS}\nbatch_size = 8\nshuffle = true")
    h = animopt.simulate(parse_scene(text))
    X, y = h.problem.data["X"], h.problem.data["y"]
    assert h.batch_idx is not None and h.batch_idx.shape[:2] == (STEPS, len(CASES))
    for r, (name, (_, kw)) in enumerate(CASES.items()):
        ref = replay(h, r, [2, 6, 5, 2], activation, loss, X, y, name, kw)
        assert np.abs(ref[-1] - ref[0]).max() > 1e-3, (name, "does not move")
        err = float(np.max(np.abs(h.params[:, r] - ref)) / np.max(np.abs(ref)))
        assert err < TOL, f"{name}: relative error {err:.2e}"
    assert np.all(h.loss[-1] < h.loss[0])


def test_full_batch_gradient_is_autograds_of_the_network():
    text = scene_text('dataset = "xor"\nn = 30\nhidden = [4]\nactivation = "gelu"', train="steps = 3")
    h = animopt.simulate(parse_scene(text))
    torch.set_default_dtype(F64)
    net = network([2, 4, 2], "gelu")
    torch.nn.utils.vector_to_parameters(torch.tensor(h.params[1, 0]), net.parameters())
    X, y = (torch.as_tensor(h.problem.data[k]) for k in ("X", "y"))
    torch.nn.functional.cross_entropy(net(X), y).backward()
    g = torch.cat([p.grad.reshape(-1) for p in net.parameters()]).numpy()
    np.testing.assert_allclose(h.grads[1, 0], g, rtol=1e-10, atol=1e-14)
    assert h.loss[1, 0] == pytest.approx(h.problem.loss_fn(h.params[1:2, 0])[0], rel=1e-12)


def test_float32_runs():
    text = scene_text('n = 20\nhidden = [3]', train='steps = 4\ndtype = "float32"')
    h = animopt.simulate(parse_scene(text))
    assert np.all(np.isfinite(h.params)) and h.loss[-1, 0] < h.loss[0, 0]
