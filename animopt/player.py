"""The HTML player: one self-contained page (or a fragment for a notebook) holding the clip as a base64
WebM and a small script, with no request to the network.

Controls: play / pause (also the space bar), a slider over the clip's frames that shows the step each
frame shows (the frame -> step table is embedded), speed 0.25x to 4x, and the arrow keys step one
frame back or forward. The frame shown is `floor(currentTime * fps)`; a seek goes to the middle of
the frame, so the picture and the step number agree.
"""
from __future__ import annotations

import base64
import html
import json
import uuid

SPEEDS = (0.25, 0.5, 1.0, 1.5, 2.0, 4.0)

_STYLE = """
.animopt-player{display:inline-block;max-width:100%;font:13px system-ui,sans-serif;outline:none}
.animopt-player video{display:block;max-width:100%;height:auto}
.animopt-player .ao-bar{display:flex;align-items:center;gap:8px;margin-top:4px}
.animopt-player .ao-slider{flex:1;min-width:80px}
.animopt-player .ao-step{font-family:monospace;white-space:pre}
.animopt-player button{min-width:4.5em}
"""

_SCRIPT = """
(function(){
  var root = document.getElementById(%(id)s);
  var STEPS = %(steps)s, FPS = %(fps)s, TOTAL = %(total)s, N = STEPS.length;
  var v = root.querySelector("video"), play = root.querySelector(".ao-play"),
      slider = root.querySelector(".ao-slider"), label = root.querySelector(".ao-step"),
      speed = root.querySelector(".ao-speed");
  var width = String(TOTAL).length, shown = -1;
  function pad(s){ s = String(s); while (s.length < width) s = " " + s; return s; }
  function frameAt(t){ return Math.max(0, Math.min(N - 1, Math.floor(t * FPS + 1e-6))); }
  function show(i){
    if (i === shown) return;
    shown = i;
    slider.value = i;
    label.textContent = "frame " + pad(i + 1) + "/" + N + "  step " + pad(STEPS[i]) + "/" + TOTAL;
    root.dataset.frame = i;
    root.dataset.step = STEPS[i];
  }
  function seek(i){
    i = Math.max(0, Math.min(N - 1, i));
    show(i);
    v.currentTime = (i + 0.5) / FPS;
  }
  function tick(){
    show(frameAt(v.currentTime));
    if (!v.paused) requestAnimationFrame(tick);
  }
  function toggle(){ if (v.paused) { v.play(); } else { v.pause(); } }
  v.addEventListener("play", function(){ play.textContent = "Pause"; requestAnimationFrame(tick); });
  v.addEventListener("pause", function(){ play.textContent = "Play"; show(frameAt(v.currentTime)); });
  v.addEventListener("seeked", function(){ if (!v.paused) show(frameAt(v.currentTime)); });
  play.addEventListener("click", function(){ toggle(); root.focus(); });
  slider.addEventListener("input", function(){ v.pause(); seek(parseInt(slider.value, 10)); });
  speed.addEventListener("change", function(){ v.playbackRate = parseFloat(speed.value); });
  root.addEventListener("keydown", function(e){
    if (e.target === speed) return;
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      v.pause();
      seek(shown + (e.key === "ArrowRight" ? 1 : -1));
      e.preventDefault();
    } else if (e.key === " " && e.target !== play) {
      toggle();
      e.preventDefault();
    }
  });
  root.animopt = {video: v, seek: seek, frame: function(){ return shown; },
                  step: function(){ return STEPS[shown]; }};
  show(0);
})();
"""


def fragment(video: bytes, steps, fps: float, total: int, size: tuple[int, int], title: str = "",
             mime: str = "video/webm", autoplay: bool = False) -> str:
    """The player as an HTML fragment (a notebook cell's output, or the body of `page`); ids unique."""
    uid = "animopt-" + uuid.uuid4().hex[:12]
    steps = [int(s) for s in steps]
    src = f"data:{mime};base64," + base64.b64encode(video).decode("ascii")
    options = "".join(f'<option value="{s:g}"{" selected" if s == 1 else ""}>{s:g}x</option>' for s in SPEEDS)
    script = _SCRIPT % {"id": json.dumps(uid), "steps": json.dumps(steps, separators=(",", ":")),
                        "fps": json.dumps(float(fps)), "total": int(total)}
    return (
        f'<style>{_STYLE}</style>'
        f'<div class="animopt-player" id="{uid}" tabindex="0" title="{html.escape(title)}">'
        f'<video width="{size[0]}" height="{size[1]}" muted playsinline loop preload="auto"'
        f'{" autoplay" if autoplay else ""} src="{src}"></video>'
        f'<div class="ao-bar"><button type="button" class="ao-play">Play</button>'
        f'<input class="ao-slider" type="range" min="0" max="{len(steps) - 1}" step="1" value="0" '
        f'aria-label="frame">'
        f'<span class="ao-step"></span>'
        f'<select class="ao-speed" aria-label="speed">{options}</select></div></div>'
        f'<script>{script}</script>')


def page(video: bytes, steps, fps: float, total: int, size: tuple[int, int], title: str = "",
         mime: str = "video/webm") -> str:
    """A whole HTML document around `fragment`: opens offline, asks the network for nothing."""
    name = html.escape(title or "animopt")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; media-src data:; "
            "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{name}</title>"
            "</head><body>\n"
            + fragment(video, steps, fps, total, size, title, mime)
            + "\n<script>document.querySelector('.animopt-player').focus();</script>\n</body></html>\n")
