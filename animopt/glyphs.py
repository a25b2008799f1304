"""Text whose string changes every frame, drawn from glyphs rendered once.

Agg lays out every string with FreeType (about 16 us a character) and rasterises every glyph of it,
twice a frame for a text measured and drawn: a few milliseconds a frame for a line or two of numbers.
`GlyphText` is a matplotlib `Text` that draws on Agg through `GlyphRenderer`, which lays a line out
from the pen advances of its character pairs (each pair laid out by FreeType once) and draws each
glyph from a cache of bitmaps keyed by the glyph and its sub-pixel position. Its pixels are Agg's own:
the same FreeType calls at the same positions (tests/test_glyphs.py compares them). A string it
cannot lay out pair by pair (a ligature, a character from a fallback font), mathtext, rotated text,
and any backend other than Agg are drawn as matplotlib draws them.
"""
from __future__ import annotations

from matplotlib.backends.backend_agg import RendererAgg, get_hinting_flag
from matplotlib.font_manager import fontManager, get_font
from matplotlib.text import Text

MAX_BITMAPS = 20_000          # cached glyph bitmaps (a few hundred bytes each) before the cache starts over
MAX_LINES = 64                # laid-out strings kept (a frame measures a line, then draws it)


def add_text(ax, x: float, y: float, s: str, **kw) -> "GlyphText":
    """`ax.text(x, y, s, **kw)`, as a GlyphText."""
    kw = {"verticalalignment": "baseline", "horizontalalignment": "left", "transform": ax.transData,
          "clip_on": False, **kw}
    t = GlyphText(x, y, text=s, **kw)
    if t.get_clip_path() is None:
        t.set_clip_path(ax.patch)
    ax._add_text(t)
    return t


class GlyphText(Text):
    """A `Text` drawn from cached glyphs on Agg (see the module's docstring)."""

    def draw(self, renderer):
        super().draw(self._glyph_renderer(renderer))

    def _glyph_renderer(self, renderer):
        if not isinstance(renderer, RendererAgg) or not hasattr(renderer, "_renderer") or not FAST \
                or self.get_path_effects() or self.get_usetex():
            return renderer
        kept = getattr(self, "_glyphs", None)
        if kept is None or kept.base is not renderer:
            kept = self._glyphs = GlyphRenderer(renderer)
        return kept


class GlyphRenderer:
    """A RendererAgg whose plain horizontal text is measured and drawn from cached glyphs; anything
    else is the renderer's own."""

    def __init__(self, renderer: RendererAgg):
        self.base = renderer

    def __getattr__(self, name):
        return getattr(self.base, name)

    def get_text_width_height_descent(self, s, prop, ismath):
        line = None if ismath else _layout(s, prop, self.base.dpi)
        if line is None:
            return self.base.get_text_width_height_descent(s, prop, ismath)
        return line.width / 64, line.height / 64, line.descent / 64

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        plain = not ismath and not angle and gc.get_antialiased() and (
            mtext is None or (mtext.get_fontfeatures() is None and mtext.get_language() is None))
        line = _layout(s, prop, self.base.dpi) if plain else None
        if line is None:
            return self.base.draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)
        base = self.base
        height = base.height
        X0, Y = x * 64, (height - y) * 64
        draw = base._renderer.draw_text_image
        glyphs = line.font
        for gi, pen in zip(line.glyphs, line.pens):
            buf, left, top = glyphs.bitmap(gi, round(X0 + pen), round(Y))
            draw(buf, left, int(height) - top + buf.shape[0], 0, gc)


class Line:
    """One string laid out: its glyphs, their pen positions and its extent (26.6 fixed point, as FreeType)."""

    __slots__ = ("font", "glyphs", "pens", "width", "height", "descent")

    def __init__(self, font, glyphs, pens, width, height, descent):
        self.font, self.glyphs, self.pens = font, glyphs, pens
        self.width, self.height, self.descent = width, height, descent


