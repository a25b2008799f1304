"""Small batched gradient transforms (Optax-style init/update pairs).

Tensors are `[R, P]` (runs x parameters); numeric hyperparameters are `[R, 1]` tensors, one value per
run; flags are plain Python values. Each `update(g, state, ctx)` returns the new direction and state;
the last transform of a chain returns the direction `u` the simulator applies as `params - lr * u`.
The formulas follow torch.optim's single-tensor code operation by operation, so trajectories agree to
rounding.
"""
from __future__ import annotations

import torch

from .base import Ctx, Transform


def _stateless(fn) -> Transform:
    return Transform(lambda p: (), lambda g, s, ctx: (fn(g, ctx), s))


def identity() -> Transform:
    return _stateless(lambda g, ctx: g)


def negate(flag: bool) -> Transform:
    """-g when maximizing (torch's `maximize`)."""
    return _stateless(lambda g, ctx: -g) if flag else identity()


def add_decayed_weights(wd) -> Transform:
    """u + wd * params. Before a scaling transform it is torch's L2 `weight_decay` (added to the
    gradient); after it, decoupled decay (AdamW: params *= 1 - lr*wd, then the step)."""
    if not _any(wd):
        return identity()
    return _stateless(lambda g, ctx: g + wd * ctx.params)


def _any(x) -> bool:
    return bool(torch.as_tensor(x).ne(0).any())


def _like(h, p):
    """A per-run factor ([R, 1] tensor or number) spread to the shape of `p`."""
    return h.expand_as(p).contiguous() if torch.is_tensor(h) else h


def _report(ctx: Ctx, buffers) -> None:
    """Hands named buffers `[R, P]` (`buffers()`, called only then) to the simulator when it asks
    (`ctx.record`, a dict), for the views that draw them: "momentum" the momentum or velocity buffer in
    the gradient's units, "second_moment" the squared-gradient estimate, "step_scale" the
    per-coordinate factor the rule multiplies the gradient (or its average) by."""
    rec = getattr(ctx, "record", None)
    if rec is not None:
        rec.update(buffers())


# --- momentum ------------------------------------------------------------------------------------

def trace_torch(momentum, dampening, nesterov: bool) -> Transform:
    """torch.optim.SGD: buf = g at the first update, then buf = m*buf + (1-d)*g; the direction is buf,
    or g + m*buf with nesterov. Runs with momentum 0 use g itself, as torch does."""
    if not _any(momentum):
        return identity()
    plain = momentum == 0   # [R, 1]
    # with momentum 0 the buffer is (1 - dampening)*g: it is g itself unless dampening is set
    select = _any(plain & (torch.as_tensor(dampening) != 0))

    def init(p):   # the factors as [R, P]: same-shape products are several times faster than [R, 1] ones
        return None, _like(momentum, p), _like(1 - dampening, p)

    def update(g, state, ctx: Ctx):
        buf, m, keep = state
        buf = g.clone() if buf is None else buf * m + g * keep
        u = g + buf * m if nesterov else buf
        _report(ctx, lambda: dict(momentum=buf))
        return (torch.where(plain, g, u) if select else u), (buf, m, keep)

    return Transform(init, update)


def trace_ema(beta) -> Transform:
    """The textbook moving average of the seeds: avg = beta*avg + (1-beta)*g from avg = 0; the
    direction is avg (after t updates of a constant g it is (1 - beta^t) g)."""

    def init(p):
        return torch.zeros_like(p), _like(beta, p), _like(1 - beta, p)

    def update(g, state, ctx: Ctx):
        avg, b, rest = state
        avg = b * avg + rest * g
        _report(ctx, lambda: dict(momentum=avg))
        return avg, (avg, b, rest)

    return Transform(init, update)


def trace_keras(momentum, nesterov: bool) -> Transform:
    """Keras' SGD: v = m*v - lr_t*g, params += v (nesterov: params += m*v - lr_t*g). The velocity v is
    in parameter units, so the direction is -v/lr_t (-(m*v - lr_t*g)/lr_t): equal to torch's buffer
    when the learning rate is constant. Needs lr_t > 0 at every update."""

    def update(g, v, ctx: Ctx):
        v = momentum * v - ctx.lr * g
        step = momentum * v - ctx.lr * g if nesterov else v
        _report(ctx, lambda: dict(momentum=-v / ctx.lr))           # the velocity in the gradient's units
        return -step / ctx.lr, v

    return Transform(torch.zeros_like, update)


# --- adaptive scalings ---------------------------------------------------------------------------

def scale_by_rms(alpha, eps, centered: bool, momentum) -> Transform:
    """torch.optim.RMSprop: sq = alpha*sq + (1-alpha)*g^2; g / (sqrt(sq [- mean^2]) + eps), through a
    momentum buffer buf = m*buf + that when momentum > 0."""
    use_buf = _any(momentum)

    def init(p):
        z = torch.zeros_like(p)
        return (z, z.clone(), z.clone())

    def update(g, state, ctx: Ctx):
        sq, avg, buf = state
        sq = sq * alpha + g * g * (1 - alpha)
        if centered:
            avg = torch.lerp(avg, g, 1 - alpha)
            denom = (sq - avg * avg).sqrt() + eps
        else:
            denom = sq.sqrt() + eps
        u = g / denom
        if use_buf:
            buf = buf * momentum + u
            u = buf
        _report(ctx, lambda: dict(second_moment=sq, step_scale=1 / denom,
                                  **({"momentum": buf} if use_buf else {})))
        return u, (sq, avg, buf)

    return Transform(init, update)


