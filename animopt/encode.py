"""Encoders fed by one stream of RGBA frames: one ffmpeg process for the animated formats (mp4, webm,
gif, webp, and the clip of the html page) of a render, and PNG stills.

One ffmpeg process writes every video file of a render from one pipe: each frame is written once,
split inside ffmpeg, and the GIF takes its subset of the frames there (`select`), so a render with
both formats costs one pipe write per frame and one ffmpeg process's memory. The process has a
writer thread and a small bounded queue: the frame loop hands it a copy of the canvas buffer and goes
on drawing while the thread writes to ffmpeg's stdin (the write releases the GIL), so drawing and
encoding run on different cores. Memory stays flat: at most `QUEUE_FRAMES` frames wait, nothing else
is held.

A GIF's palette is computed first, by ffmpeg's palettegen over a deterministic sample of the GIF's
frames; the frames then stream through paletteuse with that fixed palette. (palettegen and paletteuse in
one filter graph would make ffmpeg hold every frame until the stream ends: gigabytes for a long clip.)

Every output is written to a hidden temporary name beside the target and renamed by `commit()` once
every encoder of the render has finished, so a failed or interrupted render never leaves a truncated
file nor destroys the previous good one.
"""
from __future__ import annotations

import math
import os
import queue
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

QUEUE_FRAMES = 2          # frames waiting per encoder
PALETTE_SAMPLE = 32       # frames a GIF palette is computed from
PIPE_BYTES = 1 << 20      # ffmpeg's stdin pipe buffer (Linux F_SETPIPE_SZ; 1 MiB is the usual maximum)
GIF_MAX_FPS = 50.0
GIF_DITHER = {"dither": "bayer", "bayer_scale": 5}   # the lightest ordered dither: deterministic, small


class EncodeError(RuntimeError):
    pass


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def gif_rate(fps: float, requested: float | None = None, duration: float | None = None) -> float:
    """The GIF frame rate: 100/k frames per second (GIF delays are whole centiseconds), at most 50,
    at most `fps` and at most `requested`. Given the clip's `duration`, the highest such rate whose
    frames add up to exactly that duration, unless it would be below half the target."""
    target = min(requested or fps, fps, GIF_MAX_FPS)
    k0 = max(2, math.ceil(100.0 / target - 1e-9))
    if duration is not None:
        cs = duration * 100.0
        if abs(cs - round(cs)) < 1e-6 and round(cs) > 0:
            for k in range(k0, 2 * k0 + 1):
                if round(cs) % k == 0:
                    return 100.0 / k
    return 100.0 / k0


def pick_frames(n: int, fps: float, rate: float) -> np.ndarray:
    """Indices of the `n` frames (at `fps`) shown at `rate` frames per second: `m = n * rate / fps`
    of them (rounded), evenly spread, the first and the last always in: round(j * (n-1) / (m-1)).
    `select_expr` picks the same frames inside ffmpeg."""
    m = gif_count(n, fps, rate)
    if m >= n:
        return np.arange(n)
    if m == 1:
        return np.array([n - 1])
    j = np.arange(m, dtype=np.int64)
    return (2 * j * (n - 1) + (m - 1)) // (2 * (m - 1))


def gif_count(n: int, fps: float, rate: float) -> int:
    return n if rate >= fps - 1e-9 else max(1, min(n, int(round(n * rate / fps))))


def select_expr(n: int, m: int) -> str:
    """An ffmpeg `select` expression true for the frames `pick_frames` picks (m of n, m < n): frame i
    is in when ceil((2i+1)(m-1) / 2(n-1)) > ceil((2i-1)(m-1) / 2(n-1)), the number of picks up to
    i growing there. Integers below 2**53 throughout, so the doubles ffmpeg computes with are exact."""
    if m == 1:
        return f"eq(n,{n - 1})"
    a, b = m - 1, 2 * (n - 1)
    return f"gt(ceil((2*n+1)*{a}/{b}),ceil((2*n-1)*{a}/{b}))"


