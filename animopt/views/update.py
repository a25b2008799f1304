"""`update`: one run's update rule written out in mathtext, with the numbers of the update the frame's
step is about to take substituted (the gradient, the optimizer's buffers, the learning rate, the step
index and bias corrections, the step and the next point), changing every frame.

Every optimizer type has its rule (RULES); a type without one gets the generic
params <- params - lr * update, with its numbers. The buffers come from the History's optional
`momentum`, `second_moment` and `step_scale` arrays, which the simulator records when a scene has
this view (animopt.teach.buffers_wanted).
"""
from __future__ import annotations

import numpy as np

from .base import View

MAX_COORDS = 3           # coordinates written out; more are elided


def num(x: float) -> str:
    """A number in mathtext: 3 significant digits, powers of ten past 1e4 or under 1e-3."""
    x = float(x)
    if not np.isfinite(x):
        return r"\mathrm{nan}" if np.isnan(x) else (r"\infty" if x > 0 else r"-\infty")
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e3:
        return f"{x:.3g}"
    if 1e3 <= abs(x) < 1e4:
        return f"{x:.0f}"
    m, e = f"{x:.2e}".split("e")
    return rf"{float(m):.3g}{{\times}}10^{{{int(e)}}}"


def vec(v) -> str:
    """A vector in mathtext: (a, b) or (a, b, ..., z)."""
    v = np.asarray(v, dtype=np.float64).ravel()
    if v.size <= MAX_COORDS:
        parts = [num(x) for x in v]
    else:
        parts = [num(v[0]), num(v[1]), r"\ldots", num(v[-1])]
    return r"(" + r",\ ".join(parts) + r")"


class Numbers:
    """What one update of one run was: `t` (1 for the first), the run's hyperparameters `hp`, the
    gradient `g`, the optimizer's buffers after it (`m`, `v`, `s`; None when not recorded or the rule
    has none) and before it (`m0`, `v0`), the direction `u`, the learning rate `lr`, `theta` -> `theta1`."""

    def __init__(self, h, r: int, k: int, hp: dict):
        self.t, self.hp, self.lr = k + 1, hp, float(h.lr[k, r])
        self.g, self.u = h.grads[k, r], h.updates[k, r]
        self.theta, self.theta1 = h.params[k, r], h.params[k + 1, r]

        def buf(a, i):
            if a is None or i < 0 or not np.isfinite(a[i, r]).all():
                return None
            return a[i, r]

        self.m, self.v, self.s = buf(h.momentum, k), buf(h.second_moment, k), buf(h.step_scale, k)
        self.m0, self.v0 = buf(h.momentum, k - 1), buf(h.second_moment, k - 1)

    def get(self, key, default=0.0):
        v = self.hp.get(key, default)
        return default if v is None else v

    def f(self, key, default=0.0) -> str:
        """A hyperparameter as a number."""
        return num(self.get(key, default))


def _or(x, text="(\\mathrm{not\\ recorded})") -> str:
    return vec(x) if x is not None else text


# ---------------------------------------------------------------- the rules
# each gives (lines before the step, the direction's symbol U with theta <- theta - lr * U)

def _decay_line(n: Numbers, coupled: bool = True) -> list[str]:
    wd = n.get("weight_decay")
    if not wd:
        return []
    if coupled:
        return [rf"g \leftarrow g + \lambda\theta,\ \lambda = {num(wd)}"]
    return [rf"\theta \leftarrow \theta\,(1 - \eta\lambda),\ \lambda = {num(wd)}\ \mathrm{{(decoupled)}}"]