def scale_by_adam(b1, b2, eps, amsgrad: bool = False) -> Transform:
    """torch.optim.Adam: m_hat / (sqrt(v_hat) + eps), with amsgrad the running max of v."""

    def init(p):
        z = torch.zeros_like(p)
        return (z, z.clone(), z.clone())

    def update(g, state, ctx: Ctx):
        m, v, vmax = state
        t = ctx.t
        m = torch.lerp(m, g, 1 - b1)
        v = v * b2 + g * g * (1 - b2)
        bc1 = 1 - b1 ** t
        bc2_sqrt = (1 - b2 ** t) ** 0.5
        if amsgrad:
            vmax = torch.maximum(vmax, v)
            denom = vmax.sqrt() / bc2_sqrt + eps
        else:
            denom = v.sqrt() / bc2_sqrt + eps
        _report(ctx, lambda: dict(momentum=m, second_moment=vmax if amsgrad else v, step_scale=1 / denom))
        return m / denom / bc1, (m, v, vmax)

    return Transform(init, update)


def scale_by_adamax(b1, b2, eps) -> Transform:
    """torch.optim.Adamax: m / (1 - b1^t) / u with u = max(b2*u, |g| + eps)."""

    def init(p):
        z = torch.zeros_like(p)
        return (z, z.clone())

    def update(g, state, ctx: Ctx):
        m, u = state
        m = torch.lerp(m, g, 1 - b1)
        u = torch.maximum(u * b2, g.abs() + eps)
        _report(ctx, lambda: dict(momentum=m, second_moment=u * u, step_scale=1 / u))    # u: the infinity norm
        return m / u / (1 - b1 ** ctx.t), (m, u)

    return Transform(init, update)


def scale_by_nadam(b1, b2, eps, momentum_decay) -> Transform:
    """torch.optim.NAdam: Nesterov Adam with the momentum schedule mu_t = b1*(1 - 0.5*0.96^(t*psi))."""

    def init(p):
        z = torch.zeros_like(p)
        return (z, z.clone(), torch.ones_like(p[:, :1]))

    def update(g, state, ctx: Ctx):
        m, v, mu_prod = state
        t = ctx.t
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_prod = mu_prod * mu
        m = torch.lerp(m, g, 1 - b1)
        v = v * b2 + g * g * (1 - b2)
        denom = (v / (1 - b2 ** t)).sqrt() + eps
        u = g * ((1 - mu) / (1 - mu_prod)) / denom + m * (mu_next / (1 - mu_prod * mu_next)) / denom
        _report(ctx, lambda: dict(momentum=m, second_moment=v, step_scale=1 / denom))
        return u, (m, v, mu_prod)

    return Transform(init, update)


def scale_by_radam(b1, b2, eps) -> Transform:
    """torch.optim.RAdam: the rectified Adam step while the variance is tractable (rho_t > 5),
    the bias-corrected momentum before."""

    def init(p):
        z = torch.zeros_like(p)
        return (z, z.clone())

    def update(g, state, ctx: Ctx):
        m, v = state
        t = ctx.t
        m = torch.lerp(m, g, 1 - b1)
        v = v * b2 + g * g * (1 - b2)
        bc2 = 1 - b2 ** t
        m_hat = m / (1 - b1 ** t)
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * (b2 ** t) / bc2
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)).clamp(min=0) ** 0.5
        adaptive = bc2 ** 0.5 / (v.sqrt() + eps)
        u = torch.where(rho_t > 5.0, m_hat * (adaptive * rect), m_hat)
        _report(ctx, lambda: dict(momentum=m, second_moment=v,
                step_scale=torch.where(rho_t > 5.0, adaptive * rect, torch.ones_like(adaptive))))
        return u, (m, v)

    return Transform(init, update)


def scale_by_adagrad(lr_decay, initial_accumulator_value, eps) -> Transform:
    """torch.optim.Adagrad: g / (sqrt(sum g^2) + eps), divided by 1 + (t-1)*lr_decay."""

    def update(g, acc, ctx: Ctx):
        acc = acc + g * g
        _report(ctx, lambda: dict(second_moment=acc,
                                  step_scale=1 / (acc.sqrt() + eps) / (1 + (ctx.t - 1) * lr_decay)))
        return g / (acc.sqrt() + eps) / (1 + (ctx.t - 1) * lr_decay), acc

    return Transform(lambda p: torch.zeros_like(p) + initial_accumulator_value, update)


def scale_by_adadelta(rho, eps) -> Transform:
    """torch.optim.Adadelta: g * sqrt(acc_delta + eps) / sqrt(sq + eps)."""

    def init(p):
        z = torch.zeros_like(p)
        return (z, z.clone())

    def update(g, state, ctx: Ctx):
        sq, acc = state
        sq = sq * rho + g * g * (1 - rho)
        delta = (acc + eps).sqrt() / (sq + eps).sqrt() * g
        _report(ctx, lambda: dict(second_moment=sq, step_scale=(acc + eps).sqrt() / (sq + eps).sqrt()))
        acc = acc * rho + delta * delta * (1 - rho)
        return delta, (sq, acc)

    return Transform(init, update)
