"""Memory stays flat: a 10,000-frame scene (800x600, MP4 and GIF) rendered while the resident memory
of the render process and its ffmpeg children is sampled; the peak of their sum must stay under 500 MB.

    python benchmarks/memory.py [--frames 10000] [--one-graph 1000]

`--one-graph N` also measures, for comparison, ffmpeg's peak with the palette made in the same filter
graph as the GIF (split, palettegen, paletteuse) over N frames: it holds every frame until the end.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness import ROOT, load, save

SCENE = """
title = "Ten thousand frames"
seed = 3
[problem]
type = "line"
a = 1.5
b = -28.0
n = 100
noise = 2.0
[train]
steps = 10000
init = [0.0, 0.0]
[[optimizer]]
type = "sgd"
lr = 0.001
[[optimizer]]
type = "sgd"
label = "Momentum"
lr = 0.001
momentum = 0.9
[[optimizer]]
type = "adam"
lr = 0.05
[render]
views = ["fit_line", "loss"]
fps = 30
frames = {frames}
size = [{w}, {h}]
formats = [{formats}]
"""


def tree_rss(root: int) -> dict[int, int]:
    """Resident bytes of `root` and its descendants, from /proc."""
    parents, rss = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            pages = int(Path(f"/proc/{d}/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents[int(d)] = ppid
        rss[int(d)] = pages * os.sysconf("SC_PAGE_SIZE")
    keep = {root}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in keep and pid not in keep:
                keep.add(pid)
                changed = True
    return {p: rss[p] for p in keep if p in rss}


class Sampler(threading.Thread):
    def __init__(self, pid: int, every: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_sum, self.peak_each, self.samples = 0, {}, 0
        self.stop = False

    def run(self):
        while not self.stop:
            r = tree_rss(self.pid)
            if r:
                self.samples += 1
                self.peak_sum = max(self.peak_sum, sum(r.values()))
                for p, v in r.items():
                    self.peak_each[p] = max(self.peak_each.get(p, 0), v)
            time.sleep(self.every)


def measure(cmd: list[str], **kw) -> tuple[float, Sampler, int]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, **kw)
    s = Sampler(proc.pid)
    s.start()
    code = proc.wait()
    s.stop = True
    s.join()
    return time.perf_counter() - t0, s, code


def one_graph(n: int, tmp: Path) -> tuple[float, int]:
    """ffmpeg's peak RSS for a GIF whose palette is made in the same graph (the naive way)."""
    from animopt.encode import ffmpeg_exe

    w, h = 800, 600
    frame = bytes(range(256)) * (w * h * 4 // 256)
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgba",
           "-s", f"{w}x{h}", "-framerate", "25", "-i", "pipe:", "-filter_complex",
           "[0:v]split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse", str(tmp / "naive.gif")]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    s = Sampler(proc.pid)
    s.start()
    for _ in range(n):
        proc.stdin.write(frame)
    proc.stdin.close()
    proc.wait()
    s.stop = True
    s.join()
    return s.peak_sum / 1e6, proc.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=10000)
    ap.add_argument("--one-graph", type=int, default=0, metavar="N")
    ap.add_argument("--size", default="800x600")
    ap.add_argument("--formats", default="mp4,gif")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scene = tmp / "long.toml"
        w, h = map(int, args.size.split("x"))
        fmts = args.formats.split(",")
        scene.write_text(SCENE.format(frames=args.frames, w=w, h=h, formats=", ".join(f'"{f}"' for f in fmts)))
        code = ("import sys, animopt; s = animopt.load_scene(sys.argv[1]); "
                "print([str(p) for p in animopt.render(s, sys.argv[2])])")
        ld0 = load()
        print(f"{args.frames} frames, {args.size}, {' + '.join(fmts)}; load {ld0}", flush=True)
        secs, s, rc = measure([sys.executable, "-c", code, str(scene), str(tmp)], cwd=ROOT)
        assert rc == 0, f"render failed ({rc})"
        ld = f"{min(ld0, load()):.1f}-{max(ld0, load()):.1f}"
        peak = s.peak_sum / 1e6
        each = sorted((v / 1e6 for v in s.peak_each.values()), reverse=True)
        import imageio.v3 as iio

        from PIL import Image

        n_mp4 = n_gif = 0
        if "mp4" in fmts:
            n_mp4 = sum(1 for _ in iio.imiter(tmp / "long.mp4"))
        if "gif" in fmts:
            with Image.open(tmp / "long.gif") as im:
                n_gif = im.n_frames
        print(f"rendered in {secs:.1f} s: mp4 {n_mp4} frames, gif {n_gif} frames; peak of the summed RSS "
              f"{peak:.0f} MB over {s.samples} samples (per process peaks: "
              + ", ".join(f"{v:.0f}" for v in each) + " MB)")
        rows = [[f"memory: {args.frames:,} frames {args.size}, {' + '.join(fmts)}, peak RSS (render + ffmpeg)",
                 f"**{peak:.0f} MB** ({secs:.0f} s)", "< 500 MB", peak < 500]]
        if args.one_graph:
            naive, rc = one_graph(args.one_graph, tmp)
            print(f"one-graph GIF (split + palettegen + paletteuse) over {args.one_graph} frames: ffmpeg peak "
                  f"{naive:.0f} MB (exit {rc})")
            rows.append([f"memory: one-graph palettegen GIF, {args.one_graph:,} frames 800x600 (not used)",
                         f"{naive:.0f} MB", "", None])
        save("memory", {"load": ld, "seconds": secs, "peak_mb": peak, "per_process_mb": each, "rows": rows})


if __name__ == "__main__":
    main()