def _sgd(n: Numbers):
    mu, style = n.get("momentum"), n.get("momentum_style", "torch")
    lines = _decay_line(n)
    if not mu:
        return lines, "g"
    if style == "ema":
        lines.append(rf"v \leftarrow \beta v + (1-\beta)\,g = {num(mu)}\,{_or(n.m0, 'v')} + {num(1 - mu)}\,"
                     rf"{vec(n.g)} = {_or(n.m)}")
        return lines, "v"
    if style == "keras":
        vel = None if n.m is None else -n.lr * n.m
        lines.append(rf"v \leftarrow \mu v - \eta g = {_or(vel)},\ \mu = {num(mu)}")
        return lines, r"(\mu v - \eta g)/(-\eta)" if n.get("nesterov", False) else r"-v/\eta"
    tau = n.get("dampening")
    keep = rf"(1-\tau)\,g" if tau else "g"
    lines.append(rf"b \leftarrow \mu b + {keep} = {num(mu)}\,{_or(n.m0, 'b')} + {vec(n.g * (1 - tau))} = {_or(n.m)}")
    return lines, (r"g + \mu b" if n.get("nesterov", False) else "b")


def _rmsprop(n: Numbers):
    a = n.get("alpha", 0.99)
    lines = _decay_line(n)
    lines.append(rf"s \leftarrow \alpha s + (1-\alpha)\,g^2 = {_or(n.v)},\ \alpha = {num(a)}")
    den = r"\sqrt{s - \bar{g}^2}" if n.get("centered", False) else r"\sqrt{s}"
    if n.get("centered", False):
        lines.append(r"\bar{g} \leftarrow \alpha \bar{g} + (1-\alpha)\,g")
    lines.append(rf"1/({den}+\epsilon) = {_or(n.s)}")
    if n.get("momentum"):
        lines.append(rf"b \leftarrow \mu b + g/({den}+\epsilon) = {_or(n.m)},\ \mu = {n.f('momentum')}")
        return lines, "b"
    return lines, rf"g/({den}+\epsilon)"


def _betas(n: Numbers):
    b = n.get("betas", (0.9, 0.999))
    return float(b[0]), float(b[1])


def _moments(n: Numbers, v_word: str = r"g^2") -> list[str]:
    b1, b2 = _betas(n)
    return [rf"m \leftarrow \beta_1 m + (1-\beta_1)\,g = {_or(n.m)},\ \beta_1 = {num(b1)}",
            rf"v \leftarrow \beta_2 v + (1-\beta_2)\,{v_word} = {_or(n.v)},\ \beta_2 = {num(b2)}"]


def _adam(n: Numbers, decoupled=None):
    b1, b2 = _betas(n)
    dec = n.get("decoupled_weight_decay", False) if decoupled is None else decoupled
    lines = _decay_line(n, coupled=not dec) + _moments(n)
    c1, c2 = 1 - b1 ** n.t, 1 - b2 ** n.t
    mh = None if n.m is None else n.m / c1
    vh = None if n.v is None else n.v / c2
    lines.append(rf"\hat{{m}} = m/(1-\beta_1^{{{n.t}}}) = m/{num(c1)} = {_or(mh)}")
    name = r"\max(v)" if n.get("amsgrad", False) else "v"
    lines.append(rf"\hat{{v}} = {name}/(1-\beta_2^{{{n.t}}}) = {name}/{num(c2)} = {_or(vh)}")
    lines.append(rf"1/(\sqrt{{\hat{{v}}}}+\epsilon) = {_or(n.s)},\ \epsilon = {n.f('eps', 1e-8)}")
    return lines, r"\hat{m}/(\sqrt{\hat{v}}+\epsilon)"


def _adamw(n: Numbers):
    return _adam(n, decoupled=True)


def _adamax(n: Numbers):
    b1, b2 = _betas(n)
    u = None if n.v is None else np.sqrt(n.v)
    lines = _decay_line(n) + [
        rf"m \leftarrow \beta_1 m + (1-\beta_1)\,g = {_or(n.m)}",
        rf"u \leftarrow \max(\beta_2 u,\ |g| + \epsilon) = {_or(u)}",
        rf"1-\beta_1^{{{n.t}}} = {num(1 - b1 ** n.t)}"]
    return lines, rf"m/((1-\beta_1^{{{n.t}}})\,u)"


