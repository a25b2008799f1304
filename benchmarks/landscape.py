"""The landscape view's numbers: an 80 x 80 plane through the parameters of a 2 x 16 hidden-unit MLP on
200 points (target: under 2 s), evaluated batched over the grid.

`python benchmarks/landscape.py` simulates a small scene (moons, hidden [16, 16], SGD, momentum and Adam,
300 steps), then times, several times, alternately:
- what the `landscape` view computes before drawing: the PCA plane of the three paths and the true loss
  at the 6,400 grid points (`make_plane` + `grid_loss`, through ProblemInfo.loss_fn as the view does);
- the same 6,400 losses in a Python loop of torch.nn forward passes, one network per grid point (what a
  script would do without batching), on the first 400 points, scaled to 6,400.
Writes results/landscape.json and the section between the landscape markers of benchmarks/README.md.
"""
from __future__ import annotations

import statistics
import sys
import time

from harness import BENCH, Timer, load, machine, save

import numpy as np  # noqa: E402

SCENE = """seed = 1
[problem]
type = "mlp"
dataset = "moons"
n = 200
noise = 0.15
hidden = [16, 16]
activation = "tanh"
[train]
steps = 300
batch_size = 20
shuffle = true
[[optimizer]]
type = "sgd"
lr = 0.05
[[optimizer]]
type = "sgd"
lr = 0.05
momentum = 0.9
[[optimizer]]
type = "adam"
lr = 0.01
[render]
views = ["landscape"]
"""
RES = 80
REPS = 7
LOOP_POINTS = 400
START, END = "<!-- landscape-benchmark:start -->", "<!-- landscape-benchmark:end -->"


def main() -> None:
    import torch

    import animopt
    from animopt.scene import parse_scene
    from animopt.views.landscape import grid_loss, make_plane, plane_box

    h = animopt.simulate(parse_scene(SCENE))
    info = h.problem

    def batched():
        pl = make_plane(h, "pca", "mean")
        A, B, Z = grid_loss(info, pl, plane_box(h, pl.coords, None), RES)
        assert Z.shape == (RES, RES) and np.isfinite(Z).all()
        return pl, A, B, Z

    pl, A, B, Z = batched()
    pts = pl.center + A.reshape(-1, 1) * pl.D[0] + B.reshape(-1, 1) * pl.D[1]
    X, y = (torch.as_tensor(info.data[k]) for k in ("X", "y"))
    net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                              torch.nn.Linear(16, 2)).double()

    def loop():
        out = []
        with torch.no_grad():
            for p in pts[:LOOP_POINTS]:
                torch.nn.utils.vector_to_parameters(torch.as_tensor(p), net.parameters())
                out.append(float(torch.nn.functional.cross_entropy(net(X), y)))
        return np.array(out)

    ref = loop()
    diff = float(np.max(np.abs(ref - Z.ravel()[:LOOP_POINTS]) / np.abs(ref)))
    t = Timer()
    for _ in range(REPS):
        t.run("animopt landscape 80x80", batched)
        t.run(f"torch.nn loop, {LOOP_POINTS} points", loop)
    ours = t.median("animopt landscape 80x80")
    per = t.median(f"torch.nn loop, {LOOP_POINTS} points") / LOOP_POINTS
    result = {
        "grid": RES, "params": len(h.param_names), "points": int(len(y)), "torch_threads": torch.get_num_threads(),
        "times_s": t.times, "loads": t.loads, "median_s": ours, "loop_per_point_s": per,
        "loop_6400_estimate_s": per * RES * RES, "max_relative_difference": diff,
    }
    save("landscape", result)
    m = machine()
    section = (
        f"`python benchmarks/landscape.py`: the `landscape` view's numbers for an MLP with hidden [16, 16] "
        f"({len(h.param_names)} parameters, tanh) on 200 moons points: the PCA plane of three paths of 300 "
        f"steps and the true cross-entropy at {RES} x {RES} = {RES * RES:,} plane points, batched (each chunk "
        f"of grid points one batched forward pass through every point's own weights).\n\n"
        f"| measure | value | target |\n|---|---|---|\n"
        f"| plane + {RES}x{RES} loss grid (median of {REPS}; runs) | **{ours:.2f} s** "
        f"({', '.join(f'{x:.2f}' for x in t.times['animopt landscape 80x80'])}) | < 2 s "
        f"({'met' if ours < 2 else '**not met**'}) |\n"
        f"| torch.nn loop, one forward pass per grid point | {1e3 * per:.2f} ms a point, so about "
        f"{per * RES * RES:.1f} s for the grid ({per * RES * RES / ours:.0f}x slower) | |\n"
        f"| largest relative difference, batched vs loop ({LOOP_POINTS} points) | {diff:.1e} | |\n"
        f"| measured (1-minute load average) | {time.strftime('%Y-%m-%d %H:%M')} "
        f"({min(t.loads):.1f} to {max(t.loads):.1f}) | |\n\n"
        f"Machine: {m['cpu']}, {m['cores']} cores shared with other agents, Python {m['python']}, "
        f"torch {torch.__version__} (the grid evaluated on one torch thread: mlp.one_thread), numpy {m['numpy']}.")
    readme = BENCH / "README.md"
    text = readme.read_text()
    if START not in text:
        text = text.rstrip("\n") + f"\n\n## Landscape\n\n{START}\n{END}\n"
    a, b = text.index(START) + len(START), text.index(END)
    readme.write_text(text[:a] + "\n" + section + "\n" + text[b:])
    print(f"updated {readme.relative_to(BENCH.parent)}; load now {load()}")


if __name__ == "__main__":
    sys.exit(main())