def palette_sample(m: int, k: int = PALETTE_SAMPLE) -> np.ndarray:
    """Which of `m` GIF frames the palette is computed from: `k` evenly spaced, first and last in."""
    if m <= k:
        return np.arange(m)
    return np.unique(np.rint(np.linspace(0, m - 1, k)).astype(np.int64))


def temp_path(path: Path, tag: str = "partial") -> Path:
    return path.with_name(f".{path.stem}.{tag}-{os.getpid()}{path.suffix}")


def remove_stale_temps(folder: Path) -> list[Path]:
    """Removes temporary files left in `folder` by renders whose process no longer exists (killed
    outright: a failed or interrupted render cleans up after itself)."""
    import re

    removed = []
    for p in Path(folder).glob(".*"):
        m = re.fullmatch(r"\..+\.(?:partial|palette|clip|frames)-(\d+)\.\w+", p.name)
        if m and not _alive(int(m.group(1))):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


class PipeEncoder:
    """An ffmpeg process reading raw RGBA frames on stdin, fed by a writer thread, writing `outputs`
    (final path -> temporary path).

    `put(frame, done)` queues one frame (left untouched until `done()` is called); `finish()` waits
    for ffmpeg; `commit()` renames the temporary files to their final names; `abort()` kills ffmpeg
    and removes them. `indices` are the frames of the render's stream this encoder takes.
    """

    def __init__(self, stream, outputs: dict[Path, Path], size: tuple[int, int], indices: np.ndarray,
                 cleanup: tuple[Path, ...] = ()):
        self.outputs = outputs
        self.name = ", ".join(p.name for p in outputs)
        self.indices = indices
        self.frame_bytes = size[0] * size[1] * 4
        self.frames = 0
        self.failure: OSError | None = None
        self.cleanup = cleanup
        self.notes: list[str] = []          # what the encoder chose (a budget's settings)
        self.after: list[Callable[[], None]] = []   # run once ffmpeg has finished well (e.g. the HTML page)
        args = stream.global_args("-hide_banner", "-loglevel", "error", "-nostdin", "-y").compile(cmd=ffmpeg_exe())
        self.log = tempfile.TemporaryFile()
        # A session of its own: a Ctrl-C at the terminal reaches us, and we stop ffmpeg ourselves.
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.log,
                                     bufsize=0, start_new_session=True)
        try:
            import fcntl

            fcntl.fcntl(self.proc.stdin.fileno(), 1031, PIPE_BYTES)   # F_SETPIPE_SZ (Linux)
        except (ImportError, OSError):
            pass
        self.queue: queue.Queue = queue.Queue(QUEUE_FRAMES)
        self.thread = threading.Thread(target=self._pump, name=f"animopt-{self.name}", daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        fd = self.proc.stdin.fileno()
        while True:
            item = self.queue.get()
            if item is None:
                return
            frame, done = item
            if self.failure is None:           # once ffmpeg is gone, drain: put() never blocks
                mv = memoryview(frame).cast("B")
                try:
                    while mv:
                        mv = mv[os.write(fd, mv):]
                except OSError as e:
                    self.failure = e
            if done is not None:
                done()

    def put(self, frame, done: Callable[[], None] | None = None) -> None:
        """Queues `frame` (bytes or an array, left untouched until `done()` is called)."""
        if memoryview(frame).nbytes != self.frame_bytes:
            raise EncodeError(f"frame of {memoryview(frame).nbytes} bytes, expected {self.frame_bytes}")
        while True:
            self.check()
            try:
                self.queue.put((frame, done), timeout=0.25)
                break
            except queue.Full:
                continue
        self.frames += 1

    def check(self) -> None:
        """Raises EncodeError (and cleans up) if ffmpeg stopped reading."""
        if self.failure is not None:
            self._fail(f"ffmpeg stopped while writing {self.name}")

    def _stderr(self) -> str:
        try:
            self.log.seek(0)
            err = self.log.read().decode(errors="replace").strip()
        except Exception:
            err = ""
        return err[-800:] or f"exit code {self.proc.poll()}"

    def _fail(self, what: str):
        msg = self._stderr() if self.proc.poll() is not None else str(self.failure)
        self.abort()
        raise EncodeError(f"{what}: {msg}")

    def finish(self) -> None:
        """Ends the stream and waits for ffmpeg; raises EncodeError (and cleans up) if it failed."""
        self.queue.put(None)
        self.thread.join()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        code = self.proc.wait()
        if code != 0 or self.failure is not None:
            self._fail(f"ffmpeg failed on {self.name}")
        try:
            for step in self.after:
                step()
        except BaseException:
            self.abort()
            raise

    def commit(self) -> list[Path]:
        for path, tmp in self.outputs.items():
            os.replace(tmp, path)
        self._close()
        return list(self.outputs)

    def abort(self) -> None:
        try:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.failure = self.failure or BrokenPipeError("aborted")
            while self.thread.is_alive():          # the pump drains what is left, then sees the end
                try:
                    self.queue.put(None, timeout=0.1)
                except queue.Full:
                    continue
                self.thread.join(timeout=1.0)
        finally:
            self._close()
            for tmp in self.outputs.values():
                tmp.unlink(missing_ok=True)

    def _close(self) -> None:
        for f in (self.proc.stdin, self.log):
            try:
                f.close()
            except Exception:
                pass
        for p in self.cleanup:
            p.unlink(missing_ok=True)


class FramePool:
    """Reused frame buffers (fresh 2 MB allocations cost more than the copy: page faults).

    `fill(src, users)` copies the canvas buffer into a free buffer and returns it with a `done`
    callback that each of its `users` calls once written; the buffer is then free again. `fill`
    waits while every buffer is in flight (that is the back-pressure on drawing), calling `check()`
    meanwhile so that an encoder that failed raises instead of waiting forever.
    """

    def __init__(self, nbytes: int, count: int = QUEUE_FRAMES + 2):
        self.free: queue.Queue = queue.Queue()
        for _ in range(count):
            self.free.put(np.empty(nbytes, np.uint8))

    def fill(self, src, users: int, check: Callable[[], None] = lambda: None):
        while True:
            try:
                buf = self.free.get(timeout=0.25)
                break
            except queue.Empty:
                check()
        np.copyto(buf, np.frombuffer(src, np.uint8))
        left = [users]
        lock = threading.Lock()

        def done():
            with lock:
                left[0] -= 1
                last = left[0] == 0
            if last:
                self.free.put(buf)

        return buf, done


def _cores() -> int:
    """x264's threads: one per core (its default, 1.5 per core, oversubscribes cores that also draw,
    and every frame thread holds frames: as fast here, and less memory)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _raw_input(size: tuple[int, int], rate: float):
    import ffmpeg

    return ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgba", s=f"{size[0]}x{size[1]}", framerate=rate)


@dataclass(frozen=True)
class AnimSettings:
    """How a GIF or WebP is made: its size, its frame rate (100/k, whole centiseconds), its palette
    size (GIF) and quality (WebP)."""
    size: tuple[int, int]
    rate: float
    colors: int = 256
    quality: int = 80

    def describe(self, fmt: str) -> str:
        extra = f"{self.colors} colours" if fmt == "gif" else f"quality {self.quality}"
        return f"{self.size[0]}x{self.size[1]}, {self.rate:g} fps, {extra}"


MIN_FIT_RATE = 10.0       # a budget lowers the frame rate down to this first, then the size
MIN_FIT_WIDTH = 160
FIT_TRIES = 8


def shrink(s: AnimSettings, ratio: float, fmt: str, fps: float, duration: float | None) -> AnimSettings | None:
    """Settings for a file `ratio` times over its budget: the frame rate first (down to
    MIN_FIT_RATE), then the size (bytes go with the pixels), then the palette or the WebP quality;
    None when nothing is left to lower. The target aims 10% under the budget."""
    need = 0.9 / ratio
    rate, size, colors, quality = s.rate, s.size, s.colors, s.quality
    if rate > MIN_FIT_RATE + 1e-9:
        rate = gif_rate(fps, max(MIN_FIT_RATE, rate * need), duration)
        need *= s.rate / rate
    if need < 1 and size[0] > MIN_FIT_WIDTH:
        f = max(need ** 0.5, MIN_FIT_WIDTH / size[0])
        size = (max(2, int(size[0] * f)), max(2, int(size[1] * f)))
        need /= f * f
    if need < 1 and fmt == "gif" and colors > 32:
        colors = max(32, colors // 2)
    if need < 1 and fmt == "webp" and quality > 30:
        quality = max(30, quality - 20)
    new = AnimSettings(size, rate, colors, quality)
    return None if new == s else new


def video_encoder(targets: dict[str, Path], size: tuple[int, int], fps: float, n: int,
                  draw: Callable[[int], bytes], crf: int = 20, preset: str = "veryfast",
                  gif_fps: float | None = None, *, gif: Mapping | None = None, transparent: bool = False,
                  background: str = "#ffffff", webm_crf: int = 32, webp_quality: int = 80,
                  page: Callable[[bytes], str] | None = None) -> PipeEncoder:
    """One ffmpeg process writing `targets` ({"mp4": path, "webm": path, "gif": path, ...}, any of
    the animated formats) from `n` frames at `fps`; it takes every frame when there is a video
    (mp4, webm, html), else only the GIF's and WebP's.

    MP4: H.264, yuv420p (BT.709, tagged), +faststart, `crf` and `preset`. Deterministic: x264's output
    does not depend on its thread count.
    WebM: VP9 at `webm_crf` (constant quality), yuv420p, or yuva420p when `transparent` (the frames'
    alpha kept; MP4 and GIF are laid on `background`).
    GIF: loops forever, at `gif_rate` (whole centiseconds a frame, the duration kept), with the palette
    of a sample of its frames: `draw(i)` returns frame `i` of the stream (RGBA bytes), called for the
    sample first. `gif` (the scene's [render] gif table: size, fps, colors, max_mb) sets GIF and WebP
    apart from the video; with `max_mb` a file over budget is made again, from a lossless copy of
    its frames kept meanwhile, with a lower frame rate, then size, then palette (`shrink`), and the
    encoder's `notes` say what was chosen.
    WebP: animated, loops forever, `webp_quality`, the GIF's frames and size.
    HTML: `page(webm_bytes)` returns the page written (the player around the clip, see player.py).
    """
    gif = dict(gif or {})
    targets = {f: Path(p) for f, p in targets.items()}
    duration = n / fps
    rate = gif_rate(fps, gif.get("fps") or gif_fps, duration)
    anim = AnimSettings(tuple(gif.get("size") or size), rate, int(gif.get("colors") or 256), webp_quality)
    picks = pick_frames(n, fps, rate)
    full = any(f in targets for f in ("mp4", "webm", "html"))
    indices = np.arange(n) if full else picks
    cleanup: list[Path] = []
    files: dict[Path, Path] = {}
    budget = gif.get("max_mb")
    try:
        palette = (make_palette(targets["gif"], size, picks, draw, anim, transparent and background)
                   if "gif" in targets else None)
        if palette is not None:
            cleanup.append(palette)
        jobs = _jobs(targets, files, cleanup, transparent, budget)
        graph = _Graph(size, fps if full else rate, fps, n, len(picks), len(indices), anim, palette,
                       transparent and background, (crf, preset, webm_crf))
        outs = graph.outputs(jobs)
        stream = outs[0] if len(outs) == 1 else _merge(outs)
        enc = PipeEncoder(stream, files, size, indices, cleanup=tuple(cleanup))
    except BaseException:
        for p in cleanup:
            p.unlink(missing_ok=True)
        raise
    frames_copy = next((tmp for kind, _, _, tmp in jobs if kind == "copy"), None)

    def after() -> None:
        if frames_copy is not None:
            for fmt in ("gif", "webp"):
                if fmt in targets:
                    note = fit_budget(fmt, files[targets[fmt]], frames_copy, len(picks), anim, budget, fps,
                                      duration, size, transparent and background)
                    enc.notes.append(f"{targets[fmt].name}: {note}")
        if "html" in targets and page is not None:
            clip = files[targets["webm"]] if "webm" in targets else temp_path(
                targets["html"].with_suffix(".webm"), "clip")
            files[targets["html"]].write_text(page(clip.read_bytes()), encoding="utf-8")

    enc.after.append(after)
    return enc


def _merge(outs: list):
    import ffmpeg

    return ffmpeg.merge_outputs(*outs)


def _jobs(targets: dict[str, Path], files: dict[Path, Path], cleanup: list[Path], transparent: bool,
          budget) -> list[tuple[str, bool, bool, Path]]:
    """(kind, alpha, animated, temporary file) of each output of the ffmpeg process; `files` gets each
    target's temporary name, `cleanup` the files that are not targets (the HTML page's clip, the copy of
    the frames kept to fit a GIF or WebP in its size budget: kind "copy")."""
    jobs = []
    for fmt, path in targets.items():
        if fmt == "png":
            continue
        tmp = files[path] = temp_path(path)
        if fmt == "html":
            if "webm" in targets:
                continue                     # the page embeds the WebM itself
            tmp = temp_path(path.with_suffix(".webm"), "clip")
            cleanup.append(tmp)
            fmt = "webm"
        jobs.append((fmt, transparent and fmt in ("webm", "webp"), fmt in ("gif", "webp"), tmp))
    if budget and any(f in targets for f in ("gif", "webp")):
        copy = temp_path(next(iter(targets.values())).with_suffix(".mkv"), "frames")
        cleanup.append(copy)
        jobs.append(("copy", transparent, True, copy))
    return jobs


@dataclass(frozen=True)
class _Graph:
    """The filter graph from the one stream of raw frames to every output: split by alpha (the frames
    laid on `background` for the outputs without it), then into the full-rate videos and the animated
    formats (the GIF's frames selected and retimed to whole centiseconds)."""

    size: tuple[int, int]
    in_rate: float
    fps: float
    n: int
    picked: int                 # frames of the GIF and WebP
    streamed: int               # frames sent to ffmpeg
    anim: AnimSettings
    palette: Path | None
    background: str | bool      # False: no transparency anywhere
    video: tuple                # (crf, preset, webm_crf)

    def outputs(self, jobs: list) -> list:
        tones = sorted({alpha for _, alpha, _, _ in jobs}, reverse=True)
        tone_src = dict(zip(tones, _fan(_raw_input(self.size, self.in_rate).video, len(tones))))
        outs = []
        for alpha in tones:
            src = tone_src[alpha]
            if self.background and not alpha:
                src = _flatten(src, self.size, self.in_rate, self.background)
            mine = [j for j in jobs if j[1] == alpha]
            fulls = [j for j in mine if not j[2]]
            anims = [j for j in mine if j[2]]
            streams = _fan(src, len(fulls) + (1 if anims else 0))
            for (kind, _, _, tmp), b in zip(fulls, streams):
                outs.append(_video_output(kind, b, tmp, alpha, self.fps, *self.video))
            if anims:
                outs += self.animated(streams[-1], anims, alpha)
        return outs

    def animated(self, a, anims: list, alpha: bool) -> list:
        import ffmpeg

        if self.streamed > self.picked:
            a = a.filter("select", select_expr(self.n, self.picked))
        k = round(100 / self.anim.rate)
        # frame N at N*k centiseconds, and the GIF's frame rate 100/k: every delay is k
        a = a.filter("settb", "1/100").filter("setpts", f"N*{k}")
        outs = []
        for (kind, _, _, tmp), b in zip(anims, _fan(a, len(anims))):
            if kind == "copy":
                outs.append(ffmpeg.output(b, str(tmp), format="matroska", vcodec="ffv1",
                                          pix_fmt="bgra" if alpha else "bgr0", r=f"100/{k}"))
            else:
                outs.append(_anim_output(kind, b, tmp, self.anim, self.size, alpha, self.palette))
        return outs


def _fan(stream, k: int) -> list:
    """`k` copies of a stream (ffmpeg's split), or the stream itself."""
    if k <= 1:
        return [stream] * k
    s = stream.filter_multi_output("split", k)
    return [s[i] for i in range(k)]


def _flatten(stream, size: tuple[int, int], rate: float, background: str):
    """The frames laid on a plain `background` colour (their alpha dropped)."""
    import ffmpeg

    color = background.lstrip("#")[:6]
    bg = ffmpeg.input(f"color=c=0x{color}:s={size[0]}x{size[1]}:r={rate}", format="lavfi").video
    return ffmpeg.filter([bg, stream], "overlay", shortest=1, format="auto")


def _video_output(kind: str, b, tmp: Path, alpha: bool, fps: float, crf: int, preset: str, webm_crf: int):
    import ffmpeg

    if kind == "mp4":
        b = b.filter("scale", out_color_matrix="bt709", out_range="tv", out_primaries="bt709",
                     out_transfer="bt709")
        return ffmpeg.output(
            b, str(tmp), format="mp4", vcodec="libx264", pix_fmt="yuv420p", crf=crf, preset=preset,
            movflags="+faststart", colorspace="bt709", color_primaries="bt709", color_trc="bt709",
            threads=_cores())
    # VP9, constant quality; a keyframe every second (the player seeks), realtime speed: plots are flat
    b = b.filter("scale", out_color_matrix="bt709", out_range="tv")
    return ffmpeg.output(
        b, str(tmp), format="webm", vcodec="libvpx-vp9", pix_fmt="yuva420p" if alpha else "yuv420p",
        crf=webm_crf, **{"b:v": 0}, deadline="realtime", **{"cpu-used": 8}, g=max(1, round(fps)),
        colorspace="bt709", color_primaries="bt709", color_trc="bt709", threads=_cores(), **{"row-mt": 1})


def _anim_output(kind: str, b, tmp: Path, s: AnimSettings, size: tuple[int, int], alpha: bool,
                 palette: Path | None):
    import ffmpeg

    k = round(100 / s.rate)
    if tuple(s.size) != tuple(size):
        b = b.filter("scale", s.size[0], s.size[1], flags="lanczos")
    if kind == "gif":
        b = ffmpeg.filter([b, ffmpeg.input(str(palette)).video], "paletteuse", diff_mode="rectangle",
                          **GIF_DITHER)
        return ffmpeg.output(b, str(tmp), format="gif", loop=0, r=f"100/{k}")
    return ffmpeg.output(b, str(tmp), format="webp", vcodec="libwebp_anim", loop=0, quality=s.quality,
                         pix_fmt="yuva420p" if alpha else "yuv420p", compression_level=4)


def make_palette(gif: Path, size: tuple[int, int], picks: np.ndarray, draw: Callable[[int], bytes],
                 anim: AnimSettings | None = None, background: str | bool = False) -> Path:
    """palettegen (stats_mode=diff, the GIF's size and colours) over `palette_sample` of the GIF's
    frames; a temporary PNG."""
    import ffmpeg

    palette = temp_path(gif.with_suffix(".png"), "palette")
    v = _raw_input(size, 25).video
    if background:
        v = _flatten(v, size, 25, background)
    if anim is not None and tuple(anim.size) != tuple(size):
        v = v.filter("scale", anim.size[0], anim.size[1], flags="lanczos")
    colors = anim.colors if anim is not None else 256
    gen = ffmpeg.output(v.filter("palettegen", stats_mode="diff", max_colors=colors), str(palette),
                        vframes=1, format="image2", vcodec="png")
    pg = PipeEncoder(gen, {palette: palette}, size, picks)
    try:
        for j in palette_sample(len(picks)):
            pg.put(draw(int(picks[j])))
        pg.finish()
    except BaseException:
        pg.abort()
        raise
    pg._close()
    return palette


def fit_budget(fmt: str, out: Path, frames: Path, m: int, first: AnimSettings, max_mb: float, fps: float,
               duration: float, size: tuple[int, int], background: str | bool) -> str:
    """Makes `out` (a GIF or WebP made with `first`) again from `frames` (its `m` frames, lossless,
    at first.rate) with lower settings until it is at most `max_mb` megabytes; returns what was chosen."""
    import ffmpeg

    budget = max_mb * 1e6
    s, got = first, out.stat().st_size
    tries = 0
    while got > budget and tries < FIT_TRIES:
        nxt = shrink(s, got / budget, fmt, fps, duration)
        if nxt is None:
            break
        s, tries = nxt, tries + 1
        k = round(100 / s.rate)
        m1 = gif_count(m, first.rate, s.rate)

        def source():
            b = ffmpeg.input(str(frames)).video
            if background:
                b = _flatten(b, size, first.rate, background)
            if m1 < m:
                b = b.filter("select", select_expr(m, m1))
            return b.filter("settb", "1/100").filter("setpts", f"N*{k}")

        palette = None
        try:
            if fmt == "gif":
                palette = temp_path(out.with_suffix(".png"), "palette")
                b = source()
                if tuple(s.size) != tuple(size):
                    b = b.filter("scale", s.size[0], s.size[1], flags="lanczos")
                _run(ffmpeg.output(b.filter("palettegen", stats_mode="diff", max_colors=s.colors), str(palette),
                                   vframes=1, format="image2", vcodec="png"))
            _run(_anim_output(fmt, source(), out, s, size, not background and fmt == "webp", palette))
        finally:
            if palette is not None:
                palette.unlink(missing_ok=True)
        got = out.stat().st_size
    mb = f"{got / 1e6:.2f} MB"
    if got > budget:
        return f"{s.describe(fmt)}, {mb}: over the {max_mb:g} MB budget even so"
    if tries == 0:
        return f"{s.describe(fmt)}, {mb} (within {max_mb:g} MB)"
    return f"{s.describe(fmt)} chosen to fit {max_mb:g} MB: {mb}"


def _run(stream) -> None:
    args = stream.global_args("-hide_banner", "-loglevel", "error", "-nostdin", "-y").compile(cmd=ffmpeg_exe())
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True)
    if p.returncode != 0:
        raise EncodeError(f"ffmpeg failed: {p.stderr.decode(errors='replace').strip()[-800:]}")


class PngFile:
    """A still written at once under a temporary name; `commit()` renames it like the encoders."""

    def __init__(self, path: Path, rgb: np.ndarray):
        self.path = Path(path)
        self.tmp = temp_path(self.path)
        self.indices = np.arange(0)
        try:
            _save_png(self.tmp, rgb)
        except BaseException:
            self.tmp.unlink(missing_ok=True)
            raise

    def finish(self) -> None:
        pass

    def commit(self) -> list[Path]:
        os.replace(self.tmp, self.path)
        return [self.path]

    def abort(self) -> None:
        self.tmp.unlink(missing_ok=True)


def _save_png(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(np.ascontiguousarray(rgb)).save(path, format="PNG")


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Writes an `[H, W, 3|4]` uint8 image atomically."""
    f = PngFile(Path(path), rgb)
    try:
        return f.commit()[0]
    except BaseException:
        f.abort()
        raise
