"""Benchmark 4: a 2,500-run sweep (50 learning rates x 50 momenta, SGD on a linear model, 100 steps).

    python benchmarks/sweep.py [--repeats 5] [--loop-repeats 3]

animopt simulates the whole grid as one batched computation (parse the scene + `simulate`, giving the
full History); the reference is what a user would write: a Python loop over the grid, a fresh
torch.optim.SGD per point, 100 `zero_grad / backward / step` each, then the final loss. Both run in this
process (imports and one warm-up call excluded), alternately; medians are compared, and every run's final
loss must agree. The result goes to benchmarks/results/4_sweep.json and the "Sweep" section of
benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import animopt  # noqa: E402
from animopt.scene import parse_scene  # noqa: E402
from harness import machine  # noqa: E402  (benchmarks/harness.py: the machine, as the other benchmarks record it)

TARGET = 300.0
STEPS = 100
RESULT = ROOT / "benchmarks" / "results" / "4_sweep.json"
SCENE = f"""
title = "50 learning rates x 50 momenta"
seed = 7

[problem]
type = "line"          # y = a*x + b, 30 points, x uniform in [-10, 10)
a = 1.5
b = -28.0
n = 30
noise = 1.0

[train]
steps = {STEPS}        # full batch
init = [1.0, 1.0]

[[optimizer]]
type = "sgd"
lr = {{ from = 1e-4, to = 1e-2, num = 50, scale = "log" }}
momentum = {{ from = 0.0, to = 0.95, num = 50 }}
"""


def batched():
    return animopt.simulate(parse_scene(SCENE))


def torch_loop(x: np.ndarray, y: np.ndarray, grid: list[tuple[float, float]], init=(1.0, 1.0)) -> np.ndarray:
    """The usual way: one model and one optimizer per grid point, trained one after the other."""
    xt = torch.as_tensor(x, dtype=torch.float64)
    yt = torch.as_tensor(y, dtype=torch.float64)
    final = []
    for lr, momentum in grid:
        a = torch.tensor(init[0], dtype=torch.float64, requires_grad=True)
        b = torch.tensor(init[1], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([a, b], lr=lr, momentum=momentum)
        for _ in range(STEPS):
            opt.zero_grad()
            loss = ((a * xt + b - yt) ** 2).mean()
            loss.backward()
            opt.step()
        with torch.no_grad():
            final.append(float(((a * xt + b - yt) ** 2).mean()))
    return np.array(final)


def timed(times: dict, cpu: dict, side: str, fn):
    """Wall-clock seconds (what is compared) and this process's CPU seconds (what the other agents on
    the machine cannot take away) of one call."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    times.setdefault(side, []).append(dt)
    cpu.setdefault(side, []).append(dc)
    print(f"  {side:<22} {dt:9.3f} s wall {dc:9.3f} s cpu   (load {os.getloadavg()[0]:.2f})", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7, help="timed runs of the batched side")
    ap.add_argument("--loop-repeats", type=int, default=3, help="timed runs of the torch.optim loop")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads (default 1: the loop's tiny tensors use one anyway, and on a "
                         "shared 2-core machine a second thread mostly waits)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave results and README alone")
    ap.add_argument("--readme-only", action="store_true",
                    help="rewrite the README section from benchmarks/results/4_sweep.json, without measuring")
    args = ap.parse_args()
    if args.readme_only:
        _readme(json.loads(RESULT.read_text()))
        return
    torch.set_num_threads(args.threads)

    h = batched()                                   # warm-up; also gives the grid and the data
    grid = list(zip(h.hparams["lr"].tolist(), h.hparams["momentum"].tolist()))
    x, y = h.problem.data["x"], h.problem.data["y"]
    assert len(grid) == 2500 and h.steps == STEPS
    torch_loop(x, y, grid[:20])                     # warm-up of torch.optim

    times: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    loads = []
    ref = None
    for i in range(max(args.repeats, args.loop_repeats)):
        loads.append(os.getloadavg()[0])
        if i < args.repeats:
            h = timed(times, cpu, "animopt (batched)", batched)
        if i < args.loop_repeats:
            ref = timed(times, cpu, "torch.optim loop", lambda: torch_loop(x, y, grid))
    ours = h.loss[-1]
    rel = np.abs(ours - ref) / np.abs(ref)
    t_ours, t_loop = statistics.median(times["animopt (batched)"]), statistics.median(times["torch.optim loop"])
    speedup = t_loop / t_ours
    c_ours, c_loop = statistics.median(cpu["animopt (batched)"]), statistics.median(cpu["torch.optim loop"])
    print(f"runs {len(grid)}, steps {STEPS}; median: batched {t_ours * 1e3:.1f} ms, loop {t_loop:.2f} s "
          f"({t_loop / len(grid) / STEPS * 1e6:.0f} us per optimizer step) -> {speedup:.0f}x "
          f"(target {TARGET:.0f}x); final losses: max relative difference {rel.max():.1e}, "
          f"diverged runs {int((h.diverged_at >= 0).sum())}; CPU time: {c_ours * 1e3:.1f} ms vs {c_loop:.2f} s "
          f"-> {c_loop / c_ours:.0f}x")
    if args.no_write:
        return
    result = {
        "benchmark": "4_sweep", "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": {**machine(), "torch": torch.__version__, "torch_threads": torch.get_num_threads()},
        "runs": len(grid), "steps": STEPS, "times_s": times, "cpu_s": cpu, "median_batched_s": t_ours,
        "median_loop_s": t_loop, "speedup": speedup, "cpu_speedup": c_loop / c_ours, "target": TARGET, "met": speedup >= TARGET,
        "final_loss_max_rel_diff": float(rel.max()), "load": [round(v, 2) for v in loads],
    }
    RESULT.parent.mkdir(exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=1) + "\n")
    _readme(result)
    print(f"wrote {RESULT.relative_to(ROOT)} and the Sweep section of benchmarks/README.md")


