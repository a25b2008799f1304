"""Frame speed of the million-run heat map (issue 12) against the bundled small heat maps at the same size.

    python benchmarks/heatmap_frames.py [--rounds 5] [--frames 0] [--profile]

Each scene is simulated once (the million-run one is kept as an `.npz` in the temp folder by the
simulation cache, animopt.cache, and read back on later runs), drawn at 960x720, and its canvas built
once; then the clips' frames (`Canvas.frame` over each scene's own timeline, or `--frames` of them evenly
spaced) are drawn side by side, one scene after the other, `--rounds` times. Printed: the median and mean
time of a frame for each scene, its frame rate, and each scene's median as a ratio of the small one's.
`--profile` adds a cProfile of one round of the million-run frames.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import tempfile
import time
from pathlib import Path

from harness import BENCH, ROOT, load

SIZE = [960, 720]
SCENES = {"small (lr_momentum_heatmap)": ROOT / "scenes" / "lr_momentum_heatmap.toml",
          "small (keras_heatmap)": ROOT / "scenes" / "keras_heatmap.toml",
          "million (heatmap_million)": BENCH / "scenes" / "heatmap_million.toml"}
CACHE = Path(tempfile.gettempdir()) / "animopt-heatmap-frames"


def history(scene, cached: bool):
    """The scene's History; the million-run one through the simulation cache in a temp folder."""
    import animopt
    from animopt import cache

    if not cached:
        return animopt.simulate(scene)
    os.environ["ANIMOPT_CACHE_DIR"] = str(CACHE)
    os.environ.setdefault("ANIMOPT_CACHE_MB", "4096")
    t0 = time.perf_counter()
    h = cache.history(scene, notes=lambda s: print(f"  {s}"))
    print(f"  million-run History: {time.perf_counter() - t0:.1f} s (cache: {CACHE})")
    return h


def frames_of(steps, n: int) -> list[int]:
    """The clip's steps, or `n` of them evenly spaced (in order: a still going back redraws the background)."""
    steps = [int(s) for s in steps]
    if n <= 0 or n >= len(steps):
        return steps
    return [steps[round(i * (len(steps) - 1) / (n - 1))] for i in range(n)]


def draw(canvas, steps: list[int]) -> list[float]:
    """Seconds of each frame but the first (it starts the clip over and captures the background)."""
    canvas.frame(steps[0], 0)
    out = []
    for i, s in enumerate(steps[1:], 1):
        t0 = time.perf_counter()
        canvas.frame(s, i)
        out.append(time.perf_counter() - t0)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--frames", type=int, default=0, help="frames of each clip (0: all of its timeline)")
    ap.add_argument("--profile", action="store_true", help="cProfile one round of the million-run frames")
    args = ap.parse_args()

    import animopt
    from animopt.renderer import open_canvas, timeline

    canvases, steps = {}, {}
    try:
        for name, path in SCENES.items():
            scene = animopt.load_scene(path, overrides={"render.size": SIZE})
            h = history(scene, cached="million" in name)
            steps[name] = frames_of(timeline(scene, h), args.frames)
            canvases[name] = open_canvas(scene, h, timeline(scene, h))
        times = {name: [] for name in SCENES}
        for r in range(args.rounds):
            for name, canvas in canvases.items():
                times[name] += draw(canvas, steps[name])
            print(f"  round {r + 1}/{args.rounds}: load {load()}", flush=True)
        report(times, steps)
        if args.profile:
            profile(canvases["million (heatmap_million)"], steps["million (heatmap_million)"])
    finally:
        for canvas in canvases.values():
            canvas.close()


def report(times: dict, steps: dict) -> None:
    base = statistics.median(times["small (lr_momentum_heatmap)"])
    print(f"\n{'scene at 960x720':<28} {'frames':>6} {'median ms':>10} {'mean ms':>8} {'fps':>6} {'x small':>8}")
    for name, t in times.items():
        med = statistics.median(t)
        print(f"{name:<28} {len(steps[name]):>6} {med * 1e3:>10.2f} {statistics.fmean(t) * 1e3:>8.2f} "
              f"{1 / med:>6.0f} {med / base:>8.2f}")
    print(f"load average: {open('/proc/loadavg').read().strip()}")


def profile(canvas, steps: list[int], top: int = 25) -> None:
    pr = cProfile.Profile()
    canvas.frame(steps[0], 0)
    pr.enable()
    for i, s in enumerate(steps[1:], 1):
        canvas.frame(s, i)
    pr.disable()
    out = io.StringIO()
    st = pstats.Stats(pr, stream=out)
    st.sort_stats("tottime").print_stats(top)
    st.sort_stats("cumulative").print_stats(top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
