"""The loss view's above_floor option: the loss minus the problem's least loss."""
import numpy as np
import pytest

import animopt
from animopt.layout import Canvas
from animopt.renderer import checked_plan, display, timeline

SCENE = """
seed = 3
[problem]
type = "line"
a = 3.0
b = 10.0
n = 40
x_range = [-1, 1]
noise = 0.6
[train]
steps = 30
batch_size = [1, 8]
[[optimizer]]
type = "sgd"
lr = 0.1
[render]
size = [320, 240]
dpi = 40
views = [{ type = "loss", above_floor = true }]
"""


def test_above_floor_draws_the_excess_on_a_log_axis():
    scene = animopt.parse_scene(SCENE)
    history = animopt.simulate(scene)
    with Canvas(scene.render, history, scene.title, timeline(scene, history), display(scene)) as canvas:
        view = canvas.views[0]
        canvas.rgb(history.steps)
        drawn = view.lines[0].get_ydata()
    excess = history.loss[:, 0] - history.problem.min_loss
    assert view.ax.get_ylabel() == "loss - least loss"
    assert np.all(excess > 0)
    assert np.allclose(drawn[-1], excess[view.keep][-1])


def test_above_floor_needs_a_known_least_loss():
    text = SCENE.split("[train]")[0].split("[problem]")[0] + """
[problem]
type = "expression"
f = "sin(x) + y*y"
params = ["x", "y"]
[train]
steps = 30
[[optimizer]]
type = "sgd"
lr = 0.1
[render]
views = [{ type = "loss", above_floor = true }]
"""
    with pytest.raises(animopt.SceneError, match="above_floor: this problem has no known least loss"):
        checked_plan(animopt.parse_scene(text))
