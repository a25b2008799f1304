"""Benchmark 7 (issue 12): seed 004's lr x momentum sweep at scale, animopt against JAX + Optax.

    python benchmarks/sweep_scale.py [--runs 10000,90000,1000000] [--dtype float32,float64]
                                     [--device cpu|cuda] [--cap-gb 20] [--sides animopt,jax]

The problem: seed 004's linear model Y = X W + B (100 samples, 2 inputs, 1 output, W = [[1], [-2]],
B = [0.5], X uniform in [-1, 1), noise 0.01), SGD with moving-average momentum (avg = m*avg + (1-m)*g, as
the seed writes it), batches of 10 reshuffled every epoch, 10 epochs = 100 updates, from [1, 1, 1]; the
grid is sqrt(runs) learning rates (0.05 to 10, log) x sqrt(runs) momenta (0 to 0.95).

- animopt: the scene text parsed and simulated (`animopt.simulate`), everything counted: parsing,
  planning, the batched loop, the History the heat map draws (recorded as the scene would be).
- JAX + Optax: the same data and the same minibatch order (animopt's: numpy's default_rng([seed, 2, 10])
  permutation per epoch), `optax.chain(optax.ema(m, debias=False), optax.scale(-lr))` per run, vmapped over
  the runs, `lax.scan` over the 100 steps, jit-compiled; the full-data loss of every run kept at every step
  (what the heat map needs). Compile time counted (the first call, timed whole).

Each measurement runs in its own process with an address-space cap (`--cap-gb`, RLIMIT_AS, as
`prlimit --as` does), so that a case that does not fit fails instead of taking the machine down; its peak
resident memory is the child's ru_maxrss (imports included: torch alone is about 200 MB). Both sides use
the same dtype. The final losses are compared: animopt against JAX (same dtype), float32 against float64
(same side). Results go to benchmarks/results/7_sweep_scale.json; the "Sweep at scale" section of
benchmarks/README.md shows them.

JAX is installed only for this benchmark (`pip install jax optax`), never an animopt dependency.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "7_sweep_scale.json"

SEED = 4
SCENE = """
title = "lr x momentum, {n} x {n}"
seed = {seed}

[problem]
type = "linear"
inputs = 2
outputs = 1
W = [[1.0], [-2.0]]
B = [0.5]
n = 100
x_range = [-1, 1]
noise = 0.01

[train]
epochs = 10
batch_size = 10
shuffle = true
init = [1.0, 1.0, 1.0]
dtype = "{dtype}"
device = "{device}"

[[optimizer]]
type = "sgd"
lr = {{ from = 0.05, to = 10.0, num = {n}, scale = "log" }}
momentum = {{ from = 0.0, to = 0.95, num = {n} }}
momentum_style = "ema"

