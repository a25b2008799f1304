"""Benchmarks 1 and 2: an MP4 of a scene, animopt against `FuncAnimation.save` with `FFMpegWriter`.

    python benchmarks/render_speed.py contour     # 1: contour, 4 optimizers, 300 frames, 800x600
    python benchmarks/render_speed.py fit_line    # 2: fit_line, 100 points, 4 lines, 300 frames, 800x600

Both sides draw the same picture (the views of benchmarks/scenes/<name>.toml, built by animopt's Canvas)
from the same History, in this process, alternately, several times; medians are compared. Also timed:
the floor, ffmpeg alone encoding the same raw frames (drawn beforehand, held in memory) with the same
settings, and Agg alone drawing the frames without encoding.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from harness import BENCH, Timer, func_animation, load, save

TARGETS = {"contour": 15.0, "fit_line": 10.0}


def matplotlib_save(scene, h, path: Path) -> None:
    """The usual way: FuncAnimation redraws the whole figure for every frame, FFMpegWriter saves it."""
    import matplotlib
    from matplotlib.animation import FFMpegWriter

    from animopt.encode import ffmpeg_exe
    from animopt.layout import Canvas
    from animopt.renderer import timeline

    r = scene.render
    with Canvas(r, h, scene.title, timeline(scene, h)) as canvas:
        anim = func_animation(scene, h, canvas)
        matplotlib.rcParams["animation.ffmpeg_path"] = ffmpeg_exe()
        writer = FFMpegWriter(fps=r.fps, codec="libx264", extra_args=[
            "-pix_fmt", "yuv420p", "-crf", str(r.crf), "-preset", r.preset, "-movflags", "+faststart"])
        anim.save(str(path), writer=writer, dpi=r.dpi)


def raw_frames(scene, h) -> list[bytes]:
    from animopt.layout import Canvas
    from animopt.renderer import timeline

    steps = timeline(scene, h)
    with Canvas(scene.render, h, scene.title, steps) as canvas:
        return [bytes(canvas.frame(int(s))) for s in steps]


def ffmpeg_alone(scene, frames: list[bytes], path: Path) -> None:
    from animopt.encode import video_encoder

    r = scene.render
    enc = video_encoder({"mp4": path}, r.size, r.fps, len(frames), frames.__getitem__, r.crf, r.preset)
    for f in frames:
        enc.put(f)
    enc.finish()
    enc.commit()


def agg_alone(scene, h) -> None:
    from animopt.layout import Canvas
    from animopt.renderer import timeline

    steps = timeline(scene, h)
    with Canvas(scene.render, h, scene.title, steps) as canvas:
        for s in steps:
            canvas.frame(int(s))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("name", choices=sorted(TARGETS))
    ap.add_argument("--repeat", type=int, default=5, help="repetitions of the animopt side")
    ap.add_argument("--repeat-matplotlib", type=int, default=3)
    args = ap.parse_args()

    import imageio.v3 as iio

    import animopt

    scene = animopt.load_scene(BENCH / "scenes" / f"{args.name}.toml")
    h = animopt.simulate(scene)
    frames = raw_frames(scene, h)
    n = len(frames)
    print(f"{args.name}: {n} frames, {scene.render.size[0]}x{scene.render.size[1]}, {h.runs} runs, "
          f"load {load()}")
    t = Timer()
    loads0 = load()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i in range(max(args.repeat, args.repeat_matplotlib)):
            if i < args.repeat:
                t.run("animopt", lambda: animopt.render(scene, tmp, formats=["mp4"], history=h))
                t.run("ffmpeg alone (floor)", lambda: ffmpeg_alone(scene, frames, tmp / "floor.mp4"))
                t.run("Agg alone (drawing only)", lambda: agg_alone(scene, h))
            if i < args.repeat_matplotlib:
                t.run("FuncAnimation.save", lambda: matplotlib_save(scene, h, tmp / "mpl.mp4"))
        ours, theirs = tmp / f"{scene.name}.mp4", tmp / "mpl.mp4"
        counts = (len(iio.imread(ours)),
                  len(iio.imread(theirs)))
        sizes = (ours.stat().st_size, theirs.stat().st_size)
    a, m = t.median("animopt"), t.median("FuncAnimation.save")
    floor, agg = t.median("ffmpeg alone (floor)"), t.median("Agg alone (drawing only)")
    speedup, vs_floor = m / a, a / floor
    target = TARGETS[args.name]
    print(f"medians: animopt {a:.3f} s, FuncAnimation.save {m:.3f} s ({speedup:.1f}x, target {target:g}x), "
          f"ffmpeg alone {floor:.3f} s (animopt is {vs_floor:.2f}x the floor), Agg alone {agg:.3f} s")
    print(f"frames read back: animopt {counts[0]}, matplotlib {counts[1]}; sizes {sizes[0]} / {sizes[1]} bytes")
    ld = f"{min(t.loads + [loads0]):.1f}-{max(t.loads + [loads0]):.1f}"
    num = {"contour": 1, "fit_line": 2}[args.name]
    rows = [
        [f"{num}. {args.name}: FuncAnimation.save / animopt", f"{m:.2f} s / {a:.2f} s = **{speedup:.1f}x**",
         f">= {target:g}x", speedup >= target],
    ]
    if args.name == "contour":
        rows.append([f"{num}. {args.name}: animopt / ffmpeg alone", f"{a:.2f} s / {floor:.2f} s = **{vs_floor:.2f}x**",
                     "<= 1.5x", vs_floor <= 1.5])
    else:
        rows.append([f"{num}. {args.name}: animopt / ffmpeg alone", f"{a:.2f} s / {floor:.2f} s = {vs_floor:.2f}x",
                     "", None])
    rows.append([f"{num}. {args.name}: Agg alone (drawing, no encoding)", f"{agg:.2f} s", "", None])
    save(f"{num}_{args.name}", {"load": ld, "frames": n, "times": t.times, "medians": {
        "animopt": a, "matplotlib": m, "ffmpeg_alone": floor, "agg_alone": agg}, "rows": rows})


if __name__ == "__main__":
    main()
