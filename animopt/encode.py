"""Encoders fed by one stream of RGBA frames: ffmpeg pipes (mp4, gif) and PNG stills.

Every output is written to a hidden temporary name beside the target and renamed at the end, so a
failed or interrupted render never leaves a truncated file nor destroys the previous good one.
"""
from __future__ import annotations

import fcntl
import math
import os
import subprocess
from pathlib import Path

import numpy as np


class EncodeError(RuntimeError):
    pass


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def gif_rate(fps: float, requested: float | None = None) -> float:
    """GIF delays are whole centiseconds: the rate is 100/k, at most 50 fps and at most `fps`, so that
    every frame lasts exactly as long and the clip keeps its duration."""
    target = min(requested or fps, fps, 50.0)
    k = max(2, math.ceil(100.0 / target - 1e-9))
    return 100.0 / k


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")


class PipeEncoder:
    """An ffmpeg process reading raw RGBA frames on stdin."""

    def __init__(self, path: str | Path, size: tuple[int, int], fps: float, fmt: str,
                 crf: int = 20, preset: str = "veryfast", gif_fps: float | None = None):
        import ffmpeg

        self.path = Path(path)
        self.tmp = temp_path(self.path)
        self.fmt = fmt
        self.frames = 0
        W, H = size
        self.frame_bytes = W * H * 4
        inp = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgba", s=f"{W}x{H}", framerate=fps)
        if fmt == "mp4":
            out = ffmpeg.output(inp.video, str(self.tmp), format="mp4", vcodec="libx264", pix_fmt="yuv420p",
                                crf=crf, preset=preset, movflags="+faststart", r=fps)
        elif fmt == "gif":
            v = inp.video
            rate = gif_rate(fps, gif_fps)
            if abs(rate - fps) > 1e-9:
                v = v.filter("fps", fps=rate)
            s = v.split()
            pal = s[0].filter("palettegen", stats_mode="diff")
            v = ffmpeg.filter([s[1], pal], "paletteuse", dither="bayer", bayer_scale=4, diff_mode="rectangle")
            out = ffmpeg.output(v, str(self.tmp), format="gif", loop=0)
        else:
            raise ValueError(f"unknown format {fmt!r}")
        args = out.global_args("-hide_banner", "-loglevel", "error", "-nostdin", "-y").compile(cmd=ffmpeg_exe())
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        try:
            fcntl.fcntl(self.proc.stdin.fileno(), 1031, 1 << 20)   # F_SETPIPE_SZ: 1 MiB pipe
        except OSError:
            pass

    def write(self, frame) -> None:
        mv = memoryview(frame).cast("B")
        if mv.nbytes != self.frame_bytes:
            raise EncodeError(f"frame of {mv.nbytes} bytes, expected {self.frame_bytes}")
        try:
            self.proc.stdin.write(mv)
        except BrokenPipeError:
            raise EncodeError(f"ffmpeg stopped while writing {self.path.name}: {self._stderr()}") from None
        self.frames += 1

    def _stderr(self) -> str:
        try:
            err = self.proc.stderr.read().decode(errors="replace").strip()
        except Exception:
            err = ""
        return err[-800:] or f"exit code {self.proc.poll()}"

    def close(self) -> Path:
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        code = self.proc.wait()
        if code != 0:
            msg = self._stderr()
            self.tmp.unlink(missing_ok=True)
            raise EncodeError(f"ffmpeg failed on {self.path.name}: {msg}")
        self.proc.stderr.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait()
        finally:
            for f in (self.proc.stdin, self.proc.stderr):
                try:
                    f.close()
                except Exception:
                    pass
            self.tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Writes an `[H, W, 3|4]` uint8 image atomically."""
    from PIL import Image

    path = Path(path)
    tmp = temp_path(path)
    try:
        Image.fromarray(np.ascontiguousarray(rgb)).save(tmp, format="PNG")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
