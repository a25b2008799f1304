"""animopt: declarative scenes -> animations of gradient-descent optimizers at work."""
from .history import History
from .scene import Scene, load_scene, parse_scene
from .spec import SceneError

__version__ = "0.1.0"


def simulate(scene, device=None):
    """Runs every optimizer of `scene` (a Scene or a path) and returns its History."""
    from .simulator import simulate as _simulate

    return _simulate(_scene(scene), device=device)


def render(scene, output=None, formats=None, history=None, device=None, progress=None):
    """Renders `scene` (a Scene or a path) into `output` (a folder, or one file); returns the paths."""
    from .renderer import render as _render

    return _render(_scene(scene), output, formats=formats, history=history, device=device, progress=progress)


def still(scene, output, step=None, history=None, device=None):
    """Writes one frame of `scene` as a PNG (default: its poster step, else the last)."""
    from .renderer import still as _still

    return _still(_scene(scene), output, step=step, history=history, device=device)


def show(scene, output="output", overrides=None, embed_limit_mb=20.0, device=None, **kw):
    """Renders `scene` (a Scene or a path) and returns an object that displays inline in Jupyter: the
    HTML player with the WebM embedded (up to `embed_limit_mb`, else a link to the file), and the
    poster as PNG. Keywords override scene keys: `show("x.toml", fps=10, train__steps=50)`."""
    from .notebook import show as _show

    return _show(scene, output, overrides=overrides, embed_limit_mb=embed_limit_mb, device=device, **kw)


def _scene(scene):
    return scene if isinstance(scene, Scene) else load_scene(scene)


__all__ = ["History", "Scene", "SceneError", "load_scene", "parse_scene", "simulate", "render", "still", "show",
           "__version__"]