def _nadam(n: Numbers):
    b1, b2 = _betas(n)
    psi = n.get("momentum_decay", 4e-3)
    mu = b1 * (1 - 0.5 * 0.96 ** (n.t * psi))
    lines = _decay_line(n, coupled=not n.get("decoupled_weight_decay", False)) + _moments(n)
    lines.append(rf"\mu_{{{n.t}}} = \beta_1(1 - 0.5 \cdot 0.96^{{t\psi}}) = {num(mu)},\ "
                 rf"\hat{{v}} = v/(1-\beta_2^{{{n.t}}}) = v/{num(1 - b2 ** n.t)}")
    lines.append(rf"1/(\sqrt{{\hat{{v}}}}+\epsilon) = {_or(n.s)}")
    return lines, (r"[(1-\mu_t)\,g/(1-\Pi\mu) + \mu_{t+1}\,m/(1-\Pi\mu\,\mu_{t+1})]"
                   r"/(\sqrt{\hat{v}}+\epsilon)")


def _radam(n: Numbers):
    b1, b2 = _betas(n)
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * n.t * b2 ** n.t / (1 - b2 ** n.t)
    lines = _decay_line(n, coupled=not n.get("decoupled_weight_decay", False)) + _moments(n)
    lines.append(rf"\rho_{{{n.t}}} = \rho_\infty - 2t\beta_2^t/(1-\beta_2^t) = {num(rho)}"
                 + (r"\ >\ 5:\ \mathrm{rectified}" if rho > 5 else r"\ \leq\ 5:\ \mathrm{momentum\ only}"))
    if rho > 5:
        lines.append(rf"r_t\sqrt{{1-\beta_2^t}}/(\sqrt{{v}}+\epsilon) = {_or(n.s)}")
        return lines, r"\hat{m}\,r_t\sqrt{1-\beta_2^t}/(\sqrt{v}+\epsilon)"
    return lines, r"\hat{m}"


def _adagrad(n: Numbers):
    lines = _decay_line(n) + [rf"s \leftarrow s + g^2 = {_or(n.v)}"]
    decay = n.get("lr_decay")
    if decay:
        lines.append(rf"\eta_t = \eta/(1 + (t-1)\delta) = {num(n.lr / (1 + (n.t - 1) * decay))}")
    lines.append(rf"1/(\sqrt{{s}}+\epsilon) = {_or(n.s)}")
    return lines, r"g/(\sqrt{s}+\epsilon)"


def _adadelta(n: Numbers):
    return _decay_line(n) + [
        rf"s \leftarrow \rho s + (1-\rho)\,g^2 = {_or(n.v)},\ \rho = {n.f('rho', 0.9)}",
        rf"\sqrt{{a+\epsilon}}/\sqrt{{s+\epsilon}} = {_or(n.s)}",
        r"a \leftarrow \rho a + (1-\rho)\,\Delta^2"], r"\Delta = g\sqrt{a+\epsilon}/\sqrt{s+\epsilon}"


def _symbolic(*lines, U="u"):
    """A rule written out without recorded buffers: its lines, then the step with its numbers."""
    def rule(n: Numbers):
        return list(lines), U
    return rule


