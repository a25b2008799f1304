"""Where the time of one contour render goes (benchmark 1's scene): cProfile of the main thread, and
the CPU time of the process (main thread, writer threads) and of ffmpeg.

    python benchmarks/profile_render.py [--top 25]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import tempfile
import time

from harness import BENCH, load


def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime, c.ru_utime + c.ru_stime, time.thread_time()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()

    import animopt

    scene = animopt.load_scene(BENCH / "scenes" / "contour.toml")
    h = animopt.simulate(scene)
    with tempfile.TemporaryDirectory() as tmp:
        animopt.render(scene, tmp, history=h)                  # warm caches (fonts, imports)
        c0, t0 = cpu(), time.perf_counter()
        animopt.render(scene, tmp, history=h)
        c1, wall = cpu(), time.perf_counter() - t0
        print(f"one render, not profiled: wall {wall:.2f} s; CPU: main thread {c1[2] - c0[2]:.2f} s, writer "
              f"threads {c1[0] - c0[0] - (c1[2] - c0[2]):.2f} s, ffmpeg {c1[1] - c0[1]:.2f} s; load {load()}")
        pr = cProfile.Profile(time.thread_time)              # CPU time of the main thread
        pr.enable()
        animopt.render(scene, tmp, history=h)
        pr.disable()
    out = io.StringIO()
    st = pstats.Stats(pr, stream=out)
    st.sort_stats("cumulative").print_stats(args.top)
    st.sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
