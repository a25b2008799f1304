"""Inline display in Jupyter: `animopt.show(scene_or_path, **overrides)`.

The clip is rendered once (a VP9 WebM and the poster PNG, into `output`), and the returned `Shown`
displays as the HTML player of animopt/player.py with the WebM embedded when it is at most
`embed_limit_mb`, else as the poster and a link to the file; `_repr_png_` is the poster (for
front ends without HTML, and for nbconvert to PDF).
"""
from __future__ import annotations

import base64
import html
import os
from pathlib import Path

EMBED_LIMIT_MB = 20.0


class Shown:
    """A rendered scene for a notebook: `files` (format -> path), the poster, the player's data."""

    def __init__(self, files: dict, poster: bytes, steps, fps: float, total: int, size, title: str,
                 embed_limit_mb: float = EMBED_LIMIT_MB):
        self.files = dict(files)
        self.poster = poster
        self.steps, self.fps, self.total, self.size, self.title = list(steps), fps, total, tuple(size), title
        self.embed_limit_mb = embed_limit_mb

    @property
    def video(self) -> Path:
        return self.files["webm"]

    def _repr_png_(self) -> bytes:
        return self.poster

    def _repr_html_(self) -> str:
        from .player import fragment

        size = self.video.stat().st_size
        if size <= self.embed_limit_mb * 1e6:
            return fragment(self.video.read_bytes(), self.steps, self.fps, self.total, self.size, self.title)
        try:
            href = os.path.relpath(self.video)
        except ValueError:
            href = str(self.video)
        img = base64.b64encode(self.poster).decode("ascii")
        return (f'<div class="animopt-shown"><img src="data:image/png;base64,{img}" alt="{html.escape(self.title)}" '
                f'style="max-width:100%"><br><a href="{html.escape(href)}">{html.escape(self.video.name)}</a> '
                f'({size / 1e6:.1f} MB: more than the {self.embed_limit_mb:g} MB embedded; '
                f'animopt.show(..., embed_limit_mb=...) raises the limit)</div>')

    def __repr__(self) -> str:
        return f"<animopt.Shown {self.video}>"


def _overrides(kw: dict) -> dict:
    """show()'s keyword overrides: a [render] or top-level key by its name (fps=60, title="x"), any key
    path with "__" for the dots (train__steps=100, optimizer__0__lr is not a path: use overrides=)."""
    from .scene import RENDER, TOP

    out = {}
    for k, v in kw.items():
        if "__" in k:
            out[k.replace("__", ".")] = v
        elif k in RENDER:
            out[f"render.{k}"] = v
        elif k in TOP:
            out[k] = v
        else:
            out[k] = v             # unknown: the scene's checks name it
    return out


def show(scene, output: str | Path = "output", overrides: dict | None = None,
         embed_limit_mb: float = EMBED_LIMIT_MB, device: str | None = None, **kw) -> Shown:
    """Renders `scene` (a Scene or a path) as a WebM and a poster into `output` and returns an object
    that displays inline in Jupyter. Keyword arguments override scene keys (`fps=10`, `size=[640, 360]`,
    `train__steps=100`), as does `overrides` ({"optimizer[1].lr": 0.05})."""
    from .renderer import render, timeline
    from .scene import Scene, load_scene, parse_scene
    from .simulator import simulate

    sets = {**_overrides(kw), **(overrides or {})}
    if isinstance(scene, Scene):
        if sets:
            if scene.path is None:
                raise TypeError("overrides need a scene read from a file (or a path)")
            scene = parse_scene(scene.path.read_bytes(), scene.path, sets)
    else:
        scene = load_scene(scene, overrides=sets or None)
    from .renderer import checked_plan

    h = simulate(checked_plan(scene, device))
    files = render(scene, output, formats=["webm", "png"], history=h)
    by = {p.suffix.lstrip("."): p for p in files}
    steps = timeline(scene, h)
    r = scene.render
    return Shown(by, by["png"].read_bytes(), steps, r.fps, h.steps, r.size, scene.title or scene.name,
                 embed_limit_mb)