RULES = {
    "sgd": _sgd, "rmsprop": _rmsprop, "adam": _adam, "adamw": _adamw, "adagrad": _adagrad,
    "adadelta": _adadelta, "adamax": _adamax, "nadam": _nadam, "radam": _radam,
    "rprop": _symbolic(r"\eta_i \leftarrow \eta_i\,\eta_+\ \mathrm{if}\ g_i g_i' > 0,\ \eta_i\,\eta_-\ \mathrm{if}"
                       r"\ g_i g_i' < 0\ \mathrm{(clipped)}", U=r"\eta_i\,\mathrm{sign}(g_i)/\eta"),
    "asgd": _symbolic(r"\theta \leftarrow \theta(1-\lambda\eta_t) - \eta_t g,\ \eta_t = \eta/(1+\lambda\eta t)^\alpha",
                      r"\bar\theta \leftarrow \mathrm{average\ of\ the\ iterates\ from}\ t_0"),
    "adafactor": _symbolic(r"R, C \leftarrow \mathrm{row/column\ averages\ of}\ g^2\ "
                           r"(\beta_{2,t} = 1 - t^{c})", U=r"g/\sqrt{\hat{v}}\ \mathrm{(factored)}"),
    "lbfgs": _symbolic(r"d = -H_k\,g\ \mathrm{(two\ loops\ over\ the\ last}\ s_i, y_i)",
                       r"\mathrm{step\ along}\ d\ \mathrm{(line\ search\ if\ set)}", U=r"-d\,\alpha/\eta"),
    "muon": _symbolic(r"B \leftarrow \mu B + g", r"O = \mathrm{NewtonSchulz}(g + \mu B\ \mathrm{or}\ B)",
                      U=r"O\ \mathrm{(orthogonalised,\ scaled)}"),
    "lion": _symbolic(r"c = \mathrm{sign}(\beta_1 m + (1-\beta_1)\,g)", r"m \leftarrow \beta_2 m + (1-\beta_2)\,g",
                      U=r"c + \lambda\theta"),
    "adabelief": _symbolic(r"m \leftarrow \beta_1 m + (1-\beta_1)\,g",
                           r"s \leftarrow \beta_2 s + (1-\beta_2)(g-m)^2 + \epsilon",
                           U=r"\hat{m}/(\sqrt{\hat{s}}+\epsilon)"),
    "lamb": _symbolic(r"m, v\ \mathrm{as\ Adam};\ r = \hat{m}/(\sqrt{\hat{v}}+\epsilon) + \lambda\theta",
                      U=r"r\ \|\theta\|/\|r\|"),
    "yogi": _symbolic(r"m \leftarrow \beta_1 m + (1-\beta_1)\,g",
                      r"v \leftarrow v - (1-\beta_2)\,\mathrm{sign}(v - g^2)\,g^2",
                      U=r"\hat{m}/(\sqrt{\hat{v}}+\epsilon)"),
    "ademamix": _symbolic(r"m_1 \leftarrow \beta_1 m_1 + (1-\beta_1)\,g,\ m_2 \leftarrow \beta_3 m_2 + (1-\beta_3)\,g",
                          r"v \leftarrow \beta_2 v + (1-\beta_2)\,g^2",
                          U=r"(\hat{m}_1 + \alpha m_2)/(\sqrt{\hat{v}}+\epsilon)"),
    "prodigy": _symbolic(r"d \leftarrow \max(d,\ \mathrm{estimate\ of\ the\ distance\ to\ the\ solution})",
                         r"m, v\ \mathrm{as\ Adam,\ on}\ d\,g", U=r"d\,m/(\sqrt{v}+d\epsilon)"),
    "schedule_free_sgd": _symbolic(r"z \leftarrow z - \eta g(y),\ x \leftarrow (1-c)\,x + c\,z",
                                   r"y = (1-\beta)\,z + \beta x", U=r"(y_t - y_{t+1})/\eta"),
    "schedule_free_adamw": _symbolic(r"v \leftarrow \beta_2 v + (1-\beta_2)\,g^2,\ z \leftarrow z - \eta\,g/"
                                     r"(\sqrt{\hat{v}}+\epsilon)", r"x \leftarrow (1-c)\,x + c\,z,\ "
                                     r"y = (1-\beta_1)\,z + \beta_1 x", U=r"(y_t - y_{t+1})/\eta"),
}


def _torch(n: Numbers):
    """Any torch.optim class run as it is: its step, as torch took it."""
    name = str(n.get("class", "optimizer")).replace("_", r"\_")
    return [rf"\theta' = \mathrm{{torch.optim.{name}.step}}(\theta,\ g)"], r"(\theta - \theta')/\eta"


RULES["torch"] = _torch


def generic(n: Numbers):
    """A type without a written rule: the step it took."""
    return [r"u = \mathrm{update}(g,\ \mathrm{state})"], "u"


