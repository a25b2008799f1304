"""Scene -> files: simulate, lay out the views, stream frames to every encoder at once."""
from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from . import player
from .encode import FramePool, PngFile, temp_path, video_encoder, write_png
from .formats import FORMATS, STILL_SUFFIXES
from .history import History
from .declare.views import check_views
from .scene import Scene
from .spec import SceneError
from .limits import MAX_FRAMES
from .teach import check_steps
from .timeline import frame_count, frame_steps, teaching_steps, visible_change

START_HOLD = 0.5          # seconds on the first step before a motion-paced clip moves


def timeline(scene: Scene, history: History) -> np.ndarray:
    """The step each frame of the scene shows (the end hold, pauses and slow motion included)."""
    r = scene.render
    base = _base_timeline(scene, history)
    if not (r.pauses or r.slows):
        return base
    problems = check_steps(r, history.steps)
    if problems:
        raise SceneError([(scene.file, k, m) for k, m in problems])
    out = teaching_steps(base, r.fps, r.pauses, r.slows)
    if len(out) > MAX_FRAMES:
        raise SceneError.one(scene.file, "render.slow" if r.slows else "render.pause",
                             f"{len(out):,} frames is more than the limit of {MAX_FRAMES:,}")
    return out


def _base_timeline(scene: Scene, history: History) -> np.ndarray:
    """The motion, linear or log timeline, with its holds."""
    r = scene.render
    n = frame_count(r.fps, r.duration, r.frames)
    if r.timeline != "motion":
        return frame_steps(history.steps, n, r.timeline, int(round(r.hold * r.fps)))
    # net change over two frames' worth of steps (of a linear timeline): jitter counts less than travel
    change = visible_change(history.params, history.loss, history.diverged_at, loss_axis(scene, history),
                            window=max(1, 2 * history.steps // n))
    return frame_steps(history.steps, n, "motion", int(round(r.hold * r.fps)), change,
                       start_frames=int(round(START_HOLD * r.fps)))


def loss_axis(scene: Scene, history: History) -> tuple[bool, float, float]:
    """(log, lo, hi): the loss axis as the scene's `loss` view draws it (as a default one would if
    the scene has none)."""
    from .views import ViewCtx
    from .views.curves import Loss

    options = next((dict(v.options) for row in scene.render.views for v in row if v.type == "loss"), {})
    return Loss(options, ViewCtx(history, None, [], np.zeros(0, dtype=np.int64))).y_axis(history)


def display(scene: Scene) -> tuple:
    """Each [[optimizer]] entry's display keys (color, linestyle, marker, zorder), for the Canvas."""
    return tuple(o.display for o in scene.optimizers)


def outputs(scene: Scene, output: str | Path | None, formats: Iterable[str] | None = None) -> dict[str, Path]:
    """Where each format goes: `output` is a folder (default `output/`) or, for one format, a file."""
    fmts = tuple(formats or scene.render.formats)
    out = Path(output) if output is not None else Path("output")
    if out.suffix.lower().lstrip(".") in FORMATS:
        fmt = out.suffix.lower().lstrip(".")
        targets = {fmt: out}
    else:
        targets = {f: out / f"{scene.name}.{f}" for f in fmts}
    if "mp4" in targets and any(v % 2 for v in scene.render.size):
        raise SceneError.one(scene.file, "render.size", "both width and height must be even for mp4 (H.264 "
                             f"needs it), got {list(scene.render.size)}")
    return targets


def load_drawing(scene: Scene) -> None:
    """Imports what drawing the scene takes: matplotlib, the layout, each view's module."""
    from . import layout  # noqa: F401
    from .declare.views import VIEWS

    for row in scene.render.views:
        for view in row:
            VIEWS[view.type].cls


def open_canvas(scene: Scene, h: History, steps: np.ndarray) -> Canvas:
    """The scene's Canvas; with `transparent = true` the figure's background is transparent."""
    from .layout import Canvas

    canvas = Canvas(scene.render, h, scene.title, steps, display(scene), scene.optimizers)
    if scene.render.transparent:
        canvas.fig.patch.set_alpha(0.0)
        canvas._background()
    return canvas


def render(scene: Scene, output: str | Path | None = None, formats: Iterable[str] | None = None,
           history: History | None = None, device: str | None = None,
           progress: Callable[[int, int], None] | None = None,
           notes: Callable[[str], None] | None = None, cache: bool = False) -> list[Path]:
    """Renders the scene to each format; returns the files written.

    Frames are drawn once and written once to one ffmpeg process that makes every video format (a
    GIF takes every frame or a subset, at its own rate); a writer thread feeds it while the next
    frame is drawn. The files appear, renamed from temporary names, only when every encoder has
    finished: on an error or an interrupt nothing is left behind and the previous files are
    untouched. `progress(i, n)` is called after each frame drawn; `notes(text)` with what the
    encoder chose (a GIF's settings under a size budget), which is also logged (logger "animopt"), and
    whether the simulation came from the cache (`cache = True`: animopt.cache).
    """
    targets = outputs(scene, output, formats)
    for p in targets.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    h = _history(scene, history, device, cache, notes)
    check_views(scene.render, h, scene.file)
    steps = timeline(scene, h)
    r = scene.render
    n = len(steps)
    encoders = []
    with open_canvas(scene, h, steps) as canvas:
        def draw(i: int) -> bytes:
            return bytes(canvas.frame(int(steps[i]), i))

        try:
            if "png" in targets:
                encoders.append(PngFile(targets["png"], _image(canvas, scene, still_step(scene, h))))
            video = {f: p for f, p in targets.items() if f != "png"}
            if video:
                enc = video_encoder(video, r.size, r.fps, n, draw, r.crf, r.preset, r.gif_fps, gif=r.gif,
                                    transparent=r.transparent, background=canvas.theme.background,
                                    webm_crf=r.webm_crf, webp_quality=r.webp_quality,
                                    page=lambda clip: player.page(clip, steps, r.fps, h.steps, r.size,
                                                                  scene.title or scene.name))
                encoders.append(enc)
                pool = FramePool(r.size[0] * r.size[1] * 4)
                with _quick_gil_handoff():
                    for done, i in enumerate(enc.indices, 1):
                        enc.put(*pool.fill(canvas.frame(int(steps[i]), i), 1, enc.check))
                        if progress:
                            progress(done, len(enc.indices))
            for e in encoders:
                e.finish()
        except BaseException:
            for e in encoders:
                e.abort()
            raise
    written = [p for e in encoders for p in e.commit()]
    for e in encoders:
        for note in getattr(e, "notes", ()):
            logging.getLogger("animopt").info(note)
            if notes:
                notes(note)
    return sorted(written, key=list(targets.values()).index)


@contextmanager
def _quick_gil_handoff(seconds: float = 0.0005):
    """The writer threads wait for the GIL after each pipe write while this thread draws; a short
    switch interval (default 5 ms) hands it over sooner, so that ffmpeg is never kept waiting."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def still_step(scene: Scene, h: History, step: int | None = None) -> int:
    return poster_step(scene, h.steps, step)


def poster_step(scene: Scene, steps: int, step: int | None = None) -> int:
    """The step a still shows: `step`, else the scene's still_step, else the last of `steps`."""
    s = step if step is not None else scene.render.still_step
    if s is None:
        return steps
    if s > steps:
        key = "--step" if step is not None else "render.still_step"
        raise SceneError.one(scene.file, key, f"step {s} is past the last step ({steps})")
    return int(s)


def check_scene(scene: Scene) -> None:
    """Every check that simulating and drawing the scene makes, without torch or matplotlib: the runs,
    steps and limits on the problem's outline, each view against the problem and the sweep, the poster
    step, captions, pauses and slow motion (`animopt validate`). Only a device other than cpu or auto
    imports torch, to see that it is there."""
    from .counts import checked, outline

    if scene.train.device.strip().lower() not in ("cpu", "auto"):
        from .simulator import resolve_device

        resolve_device(scene.train.device, scene.file)
    c = checked(scene)
    check_views(scene.render, outline(c), scene.file)
    poster_step(scene, c.steps)
    problems = check_steps(scene.render, c.steps)
    if problems:
        raise SceneError([(scene.file, k, m) for k, m in problems])


def checked_plan(scene: Scene, device: str | None = None):
    """The scene's simulation plan, after every check that drawing it makes (check_scene): render runs
    it before simulating."""
    from .simulator import plan

    check_scene(scene)
    return plan(scene, device)


def _history(scene: Scene, history: History | None, device: str | None, cache: bool = False,
             notes: Callable[[str], None] | None = None) -> History:
    """The History given, else the cached one (`cache`), else a fresh simulation after every check."""
    if history is not None:
        return history
    if cache:
        from .cache import history as cached

        return cached(scene, device, notes=notes, meanwhile=lambda: load_drawing(scene))
    from .simulator import simulate

    return simulate(checked_plan(scene, device))


def still(scene: Scene, output: str | Path, step: int | None = None, history: History | None = None,
          device: str | None = None, cache: bool = False, notes: Callable[[str], None] | None = None) -> Path:
    """Writes one frame (default: the poster step, else the last) as a PNG, or as an SVG or PDF
    (vector: lines and text stay sharp) by the output's extension."""
    fmt = Path(output).suffix.lower().lstrip(".")
    if fmt not in STILL_SUFFIXES:
        raise SceneError.one(scene.file, "", f"{output}: a still is a PNG, SVG or PDF; give a file name "
                                             "ending in .png, .svg or .pdf")
    if fmt == "png":
        return write_png(output, still_image(scene, step, history, device, cache, notes))
    h = _history(scene, history, device, cache, notes)
    check_views(scene.render, h, scene.file)
    s = still_step(scene, h, step)
    out = Path(output)
    tmp = temp_path(out)
    with open_canvas(scene, h, timeline(scene, h)) as canvas:
        canvas.frame(s)                       # every view's moving parts at step s
        c, fig = canvas.counter, canvas.fig
        # the counter as text (the clip's counter is a raster of glyphs, fast but not vector)
        fig.text(c.xy[0], c.xy[1], canvas.step_text(s), ha="right", va="top", family="DejaVu Sans Mono",
                 fontsize=c.size, color=tuple(int(x) / 255 for x in c.rgba))
        try:
            fig.savefig(tmp, format=fmt, dpi=fig.dpi, facecolor=fig.get_facecolor(),
                        transparent=scene.render.transparent, metadata={"Creator": "animopt"})
            os.replace(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return out


def _image(canvas: Canvas, scene: Scene, step: int) -> np.ndarray:
    """The frame of `step` as [H, W, 3], or [H, W, 4] with `transparent = true`."""
    if scene.render.transparent:
        return np.asarray(canvas.frame(step)).copy()
    return canvas.rgb(step)


def still_image(scene: Scene, step: int | None = None, history: History | None = None,
                device: str | None = None, cache: bool = False,
                notes: Callable[[str], None] | None = None) -> np.ndarray:
    """One frame as an `[H, W, 3]` uint8 array."""
    h = _history(scene, history, device, cache, notes)
    s = still_step(scene, h, step)
    return frames_at(scene, h, [s])[s]


def frames_at(scene: Scene, history: History, steps: Iterable[int]) -> dict[int, np.ndarray]:
    """The frames of `scene` that show `steps`, drawn from `history` in one figure: {step: [H, W, 3] uint8}."""
    from .layout import Canvas

    check_views(scene.render, history, scene.file)
    with Canvas(scene.render, history, scene.title, timeline(scene, history), display(scene),
                scene.optimizers) as canvas:
        return {int(s): canvas.rgb(int(s)) for s in steps}