[render]
views = [{{ type = "heatmap", x = "lr", y = "momentum" }}]
timeline = "log"
"""


def side_of(n: int) -> int:
    k = int(round(n ** 0.5))
    if k * k != n:
        raise SystemExit(f"--runs {n}: expected a square (100 x 100 = 10000, ...)")
    return k


# ------------------------------------------------------------------------------------------ children

def child_animopt(n: int, dtype: str, device: str, out: str) -> dict:
    import numpy as np

    t0 = time.perf_counter()
    import animopt
    from animopt.scene import parse_scene

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    scene = parse_scene(SCENE.format(n=side_of(n), seed=SEED, dtype=dtype, device=device))
    h = animopt.simulate(scene)
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    final = np.asarray(h.loss[-1], dtype=np.float64)
    np.save(out, final)
    return {"seconds": seconds, "import_seconds": t_import, "steps": int(h.steps), "runs": int(h.runs),
            "recorded_steps": int(h.loss.shape[0]), "history_mb": _history_mb(h)}


def _history_mb(h) -> float:
    import numpy as np

    total = 0
    for k in ("params", "loss", "grads", "updates", "lr", "params_ends"):
        a = getattr(h, k, None)
        if a is not None:                   # the memory held: a zero-stride (broadcast) axis holds one value
            total += a.itemsize * int(np.prod([n for n, st in zip(a.shape, a.strides) if st]))
    return total / 1e6


def data_and_batches():
    """X, Y and the [S, 10] minibatch indices exactly as animopt makes them (seed 004's scene)."""
    import numpy as np

    from animopt.scene import parse_scene
    from animopt.simulator import plan

    p = plan(parse_scene(SCENE.format(n=2, seed=SEED, dtype="float64", device="cpu")))
    d = p.problem.info().data
    X, Y = np.asarray(d["X"], dtype=np.float64), np.asarray(d["Y"], dtype=np.float64)
    S, N, b = p.steps, len(X), 10
    rng = np.random.default_rng([SEED, 2, b])         # animopt.simulator._batches, one batch size
    idx, t = np.zeros((S, b), dtype=np.int64), 0
    while t < S:
        order = rng.permutation(N)
        for s in range(0, N, b):
            idx[t] = order[s:s + b]
            t += 1
            if t == S:
                break
    return X, Y, idx


def child_jax(n: int, dtype: str, device: str, out: str) -> dict:
    import numpy as np

    X, Y, idx = data_and_batches()          # (numpy; the animopt import is not timed below)
    t0 = time.perf_counter()
    if dtype == "float64":
        os.environ["JAX_ENABLE_X64"] = "1"
    import jax

    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax

    t_import = time.perf_counter() - t0
    dev = jax.devices("gpu" if device.startswith("cuda") else "cpu")[0]
    dt = jnp.float64 if dtype == "float64" else jnp.float32
    k = side_of(n)
    t0 = time.perf_counter()
    lrs = np.geomspace(0.05, 10.0, k)
    moms = np.linspace(0.0, 0.95, k)
    lr_grid, m_grid = (a.ravel() for a in np.meshgrid(lrs, moms, indexing="ij"))   # lr outer, momentum inner
    with jax.default_device(dev):
        Xj, Yj = jnp.asarray(X, dt), jnp.asarray(Y, dt)
        xb, yb = Xj[idx], Yj[idx]                       # [S, 10, 2], [S, 10, 1]

        def loss_fn(p, x, y):                           # p = [W00, W10, B0]
            pred = x @ p[:2, None] + p[2]
            return jnp.mean((pred - y) ** 2)

        def train(lr, m):
            opt = optax.chain(optax.ema(m, debias=False), optax.scale(-lr))
            p0 = jnp.ones(3, dt)
            state = opt.init(p0)

            def step(carry, batch):
                p, s = carry
                g = jax.grad(loss_fn)(p, *batch)
                u, s = opt.update(g, s, p)
                p = optax.apply_updates(p, u)
                return (p, s), loss_fn(p, Xj, Yj)       # the full-data loss after each update

            (_, _), losses = jax.lax.scan(step, (p0, state), (xb, yb))
            return jnp.concatenate([loss_fn(p0, Xj, Yj)[None], losses])     # [S+1]

        run = jax.jit(jax.vmap(train))
        losses = run(jnp.asarray(lr_grid, dt), jnp.asarray(m_grid, dt))     # [R, S+1], compile counted
        losses.block_until_ready()
    seconds = time.perf_counter() - t0
    final = np.asarray(losses[:, -1], dtype=np.float64)
    np.save(out, final)
    return {"seconds": seconds, "import_seconds": t_import, "steps": int(idx.shape[0]), "runs": int(n),
            "recorded_steps": int(losses.shape[1]), "history_mb": losses.nbytes / 1e6}


def child(side: str, n: int, dtype: str, device: str, out: str) -> None:
    fn = child_animopt if side == "animopt" else child_jax
    r = fn(n, dtype, device, out)
    r["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if device.startswith("cuda") and side == "animopt":
        import torch

        r["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / 2 ** 20
    print("RESULT " + json.dumps(r), flush=True)


# -------------------------------------------------------------------------------------------- parent

def measure(side: str, n: int, dtype: str, device: str, cap_gb: float, tmp: Path, timeout: float) -> dict:
    out = tmp / f"{side}_{n}_{dtype}.npy"
    cap = int(cap_gb * 2 ** 30)

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    cmd = [sys.executable, __file__, "--child", side, "--n", str(n), "--one-dtype", dtype, "--device", device,
           "--out", str(out)]
    env = {**os.environ, "XLA_FLAGS": os.environ.get("XLA_FLAGS", "")}
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=limit, env=env)
    except subprocess.TimeoutExpired:
        return {"side": side, "runs": n, "dtype": dtype, "device": device, "ok": False,
                "error": f"over {timeout:.0f} s"}
    wall = time.perf_counter() - t0
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    base = {"side": side, "runs": n, "dtype": dtype, "device": device, "cap_gb": cap_gb,
            "load": [round(load0, 2), round(os.getloadavg()[0], 2)], "process_seconds": round(wall, 2)}
    if p.returncode != 0 or not line:
        err = (p.stderr.strip().splitlines() or ["?"])[-1][:300]
        if p.returncode < 0:
            err = f"killed by signal {-p.returncode}; {err}"
        return {**base, "ok": False, "error": err}
    return {**base, "ok": True, **json.loads(line[0][7:]), "final": str(out)}


def agreement(a: Path, b: Path) -> dict:
    """How far two sets of final losses are apart: runs finite in both, the largest relative difference
    among them (and its median), and runs finite in one only (a divergence one side saw)."""
    import numpy as np

    x, y = np.load(a), np.load(b)
    ok = np.isfinite(x) & np.isfinite(y) & (x < 1e10) & (y < 1e10)
    rel = np.abs(x[ok] - y[ok]) / np.maximum(np.abs(y[ok]), 1e-300)
    return {"both_finite": int(ok.sum()), "one_side_only": int((np.isfinite(x) & (x < 1e10) != (np.isfinite(y) & (y < 1e10))).sum()),
            "max_rel": float(rel.max()) if rel.size else None, "median_rel": float(np.median(rel)) if rel.size else None,
            "best_cell_same": bool(np.nanargmin(np.where(ok, x, np.nan)) == np.nanargmin(np.where(ok, y, np.nan)))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", default="10000,90000,1000000")
    ap.add_argument("--dtype", default="float32,float64")
    ap.add_argument("--big-dtype", default="float32",
                    help="the dtypes past 100,000 runs (the issue's million-run target is float32)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (both sides on that device)")
    ap.add_argument("--sides", default="animopt,jax")
    ap.add_argument("--cap-gb", type=float, default=20.0, help="address-space cap of each measuring process")
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--child")
    ap.add_argument("--n", type=int)
    ap.add_argument("--one-dtype")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.child:
        child(a.child, a.n, a.one_dtype, a.device, a.out)
        return
    if a.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise SystemExit(f"--device {a.device}: this torch ({torch.__version__}) sees no CUDA GPU")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from harness import machine

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in [int(x) for x in a.runs.split(",")]:
            for dtype in (a.dtype if n <= 100_000 else a.big_dtype).split(","):
                for side in a.sides.split(","):
                    r = measure(side, n, dtype, a.device, a.cap_gb, tmp, a.timeout)
                    rows.append(r)
                    shown = (f"{r['seconds']:8.2f} s  peak {r['peak_mb']:8.0f} MB" if r["ok"] else f"failed: {r['error']}")
                    print(f"{side:<8} {n:>9,} runs {dtype}: {shown}   (load {r['load']})", flush=True)
                got = {r["side"]: r for r in rows if r["runs"] == n and r["dtype"] == dtype and r["ok"]}
                if len(got) == 2:
                    agree = agreement(Path(got["animopt"]["final"]), Path(got["jax"]["final"]))
                    got["animopt"]["vs_jax"] = agree
                    print(f"         animopt vs jax final loss: {agree}", flush=True)
            for side in a.sides.split(","):
                got = {r["dtype"]: r for r in rows if r["runs"] == n and r["side"] == side and r["ok"]}
                if "float32" in got and "float64" in got:
                    agree = agreement(Path(got["float32"]["final"]), Path(got["float64"]["final"]))
                    got["float32"]["vs_float64"] = agree
                    print(f"         {side} float32 vs float64 final loss: {agree}", flush=True)
    for r in rows:
        r.pop("final", None)
    import jax
    import optax
    import torch

    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": {**machine(), "torch": torch.__version__,
              "jax": jax.__version__, "optax": optax.__version__}, "rows": rows}
    if not a.no_save:
        RESULT.parent.mkdir(parents=True, exist_ok=True)
        RESULT.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