def rule_lines(kind: str, n: Numbers) -> list[str]:
    """Every line of the update of `n`, in mathtext."""
    lines, U = RULES.get(kind, generic)(n)
    head = [rf"t = {n.t},\ \ \eta_t = {num(n.lr)}", rf"g = \nabla L(\theta) = {vec(n.g)}"]
    step = -n.lr * n.u
    tail = [rf"\Delta\theta = -\eta_t\,{U} = -{num(n.lr)} \times {vec(n.u)} = {vec(step)}",
            rf"\theta \leftarrow \theta + \Delta\theta:\ \ {vec(n.theta)} \rightarrow {vec(n.theta1)}"]
    return [f"${s}$" for s in head + lines + tail]


def run_hparams(ctx, r: int) -> tuple[str, dict, str]:
    """(type, hyperparameters, name) of run `r`: its [[optimizer]] entry's values, the swept ones its own."""
    h = ctx.history
    entry = int(h.optimizer[r]) if h.optimizer is not None else 0
    if not ctx.optimizers or entry >= len(ctx.optimizers):
        return "", {}, "the optimizer"
    spec = ctx.optimizers[entry]
    hp = dict(spec.hparams)
    for k, v in h.hparams.items():
        if k in hp:
            x = np.asarray(v[r])
            hp[k] = tuple(float(a) for a in x) if x.ndim else float(x)
    return spec.type, hp, spec.type


class Update(View):
    def setup(self, fig, cell):
        h, ctx, th, o = self.h, self.ctx, self.ctx.theme, self.options
        self.ax = ax = fig.add_subplot(cell)
        ax.set_axis_off()
        run = o.get("run", 0)
        self.r = h.labels.index(run) if isinstance(run, str) else int(run)
        self.kind, self.hp, _ = run_hparams(ctx, self.r)
        ax.set_title(o.get("title") or f"{h.labels[self.r]}: the update rule", color=ctx.colors[self.r])
        n_lines = len(rule_lines(self.kind, Numbers(h, self.r, 0, self.hp))) if h.steps else 1
        size = o.get("fontsize") or th.font_size
        gap = 1.0 / max(n_lines + 0.5, 6)
        self.texts = [ax.text(0.0, 1.0 - (i + 0.5) * gap, "", transform=ax.transAxes, ha="left", va="center",
                              fontsize=size, color=th.foreground, clip_on=False) for i in range(n_lines)]
        self.cache: dict[int, list[str]] = {}
        return self.texts

    def lines_at(self, step: int) -> list[str]:
        """The lines of the update the frame at `step` shows: the one taken from `step` (the last one
        at the end)."""
        h = self.h
        k = min(step, h.steps - 1)
        if k not in self.cache:
            if len(self.cache) > 64:
                self.cache.clear()
            self.cache[k] = rule_lines(self.kind, Numbers(h, self.r, k, self.hp))
        return self.cache[k]

    def _fit(self) -> None:
        """Once the layout is final: one font size for every line, so that the widest of a few sampled
        updates fits the panel."""
        self.fitted = True
        fig, h = self.ax.get_figure(), self.h
        renderer = fig.canvas.get_renderer()
        room = self.ax.get_window_extent(renderer).width
        t = self.texts[0]
        widest = 0.0
        for k in np.unique(np.linspace(0, h.steps - 1, 5).round().astype(int)):
            for s in self.lines_at(int(k)):
                t.set_text(s)
                widest = max(widest, t.get_window_extent(renderer).width)
        if widest > 0.96 * room:
            size = max(5.0, t.get_fontsize() * 0.96 * room / widest * 0.94)   # room for wider numbers
            for x in self.texts:
                x.set_fontsize(size)

    def update(self, step: int) -> None:
        if self.h.steps == 0:
            return
        if not getattr(self, "fitted", False):
            self._fit()
        lines = self.lines_at(step)
        for t, s in zip(self.texts, lines):
            t.set_text(s)
