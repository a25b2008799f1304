"""Benchmark 5: every bundled scene rendered with `-j 2` against `-j 1` (the CLI, forced re-render).

    python benchmarks/batch.py [--repeat 2]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import ROOT, Timer, load, save


def render(jobs: int, out: Path) -> None:
    cmd = [sys.executable, "-m", "animopt.cli", "render", str(ROOT / "scenes"), "-o", str(out), "-j", str(jobs),
           "--force", "-q"]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"render -j {jobs} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    scenes = sorted((ROOT / "scenes").glob("*.toml"))
    print(f"{len(scenes)} bundled scenes, load {load()}")
    t = Timer()
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            t.run("-j 1", lambda: render(1, Path(tmp) / "j1"))
            t.run("-j 2", lambda: render(2, Path(tmp) / "j2"))
    one, two = t.median("-j 1"), t.median("-j 2")
    print(f"medians: -j 1 {one:.1f} s, -j 2 {two:.1f} s: {one / two:.2f}x")
    ld = f"{min(t.loads):.1f}-{max(t.loads):.1f}"
    rows = [[f"5. all {len(scenes)} bundled scenes: -j 1 / -j 2", f"{one:.1f} s / {two:.1f} s = **{one / two:.2f}x**",
             "", None]]
    save("5_batch", {"load": ld, "scenes": len(scenes), "times": t.times, "rows": rows})


if __name__ == "__main__":
    main()
