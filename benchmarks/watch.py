"""Issue 11's `animopt watch` target: the still is rewritten within 0.5 s of saving line_fit.toml.

`python benchmarks/watch.py [--rounds 5]`: copies scenes/line_fit.toml (and its data) into a temporary
folder, starts `animopt watch COPY -o still.png` as a user would (its own process, the cache in a temporary
folder), waits for the first still, then saves the scene `--rounds` times with an edit to `[render]` (the
title: the simulation reused from the cache) and times each save to the moment the still is rewritten
(the PNG replaced: its inode and mtime change). With watchfiles installed the watch is told of the save;
without, it polls (`--poll` forces polling). Medians; writes results/8_watch.json.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import ROOT, load, save  # noqa: E402

SCENE = ROOT / "scenes" / "line_fit.toml"


def stamp(path: Path):
    try:
        st = os.stat(path)
        return st.st_ino, st.st_mtime_ns, st.st_size
    except OSError:
        return None


def wait_change(path: Path, before, timeout: float = 30.0) -> float:
    """Seconds until `path` differs from `before` (polled every 2 ms)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        now = stamp(path)
        if now is not None and now != before:
            return time.perf_counter() - t0
        time.sleep(0.002)
    raise TimeoutError(f"{path} was not rewritten within {timeout} s")


def rounds(poll: bool, n: int) -> list[float]:
    tmp = Path(tempfile.mkdtemp(prefix="animopt-watch-"))
    try:
        shutil.copytree(SCENE.parent / "data", tmp / "data")
        scene, still = tmp / "line_fit.toml", tmp / "still.png"
        text = SCENE.read_text()
        scene.write_text(text)
        env = {**os.environ, "ANIMOPT_CACHE_DIR": str(tmp / "cache"), "MPLBACKEND": "Agg"}
        cmd = [sys.executable, "-m", "animopt", "watch", str(scene), "-o", str(still)] + (["--poll"] if poll else [])
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_change(still, None, timeout=120)
            time.sleep(1.0)                            # the first round's line printed, the watch armed
            out = []
            for i in range(n):
                before = stamp(still)
                scene.write_text(text.replace('title = "', f'title = "edit {i}: ', 1))
                out.append(wait_change(still, before))
                print(f"  {'polling' if poll else 'watchfiles'} save {i + 1}: still rewritten after {out[-1]:.3f} s "
                      f"(load {load()})", flush=True)
                time.sleep(0.5)
            return out
        finally:
            proc.send_signal(signal.SIGINT)
            log = proc.communicate(timeout=30)[0]
            print("  " + "\n  ".join(log.strip().splitlines()[-3:]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--poll", action="store_true", help="measure only the polling watch")
    args = ap.parse_args()
    try:
        import watchfiles  # noqa: F401
        kinds = [True] if args.poll else [False, True]
    except ImportError:
        kinds = [True]
    rows, loads = [], [load()]
    for poll in kinds:
        times = rounds(poll, args.rounds)
        loads.append(load())
        med = statistics.median(times)
        rows.append([f"watch: line_fit still rewritten after a save ({'polling' if poll else 'watchfiles'}; "
                     f"median of {len(times)})", f"**{med:.2f} s** (runs {min(times):.2f} to {max(times):.2f} s)",
                     "< 0.5 s", med < 0.5])
    for row in rows:
        print(" | ".join(str(x) for x in row))
    save("8_watch", {"rows": rows, "load": f"{min(loads):.1f}-{max(loads):.1f}"})


if __name__ == "__main__":
    main()
