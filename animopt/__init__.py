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


def _scene(scene):
    return scene if isinstance(scene, Scene) else load_scene(scene)


__all__ = ["History", "Scene", "SceneError", "load_scene", "parse_scene", "simulate", "render", "still",
           "__version__"]
