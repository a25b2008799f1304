"""Issue 11's whole-process figures: what an author waits for, imports included.

- `animopt validate scenes/` and `animopt list scenes/`: wall time and peak resident memory of the process,
  medians of `--runs` (targets: under 0.5 s and under 80 MB);
- the 300-frame contour clip (benchmarks/scenes/contour.toml, MP4) as `animopt render` in its own process,
  with a cold simulation cache (emptied before each run) and a warm one, against `FuncAnimation.save` +
  `FFMpegWriter` drawing the same picture in its own process (render_speed.matplotlib_save; targets 10x
  cold, 15x warm), the runs of each side alternating;
- peak memory of a 1280x720 MP4 + GIF render of that scene: the render process and its ffmpeg children
  together, sampled every 20 ms (target under 500 MB).

    python benchmarks/startup.py [--runs 5] [--reference-runs 1]

Writes results/6_startup.json (its rows join the table of benchmarks/README.md via harness.py).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import harness
from harness import ROOT, load, save

CONTOUR = ROOT / "benchmarks" / "scenes" / "contour.toml"
ANIMOPT = [sys.executable, "-m", "animopt.cli"]


def run_process(cmd: list[str], env: dict | None = None, tree: bool = False) -> tuple[float, float]:
    """(wall seconds, peak MB) of one process; `tree`: the process and its children sampled together."""
    t0 = time.perf_counter()
    if not tree:
        code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0           # the wrapper's own start is small next to what it measures
        if out.returncode:
            raise RuntimeError(f"{cmd}: {out.stderr[-2000:]}")
        return wall, int(out.stdout.split()[-1]) / 1024
    import psutil

    p = psutil.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]

    def sample():
        while p.poll() is None:
            try:
                procs = [p] + p.children(recursive=True)
                peak[0] = max(peak[0], sum(q.memory_info().rss for q in procs))
            except psutil.Error:
                pass
            time.sleep(0.02)

    th = threading.Thread(target=sample)
    th.start()
    err = p.communicate()[1]
    th.join()
    if p.returncode:
        raise RuntimeError(f"{cmd}: {err[-2000:]}")
    return time.perf_counter() - t0, peak[0] / 1e6


def reference_once(out: str) -> None:
    """One FuncAnimation.save of the contour scene, everything in this process (as a user's script)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import animopt
    from render_speed import matplotlib_save

    scene = animopt.load_scene(CONTOUR)
    matplotlib_save(scene, animopt.simulate(scene), Path(out))


def median(xs):
    return statistics.median(xs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--reference-runs", type=int, default=1)
    ap.add_argument("--reference-once", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reference_once:
        return reference_once(args.reference_once)
    tmp = Path(tempfile.mkdtemp(prefix="animopt-startup-"))
    env = {**os.environ, "ANIMOPT_CACHE_DIR": str(tmp / "cache"), "MPLBACKEND": "Agg"}
    loads, rows, figures = [], [], {}
    try:
        for name in ("validate", "list"):
            ts, ms = [], []
            for _ in range(args.runs):
                loads.append(load())
                t, m = run_process([*ANIMOPT, name, str(ROOT / "scenes")], env)
                ts.append(t)
                ms.append(m)
                print(f"  {name:<10} {t:6.2f} s {m:6.0f} MB (load {loads[-1]})", flush=True)
            figures[name] = (median(ts), median(ms))
            rows.append([f"startup: animopt {name} scenes/ (whole process, median of {args.runs})",
                         f"{median(ts):.2f} s, {median(ms):.0f} MB", "< 0.5 s, < 80 MB",
                         median(ts) < 0.5 and median(ms) < 80])
        render = [*ANIMOPT, "render", str(CONTOUR), "-o", str(tmp / "out"), "-f", "mp4", "--force", "-q"]
        cold, warm, ref = [], [], []
        for i in range(args.runs):
            shutil.rmtree(tmp / "cache", ignore_errors=True)
            loads.append(load())
            cold.append(run_process(render, env)[0])
            loads.append(load())
            warm.append(run_process(render, env)[0])
            print(f"  clip cold {cold[-1]:6.2f} s, warm {warm[-1]:6.2f} s (load {loads[-1]})", flush=True)
            if i < args.reference_runs:
                loads.append(load())
                ref.append(run_process([sys.executable, __file__, "--reference-once", str(tmp / "mpl.mp4")],
                                       env)[0])
                print(f"  FuncAnimation.save {ref[-1]:6.2f} s", flush=True)
        c, w, r = median(cold), median(warm), median(ref)
        rows.append([f"startup: contour clip, FuncAnimation.save / animopt render, cold cache (whole processes; "
                     f"{len(ref)} and {len(cold)} runs)", f"{r:.2f} s / {c:.2f} s = **{r / c:.1f}x**", ">= 10x",
                     r / c >= 10])
        rows.append(["startup: contour clip, FuncAnimation.save / animopt render, warm cache",
                     f"{r:.2f} s / {w:.2f} s = **{r / w:.1f}x**", ">= 15x", r / w >= 15])
        big = [*ANIMOPT, "render", str(CONTOUR), "-o", str(tmp / "out"), "-f", "mp4,gif", "--force", "-q",
               "--set", "render.size=[1280, 720]"]
        for state in ("cold", "warm"):
            if state == "cold":
                shutil.rmtree(tmp / "cache", ignore_errors=True)
            loads.append(load())
            t, peak = run_process(big, env, tree=True)
            rows.append([f"startup: contour clip 1280x720, mp4 + gif, peak RSS (render, its simulating child and "
                         f"ffmpeg together, {state} cache)", f"**{peak:.0f} MB** ({t:.1f} s)", "< 500 MB", peak < 500])
        for row in rows:
            print(" | ".join(str(x) for x in row))
        save("6_startup", {"rows": rows, "load": f"{min(loads):.1f}-{max(loads):.1f}",
                           "runs": {"cold": cold, "warm": warm, "reference": ref}})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
