"""How a run is drawn: the display keys of an `[[optimizer]]` entry (declarations; no matplotlib).

`label`, `color`, `linestyle`, `marker` and `zorder` are checked here with plain rules, so `validate`
rejects what `render` could not draw. Colours are the names and codes matplotlib accepts that are
worth writing by hand: CSS colour names, `tab:` colours, `C0`..`C9`, one-letter codes and hex codes.
"""
from __future__ import annotations

import re

from .spec import Field, did_you_mean

CSS_COLORS = frozenset("""
aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue blueviolet brown
burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk crimson cyan darkblue
darkcyan darkgoldenrod darkgray darkgreen darkgrey darkkhaki darkmagenta darkolivegreen darkorange
darkorchid darkred darksalmon darkseagreen darkslateblue darkslategray darkslategrey darkturquoise
darkviolet deeppink deepskyblue dimgray dimgrey dodgerblue firebrick floralwhite forestgreen fuchsia
gainsboro ghostwhite gold goldenrod gray green greenyellow grey honeydew hotpink indianred indigo
ivory khaki lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan
lightgoldenrodyellow lightgray lightgreen lightgrey lightpink lightsalmon lightseagreen lightskyblue
lightslategray lightslategrey lightsteelblue lightyellow lime limegreen linen magenta maroon
mediumaquamarine mediumblue mediumorchid mediumpurple mediumseagreen mediumslateblue
mediumspringgreen mediumturquoise mediumvioletred midnightblue mintcream mistyrose moccasin
navajowhite navy oldlace olive olivedrab orange orangered orchid palegoldenrod palegreen
paleturquoise palevioletred papayawhip peachpuff peru pink plum powderblue purple rebeccapurple red
rosybrown royalblue saddlebrown salmon sandybrown seagreen seashell sienna silver skyblue slateblue
slategray slategrey snow springgreen steelblue tan teal thistle tomato turquoise violet wheat white
whitesmoke yellow yellowgreen
""".split())
TABLEAU_COLORS = frozenset(f"tab:{c}" for c in
                           "blue orange green red purple brown pink gray olive cyan".split())
CYCLE_COLORS = frozenset(f"C{i}" for i in range(10))
LETTER_COLORS = frozenset("bgrcmykw")
_HEX = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")

LINESTYLES = ("-", "--", ":", "-.", "solid", "dashed", "dotted", "dashdot")
MARKERS = ("o", "s", "D", "d", "^", "v", "<", ">", "p", "P", "h", "H", "8", "*", "X", "x", "+", ".")


def color_problem(value: str) -> str | None:
    """None for a colour matplotlib draws (see the module's note), else what was expected."""
    if _HEX.fullmatch(value) or value in CYCLE_COLORS or value in LETTER_COLORS:
        return None
    if value.lower() in CSS_COLORS or value.lower() in TABLEAU_COLORS:
        return None
    return ("expected a colour: a name like 'crimson' or 'tab:blue', 'C0'..'C9', or a hex code like "
            f"'#1f77b4', got {value!r}" + did_you_mean(value.lower(), sorted(CSS_COLORS | TABLEAU_COLORS)))


DISPLAY = {
    "label": Field("str", doc="the run's name in legends and notes (default: the optimizer's name, "
                              "plus the settings that tell it from other entries of the same type)"),
    "color": Field("str", check=color_problem,
                   doc="line colour: a name ('crimson', 'tab:blue'), 'C0'..'C9' or a hex code (default: the palette)"),
    "linestyle": Field("str", choices=LINESTYLES, doc="line style (default: solid; dashed when it hides another run)"),
    "marker": Field("str", choices=MARKERS, doc="marker of the run's current point (default: 'o')"),
    "zorder": Field("number", doc="drawing order among the runs: higher is drawn on top (default: the entry's order)"),
}
