"""Shared pieces of the render benchmarks: timing, the machine, results files, the README table.

Each benchmark writes `benchmarks/results/<name>.json`; `python benchmarks/harness.py` rewrites the
table between the render-benchmark markers of benchmarks/README.md from those files.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results"
sys.path.insert(0, str(ROOT))


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import matplotlib
    import numpy

    from animopt.encode import ffmpeg_exe

    ff = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "matplotlib": matplotlib.__version__, "numpy": numpy.__version__,
            "ffmpeg": " ".join(ff.split()[:3])}


def load() -> float:
    """The 1-minute load average (other agents share the machine's cores)."""
    return round(os.getloadavg()[0], 2)


class Timer:
    """Wall-clock seconds of each repetition, by side; the load average around each."""

    def __init__(self):
        self.times: dict[str, list[float]] = {}
        self.loads: list[float] = []

    def run(self, side: str, fn):
        self.loads.append(load())
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        self.times.setdefault(side, []).append(dt)
        print(f"  {side:<28} {dt:8.3f} s   (load {self.loads[-1]})", flush=True)
        return out

    def median(self, side: str) -> float:
        return statistics.median(self.times[side])


def save(name: str, result: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    result = {"benchmark": name, "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), **result}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")
    return path


START, END = "<!-- render-benchmarks:start -->", "<!-- render-benchmarks:end -->"


def table() -> str:
    rows = []
    machines: dict[str, list[str]] = {}      # the machine's line -> the benchmarks measured on it
    for f in sorted(RESULTS.glob("*.json")):
        r = json.loads(f.read_text())
        if "rows" not in r or "machine" not in r:
            continue                     # another benchmark's file
        for line in r["rows"]:
            if len(line) != 4:           # a table of its own (sweep_scale: runs x sides), in its section
                continue
            rows.append((r.get("benchmark", f.stem), r.get("date", ""), r.get("load", ""), *line))
        m = r["machine"]
        text = (f"{m['cpu']}, {m['cores']} cores (shared with other agents: see the load column, the 1-minute "
                f"load average while measuring); Python {m['python']}, matplotlib {m['matplotlib']}, "
                f"numpy {m['numpy']}, {m['ffmpeg']}.")
        machines.setdefault(text, []).append(f.stem)
    out = ["| measure | value | target | met | date | load |", "|---|---|---|---|---|---|"]
    for _, date, ld, measure, value, target, met in rows:
        mark = "" if met is None else ("yes" if met else "**no**")
        out.append(f"| {measure} | {value} | {target} | {mark} | {date} | {ld} |")
    for text, names in machines.items():
        out.append("")
        out.append(f"Machine ({', '.join(names)}): {text}" if len(machines) > 1 else f"Machine: {text}")
    return "\n".join(out)


def update_readme() -> None:
    readme = BENCH / "README.md"
    text = readme.read_text()
    a, b = text.index(START) + len(START), text.index(END)
    readme.write_text(text[:a] + "\n" + table() + "\n" + text[b:])
    print(f"updated {readme.relative_to(ROOT)}")


if __name__ == "__main__":
    update_readme()


def func_animation(scene, h, canvas):
    """The usual matplotlib way on animopt's own figure: every artist drawn in full each frame (nothing
    animated, the counter as plain text), and a FuncAnimation over the clip's steps."""
    from matplotlib.animation import FuncAnimation

    from animopt.renderer import timeline

    fig = canvas.fig
    for a in canvas.artists:
        a.set_animated(False)
    text = fig.text(0.985, 0.975, "", ha="right", va="top", color=canvas.theme.muted,
                    fontsize=canvas.theme.font_size, family="DejaVu Sans Mono")

    def update(step):
        for v in canvas.views:
            v.update(step)
        text.set_text(canvas.step_text(step))

    steps = timeline(scene, h)
    return FuncAnimation(fig, update, frames=[int(s) for s in steps], repeat=False, cache_frame_data=False)