class Glyphs:
    """One font at one size and resolution: each character's glyph and extent, each pair's advance, each
    glyph's bitmap at each sub-pixel offset, all asked of FreeType once."""

    def __init__(self, font, size: float, dpi: float):
        self.ft, self.size, self.dpi = font, size, dpi
        self.flags = get_hinting_flag()
        self.chars: dict[str, tuple | None] = {}
        self.pairs: dict[str, float | None] = {}
        self.bitmaps: dict[tuple, tuple] = {}
        self.lines: dict[str, Line | None] = {}

    def _font(self):
        self.ft.clear()                             # the font object is shared with every other text
        self.ft.set_size(self.size, self.dpi)
        return self.ft

    def char(self, c: str):
        """(glyph index, advance, bottom, top) of a character alone, None if the font lacks it."""
        if c not in self.chars:
            ft = self._font()
            gi = ft.get_char_index(ord(c))
            info = None
            if gi:
                ft.set_text(c, 0.0, flags=self.flags)
                w, h = ft.get_width_height()
                d = ft.get_descent()
                info = (gi, w, -d, h - d)
            self.chars[c] = info
        return self.chars[c]

    def pair(self, ab: str):
        """The pen advance from the first character of `ab` to the second (kerning included), None when
        FreeType does not lay them out as two glyphs."""
        if ab not in self.pairs:
            xy = self._font().set_text(ab, 0.0, flags=self.flags)
            self.pairs[ab] = float(xy[1, 0] - xy[0, 0]) if len(xy) == 2 and xy[1, 1] == xy[0, 1] == 0 else None
        return self.pairs[ab]

    def line(self, s: str) -> Line | None:
        if s in self.lines:
            return self.lines[s]
        out = self._line(s)
        if len(self.lines) >= MAX_LINES:
            self.lines.clear()
        self.lines[s] = out
        return out

    def _line(self, s: str) -> Line | None:
        if not s:
            return None
        infos = [self.char(c) for c in s]
        if any(i is None for i in infos):
            return None
        pens = [0.0]
        for k in range(1, len(s)):
            step = self.pair(s[k - 1:k + 1])
            if step is None:
                return None
            pens.append(pens[-1] + step)
        bottom = min(i[2] for i in infos)
        top = max(i[3] for i in infos)
        return Line(self, [i[0] for i in infos], pens, pens[-1] + infos[-1][1], top - bottom, -bottom)

    def bitmap(self, gi: int, X: int, Y: int):
        """(alpha, left, top) of glyph `gi` with its origin at (X, Y) in 26.6 pixels (y up), as Agg
        renders it: rendered once for each sub-pixel offset, moved by whole pixels."""
        ix, fx = divmod(X, 64)
        iy, fy = divmod(Y, 64)
        key = (gi, fx, fy)
        hit = self.bitmaps.get(key)
        if hit is None:
            if len(self.bitmaps) >= MAX_BITMAPS:
                self.bitmaps.clear()
            ft = self._font()
            ft._set_transform([[0x10000, 0], [0, 0x10000]], [fx, fy])
            bm = ft._render_glyph(gi, self.flags, _NORMAL)
            buf = bm.buffer.copy()                 # (Agg takes it writeable; never written)
            hit = self.bitmaps[key] = (buf, bm.left, bm.top)
        buf, left, top = hit
        return buf, left + ix, top + iy


def _layout(s: str, prop, dpi: float) -> Line | None:
    if "\n" in s:
        return None
    key = (hash(prop), prop.get_size_in_points(), float(dpi))
    glyphs = _FONTS.get(key)
    if glyphs is None:
        glyphs = _FONTS[key] = Glyphs(get_font(fontManager._find_fonts_by_props(prop)),
                                      prop.get_size_in_points(), float(dpi))
    return glyphs.line(s)


_FONTS: dict[tuple, Glyphs] = {}

try:                                            # Agg's own glyph calls (matplotlib >= 3.11)
    from matplotlib.ft2font import FT2Font, RenderMode

    _NORMAL = RenderMode.NORMAL
    FAST = all(hasattr(FT2Font, a) for a in ("_set_transform", "_render_glyph")) and \
        hasattr(RendererAgg, "_draw_text_glyphs_and_boxes")
except ImportError:                             # older: matplotlib draws the text
    _NORMAL, FAST = None, False
