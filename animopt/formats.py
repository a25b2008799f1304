"""The output formats, declared once (no torch, no matplotlib): the scene's `formats` key, `-f`, the
renderer's file names and the README's format table all read `FORMATS`.

Every animated format is made from the one frame stream of a render, in one ffmpeg process.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    name: str
    kind: str             # "video": every frame at fps; "animation": the [render] gif settings; "page"; "still"
    what: str             # one line for the README and the CLI's help
    keys: str             # the [render] keys that shape it


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("mp4", "video", "H.264 video, yuv420p (BT.709), +faststart: plays everywhere; even sizes only",
           "`size`, `fps`, `crf`, `preset`"),
    Format("webm", "video", "VP9 video, yuv420p; with `transparent = true` yuva420p over a transparent "
           "figure background", "`size`, `fps`, `webm_crf`, `transparent`"),
    Format("gif", "animation", "animated GIF, loops; its own size, frame rate and palette, or a size budget",
           "`gif = { size, fps, colors, max_mb }` (or `gif_fps`)"),
    Format("webp", "animation", "animated WebP, loops; smaller than the GIF at the same settings",
           "`gif = { size, fps, max_mb }`, `webp_quality`, `transparent`"),
    Format("html", "page", "one self-contained, offline page: the clip (VP9 WebM, embedded) and a player: "
           "play/pause, a slider showing the step, speed 0.25x-4x, arrow keys step one frame",
           "`size`, `fps`, `webm_crf`, `transparent`"),
    Format("png", "still", "the poster frame (`still_step`, else the last step)", "`size`, `still_step`"),
)}

NAMES = tuple(FORMATS)
VIDEO = tuple(n for n, f in FORMATS.items() if f.kind in ("video", "page"))        # every frame, at fps
ANIMATIONS = tuple(n for n, f in FORMATS.items() if f.kind == "animation")        # the gif settings
STILL_SUFFIXES = ("png", "svg", "pdf")        # `animopt still` writes these, by the output's extension


def table() -> str:
    """The README's format table (Markdown)."""
    rows = ["| format | what it is | keys in `[render]` |", "|---|---|---|"]
    rows += [f"| `{f.name}` | {f.what} | {f.keys} |" for f in FORMATS.values()]
    return "\n".join(rows)