START, END = "<!-- sweep-benchmark:start -->", "<!-- sweep-benchmark:end -->"


def _readme(r: dict) -> None:
    """Rewrites only the Sweep section (between its markers) of benchmarks/README.md."""
    m = r["machine"]
    tb, tl = r["times_s"]["animopt (batched)"], r["times_s"]["torch.optim loop"]
    body = "\n".join([
        "",
        "`python benchmarks/sweep.py`: SGD on a linear model (`line`, 30 points, full batch), 50 learning rates",
        "(1e-4 to 1e-2, log) x 50 momenta (0 to 0.95) = 2,500 runs of 100 steps, float64. animopt parses the scene",
        "and simulates every run as one batched computation (the full History: parameters, gradients, updates,",
        "losses); the reference is a Python loop of torch.optim.SGD runs, one per grid point, as a user would",
        "write it. Both timed in the same process, alternately, imports and a warm-up excluded; medians. One",
        "torch thread (`--threads`): the loop's scalar tensors use one anyway, and on this shared 2-core machine",
        "a second thread mostly waits for a core. CPU time of the process is shown too: the other agents on the",
        "machine stretch wall-clock times (the loop's runs vary by 2x), much less the CPU time.",
        "",
        "Where the batched time goes (about 100 ms): 70 ms in the 100 steps (per step: `line`'s closed-form",
        "loss and gradient over 2,500 x 30 points, the momentum update, divergence checks, the History rows),",
        "20 ms planning (2,500 runs, their labels and learning-rate tables), 10 ms building the History.",
        "With autograd instead of the closed-form gradient (a problem without `loss_and_grad`) the batched",
        "side took about 155 ms of CPU time, about 330x.",
        "",
        "| measure | value | target | met |",
        "|---|---|---|---|",
        f"| animopt, 2,500 runs batched | {r['median_batched_s'] * 1e3:.0f} ms (runs: "
        + ", ".join(f"{t * 1e3:.0f}" for t in tb) + ") | | |",
        f"| torch.optim loop, 2,500 runs | {r['median_loop_s']:.1f} s (runs: " + ", ".join(f"{t:.1f}" for t in tl)
        + f"; {r['median_loop_s'] / r['runs'] / r['steps'] * 1e6:.0f} us per step) | | |",
        f"| speed-up (wall clock) | {r['speedup']:.0f}x | >= {r['target']:.0f}x | {'yes' if r['met'] else '**no**'} |",
        f"| speed-up (CPU time of the process) | {r['cpu_speedup']:.0f}x | | |",
        f"| final losses, max relative difference | {r['final_loss_max_rel_diff']:.1e} | same | "
        f"{'yes' if r['final_loss_max_rel_diff'] < 1e-9 else '**no**'} |",
        "",
        f"Measured {r['date']} on {m['cpu']}, {m['cores']} cores shared with other agents (1-minute load "
        f"average {min(r['load']):.1f} to {max(r['load']):.1f}), Python {m['python']}, torch {m['torch']} "
        f"(torch threads: {m['torch_threads']}).",
        "",
    ])
    path = ROOT / "benchmarks" / "README.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        a, b = text.index(START) + len(START), text.index(END)
        text = text[:a] + body + text[b:]
    else:
        text = text.rstrip("\n") + f"\n\n## Sweep\n\n{START}{body}{END}\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
