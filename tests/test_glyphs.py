"""GlyphText (animopt.glyphs): text drawn from cached glyphs has the pixels of matplotlib's own text."""
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import animopt.glyphs as glyphs
from animopt.glyphs import add_text

rng = np.random.default_rng(1)
STRINGS = ([f"\u2605 loss {v:.2g} at lr={a:.3g}, momentum={b:.3g} (+{n} ties)" for v, a, b, n in
            zip(np.exp(rng.normal(-6, 3, 12)), rng.uniform(0.05, 10, 12), rng.uniform(0, 0.95, 12),
                rng.integers(1, 10**6, 12))]
           + [f"\u00d7 {n}/1000000\ndiverged" for n in rng.integers(1, 10**6, 4)]
           + ["AVAWAY To Ty.", "fi fl ffi office", "Wj(p)|_ \u00e9", "x", "", "$x^2$ mathtext", "\u4e2d fallback"])


def _frames(fast: bool, strings, pos, **kw):
    fig = Figure(figsize=(6.4, 3.2), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.1, 0.2, 0.7, 0.6))
    t = (add_text(ax, *pos, "", **kw) if fast else ax.text(*pos, "", **kw))
    out = []
    for s in strings:
        t.set_text(s)
        canvas.draw()
        out.append(np.asarray(canvas.buffer_rgba()).copy())
    return out


@pytest.mark.parametrize("kw", [dict(ha="right", va="bottom", fontsize=9, color="#222222"),
                                dict(ha="left", va="top", fontsize=9, color="#dddddd", linespacing=1.3),
                                dict(ha="center", va="center", fontsize=11.5, color="C1", alpha=0.7)])
@pytest.mark.parametrize("pos", [(1.0, 1.04), (0.3173, 0.5551), (1.0457, 1.0)])
def test_glyph_text_has_the_pixels_of_plain_text(kw, pos):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # (a CJK character missing from the font)
        plain = _frames(False, STRINGS, pos, **kw)
        fast = _frames(True, STRINGS, pos, **kw)
    differ = [s for s, a, b in zip(STRINGS, plain, fast) if not np.array_equal(a, b)]
    assert not differ


def test_glyph_text_draws_from_cached_glyphs_and_falls_back_where_it_must():
    if not glyphs.FAST:
        pytest.skip("this matplotlib's Agg does not render glyph by glyph")
    glyphs._FONTS.clear()
    _frames(True, ["loss 0.5", "loss 0.25"], (0.5, 0.5), fontsize=10)
    (font,) = glyphs._FONTS.values()
    assert font.line("loss 0.5") is not None and font.bitmaps
    assert font.line("office") is None                   # a ligature: laid out by FreeType itself
    assert font.line("\u4e2d") is None                   # not in the font: matplotlib's fallback
    assert font.line("") is None
