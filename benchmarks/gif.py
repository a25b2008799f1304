"""Benchmark 3: a GIF of the contour scene (600x450, 15 fps, 20 s), animopt against matplotlib's
`FuncAnimation.save` with `PillowWriter`: time, size, quality and duration.

    python benchmarks/gif.py

Quality is the PSNR of the decoded GIF frames against the RGB frames each side drew (all frames
pooled); duration is the sum of the GIF's frame delays against the 20 s asked for.
"""
from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np

from harness import BENCH, Timer, func_animation, load, save


class KeepingPillowWriter:
    """matplotlib's PillowWriter, keeping its RGBA frames for the quality figure."""

    def __new__(cls, fps):
        from matplotlib.animation import PillowWriter

        class Writer(PillowWriter):
            kept = None

            def finish(self):
                Writer.kept = list(self._frames)
                super().finish()

        return Writer(fps=fps)


def pillow_save(scene, h, path: Path):
    from animopt.layout import Canvas
    from animopt.renderer import timeline

    r = scene.render
    with Canvas(r, h, scene.title, timeline(scene, h)) as canvas:
        anim = func_animation(scene, h, canvas)
        writer = KeepingPillowWriter(r.fps)
        anim.save(str(path), writer=writer, dpi=r.dpi)
        return [np.asarray(f.convert("RGB")) for f in type(writer).kept]


def animopt_reference(scene, h) -> list[np.ndarray]:
    """The RGB frames animopt's GIF shows, drawn the same way (blitting) and kept."""
    from animopt.encode import gif_rate, pick_frames
    from animopt.layout import Canvas
    from animopt.renderer import timeline

    r = scene.render
    steps = timeline(scene, h)
    idx = pick_frames(len(steps), r.fps, gif_rate(r.fps, r.gif_fps, len(steps) / r.fps))
    with Canvas(r, h, scene.title, steps) as canvas:
        return [canvas.rgb(int(steps[i])) for i in idx]


def decode(path: Path) -> tuple[list[np.ndarray], list[int]]:
    from PIL import Image

    frames, delays = [], []
    with Image.open(path) as im:
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")))
            delays.append(int(im.info.get("duration", 0)))
    return frames, delays


def psnr(gif: Path, reference: list[np.ndarray]) -> float:
    """Source frame i is compared with the decoded frame on screen at the middle of its slot (a
    writer may merge identical frames into one with a longer delay)."""
    frames, delays = decode(gif)
    ends = np.cumsum(delays)
    slot = ends[-1] / len(reference)
    se, count = 0.0, 0
    for i, ref in enumerate(reference):
        k = min(int(np.searchsorted(ends, (i + 0.5) * slot, side="right")), len(frames) - 1)
        d = frames[k].astype(np.float64) - ref.astype(np.float64)
        se += float((d * d).sum())
        count += d.size
    mse = se / count
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--repeat-pillow", type=int, default=3)
    args = ap.parse_args()

    import animopt

    scene = animopt.load_scene(BENCH / "scenes" / "contour_gif.toml")
    h = animopt.simulate(scene)
    r = scene.render
    print(f"contour GIF: {r.size[0]}x{r.size[1]}, {r.fps:g} fps, {r.duration:g} s, load {load()}")
    t = Timer()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ours, theirs = tmp / f"{scene.name}.gif", tmp / "pillow.gif"
        pillow_frames = None
        for i in range(max(args.repeat, args.repeat_pillow)):
            if i < args.repeat:
                t.run("animopt", lambda: animopt.render(scene, tmp, formats=["gif"], history=h))
            if i < args.repeat_pillow:
                pillow_frames = t.run("FuncAnimation.save + PillowWriter", lambda: pillow_save(scene, h, theirs))
        sizes = ours.stat().st_size, theirs.stat().st_size
        q = psnr(ours, animopt_reference(scene, h)), psnr(theirs, pillow_frames)
        dur = sum(decode(ours)[1]) / 1000, sum(decode(theirs)[1]) / 1000
        counts = len(decode(ours)[0]), len(decode(theirs)[0])
    a, p = t.median("animopt"), t.median("FuncAnimation.save + PillowWriter")
    speed, ratio = p / a, sizes[0] / sizes[1]
    print(f"medians: animopt {a:.2f} s, PillowWriter {p:.2f} s ({speed:.1f}x, target 9x)")
    print(f"size: animopt {sizes[0] / 1e3:.0f} kB, PillowWriter {sizes[1] / 1e3:.0f} kB ({ratio:.2f}, target <= 0.2)")
    print(f"PSNR: animopt {q[0]:.1f} dB, PillowWriter {q[1]:.1f} dB")
    print(f"duration: animopt {dur[0]:.2f} s in {counts[0]} frames, PillowWriter {dur[1]:.2f} s in {counts[1]} "
          f"frames (asked: {r.duration:g} s)")
    ld = f"{min(t.loads):.1f}-{max(t.loads):.1f}"
    rows = [
        ["3. GIF: PillowWriter / animopt time", f"{p:.2f} s / {a:.2f} s = **{speed:.1f}x**", ">= 9x", speed >= 9],
        ["3. GIF: animopt / PillowWriter size", f"{sizes[0] / 1e3:.0f} kB / {sizes[1] / 1e3:.0f} kB = **{ratio:.2f}**",
         "<= 0.20", ratio <= 0.2],
        ["3. GIF: PSNR animopt, PillowWriter", f"{q[0]:.1f} dB, {q[1]:.1f} dB", "animopt >= PillowWriter",
         q[0] >= q[1]],
        ["3. GIF: duration animopt, PillowWriter", f"{dur[0]:.2f} s, {dur[1]:.2f} s", f"{r.duration:g} s",
         abs(dur[0] - r.duration) < 1e-9],
    ]
    save("3_gif", {"load": ld, "times": t.times, "sizes": sizes, "psnr": q, "durations": dur, "frames": counts,
                   "rows": rows})


if __name__ == "__main__":
    main()
