"""Quality presets for quick drafts (`--quality low|medium|high`, as manim's -ql / -qh): the same picture,
smaller, at a lower frame rate and with the fastest encoder settings. `high` is the scene as written."""
from __future__ import annotations

import hashlib
from dataclasses import replace

from .scene import Scene

PRESETS = {
    #         size factor, fps (at most), x264 preset
    "low": (0.5, 15.0, "ultrafast"),
    "medium": (0.75, 24.0, "superfast"),
    "high": (1.0, None, None),
}
NAMES = tuple(PRESETS)


def _even(v: float) -> int:
    return max(16, 2 * int(round(v / 2)))


def apply(scene: Scene, quality: str | None) -> Scene:
    """The scene drawn at `quality`: size (and dpi, so the layout stays) scaled, the frame rate capped (a
    frame count scaled with it), the fastest x264 preset. The digest changes, so outputs of another
    quality are not taken as up to date; the simulation (and its cache entry) is the same."""
    if quality in (None, "high"):
        return scene
    factor, fps_max, preset = PRESETS[quality]
    r = scene.render
    fps = min(r.fps, fps_max)
    gif = dict(r.gif)
    if "size" in gif:
        gif["size"] = tuple(max(16, int(round(v * factor))) for v in gif["size"])
    if "fps" in gif:
        gif["fps"] = min(gif["fps"], fps)
    render = replace(
        r, size=tuple(_even(v * factor) for v in r.size), dpi=r.dpi * factor, fps=fps, preset=preset,
        frames=max(1, round(r.frames * fps / r.fps)) if r.frames else None,
        gif_fps=min(r.gif_fps, fps) if r.gif_fps else None, gif=type(r.gif)(gif) if r.gif else r.gif)
    digest = hashlib.sha256(f"{scene.digest}:quality={quality}".encode()).hexdigest()
    return replace(scene, render=render, digest=digest)
