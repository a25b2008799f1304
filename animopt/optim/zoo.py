"""Batched transforms of the optimizers beyond the classic nine: the rest of torch.optim's dense ones
(Rprop, ASGD, Adafactor, Muon) and newer rules from their reference packages (lion-pytorch's Lion;
pytorch-optimizer's AdaBelief, Lamb, Yogi, AdEMAMix, Prodigy; schedulefree's SGD and AdamW).

Each follows its reference's code operation by operation (the in-place kernels written out in the
same order: `addcdiv` is `x + (value*a)/b`, `addcmul` is `x + (value*a)*b`, `add(alpha=)` is
`x + alpha*b`), computes the reference's new parameters `x1`, and returns the direction `u` with
`x - lr*u = x1` (`direction`), and `x1` itself (`Ctx.record["next"]`). Tensors are `[R, P]`, hyperparameters `[R, 1]`; where a reference works
per parameter tensor (norms, dot products), the run's whole parameter vector is that tensor.
"""
from __future__ import annotations

import math

import torch

from .base import Ctx, Transform


def direction(ctx: Ctx, x1):
    """The direction `u` with `x - lr*u = x1`: the reference's step in the simulator's form (0 where
    the learning rate is 0). `x1` itself goes to `ctx.record["next"]`: the simulator takes it as the
    new point, so trajectories are the reference's to the last bit, not re-rounded through `u`."""
    x, lr = ctx.params, ctx.lr
    if ctx.record is not None:
        ctx.record["next"] = x1
    d = x - x1
    if torch.is_tensor(lr) and bool((lr > 0).all()):
        return d / lr
    return torch.where(torch.as_tensor(lr) > 0, d / lr, torch.zeros_like(d))


def _addcdiv(x, a, b, value):
    return x + value * a / b


def _addcmul(x, a, b, value):
    return x + value * a * b


def _any(x) -> bool:
    return x is not None and bool(torch.as_tensor(x).ne(0).any())


def _decay(x, g, lr, wd, decouple: bool, fixed: bool):
    """pytorch-optimizer's apply_weight_decay: decoupled (x *= 1 - wd*lr, or 1 - wd when fixed) or L2
    (g += wd*x). Returns (x, g)."""
    if not _any(wd):
        return x, g
    if decouple:
        return x * (1.0 - wd * (1.0 if fixed else lr)), g
    return x, g + wd * x


def _col(v, like):
    """A per-run value ([R, 1] tensor or number) as an [R, 1] tensor of like's dtype/device."""
    return torch.as_tensor(v, dtype=like.dtype, device=like.device).expand(like.shape[0], 1) \
        if not torch.is_tensor(v) or v.dim() < 2 else v


# --- torch.optim ---------------------------------------------------------------------------------

def rprop(etas, step_sizes, maximize: bool) -> Transform:
    """torch.optim.Rprop: per-coordinate step sizes (starting at the first update's lr) grow by
    etaplus while the gradient keeps its sign and shrink by etaminus when it flips (that update skips
    the coordinate); the step is sign(g) * step size, whatever the learning rate does later."""
    etaminus, etaplus = etas
    smin, smax = step_sizes

    def update(g, state, ctx: Ctx):
        x = ctx.params
        if maximize:
            g = -g
        if state is None:
            prev, size = torch.zeros_like(g), ctx.lr.expand_as(g).clone()
        else:
            prev, size = state
        sign = (g * prev).sign()
        factor = torch.where(sign > 0, etaplus, torch.where(sign < 0, etaminus, torch.ones_like(sign)))
        size = torch.clamp(size * factor, smin, smax)
        g = torch.where(factor == etaminus, torch.zeros_like(g), g)
        x1 = x - size * g.sign()
        return direction(ctx, x1), (g, size)

    return Transform(lambda p: None, update)


def asgd(lambd, alpha, t0, weight_decay, maximize: bool) -> Transform:
    """torch.optim.ASGD: x *= 1 - lambd*eta; x -= eta*g, with eta = lr/(1 + lambd*lr*t)^alpha (the
    first update uses lr); the average ax from update t0 on is recorded as the iterate."""
    decay = _any(weight_decay)

    def init(p):
        return None, torch.zeros_like(p), torch.ones_like(p[:, :1])

    def update(g, state, ctx: Ctx):
        eta, ax, mu = state
        x, lr, t = ctx.params, ctx.lr, ctx.t
        if maximize:
            g = -g
        if decay:
            g = g + weight_decay * x
        eta = lr if eta is None else eta
        x1 = x * (1 - lambd * eta)
        x1 = x1 + (-eta) * g
        ax = torch.where(mu != 1, ax + (x1 - ax) * mu, x1)
        eta = lr / ((1 + lambd * lr * t) ** alpha)
        mu = 1 / torch.clamp(t - t0, min=1.0)
        if ctx.record is not None:
            ctx.record["iterate"] = ax
        return direction(ctx, x1), (eta, ax, mu)

    return Transform(init, update)


def adafactor(beta2_decay, d, eps, weight_decay, maximize: bool) -> Transform:
    """torch.optim.Adafactor on the run's parameter vector (a vector: unfactored second moment):
    relative step max(eps2, rms(x)) * min(lr, 1/sqrt(t)), the update clipped to rms d."""
    decay = _any(weight_decay)

    def update(g, var, ctx: Ctx):
        x, lr, t = ctx.params, ctx.lr, ctx.t
        eps1 = torch.finfo(x.dtype).eps if eps is None or eps[0] is None else eps[0]
        eps2 = 1e-3 if eps is None else eps[1]
        if maximize:
            g = -g
        P = x.shape[1]
        tt = torch.tensor(float(t), dtype=x.dtype, device=x.device)
        one_minus_beta2_t = tt ** beta2_decay
        rho = torch.clamp(lr, max=1 / (t ** 0.5))
        alpha = torch.maximum(_col(eps2, x), torch.linalg.vector_norm(x, dim=1, keepdim=True) / (P ** 0.5)) * rho
        x1 = x * (1 - lr * weight_decay) if decay else x
        var = torch.lerp(var, g * g, one_minus_beta2_t)
        u = var.clamp(min=eps1 * eps1).rsqrt() * g
        denom = torch.clamp(torch.linalg.vector_norm(u, dim=1, keepdim=True) / ((P ** 0.5) * d), min=1.0)
        x1 = x1 + (-alpha / denom) * u
        return direction(ctx, x1), var

    return Transform(torch.zeros_like, update)


def newton_schulz(G: torch.Tensor, coefficients, steps: int, eps: float) -> torch.Tensor:
    """torch.optim.Muon's orthogonalisation, the same bfloat16 operations on one matrix."""
    a, b, c = coefficients
    X = G.bfloat16()
    if G.size(0) > G.size(1):
        X = X.T
    X.div_(X.norm().clamp(min=eps))
    for _ in range(steps):
        A = X @ X.T
        B = torch.addmm(A, A, A, beta=b, alpha=c)
        X = torch.addmm(X, B, X, beta=a)
    if G.size(0) > G.size(1):
        X = X.T
    return X


def muon(hp, matrices) -> Transform:
    """torch.optim.Muon on the problem's weight matrices (`matrices`: (offset, rows, cols) in the
    parameter vector, row-major), torch.optim.AdamW with the fallback_* keys on every other parameter.
    The fallback's rate follows the run's schedule: fallback_lr * lr_t / lr."""
    momentum, wd, nesterov = hp["momentum"], hp["weight_decay"], hp["nesterov"]
    coeffs, steps, eps = hp["ns_coefficients"], hp["ns_steps"], hp["eps"]
    adjust = hp["adjust_lr_fn"]
    fb_lr, (fb1, fb2), fb_eps, fb_wd = hp["fallback_lr"], hp["fallback_betas"], hp["fallback_eps"], hp["fallback_weight_decay"]
    base_lr = hp["lr"]

    def init(p):
        P = p.shape[1]
        mask = torch.zeros(P, dtype=torch.bool, device=p.device)
        for off, r, c in matrices:
            mask[off:off + r * c] = True
        rest = (~mask).nonzero().flatten()
        z = torch.zeros_like(p)
        zr = torch.zeros_like(p[:, rest])
        return rest, z, zr, zr.clone()

    def update(g, state, ctx: Ctx):
        rest, buf, m, v = state
        x, lr, t = ctx.params, ctx.lr, ctx.t
        x1 = x.clone()
        buf = torch.lerp(buf, g, torch.as_tensor(1 - momentum, dtype=g.dtype))
        upd = torch.lerp(g, buf, torch.as_tensor(momentum, dtype=g.dtype)) if nesterov else buf
        R = x.shape[0]
        for off, rows, cols in matrices:
            sl = slice(off, off + rows * cols)
            if adjust == "match_rms_adamw":
                ratio = 0.2 * math.sqrt(max(rows, cols))
            else:                                   # "original" (torch's default, None)
                ratio = math.sqrt(max(1, rows / cols))
            for r in range(R):
                co = tuple(float(_item(c, r)) for c in coeffs)
                O = newton_schulz(upd[r, sl].view(rows, cols), co, int(_item(steps, r)), float(_item(eps, r)))
                lr_r = lr[r:r + 1]
                p = x[r:r + 1, sl] * (1 - lr_r * _item(wd, r))
                x1[r:r + 1, sl] = p + (-(lr_r * ratio)) * O.reshape(1, -1)
        if len(rest):
            gr, xr = g[:, rest], x[:, rest]
            lr_fb = fb_lr * lr / base_lr
            p = xr * (1 - lr_fb * fb_wd)
            m = torch.lerp(m, gr, 1 - fb1)
            v = v * fb2 + gr * gr * (1 - fb2)
            bc1 = 1 - fb1 ** t
            bc2_sqrt = (1 - fb2 ** t) ** 0.5
            denom = v.sqrt() / bc2_sqrt + fb_eps
            x1[:, rest] = _addcdiv(p, m, denom, -(lr_fb / bc1))
        return direction(ctx, x1), (rest, buf, m, v)

    return Transform(init, update)


def _item(v, r):
    """Run r's value of a hyperparameter ([R, 1] tensor or plain number)."""
    return v[r, 0] if torch.is_tensor(v) and v.dim() == 2 else v


# --- lion-pytorch --------------------------------------------------------------------------------

def lion(b1, b2, weight_decay, decoupled: bool, init_lr) -> Transform:
    """lion-pytorch's Lion: x *= 1 - lr*wd (wd/lr0 when decoupled); x -= lr * sign(b1*m + (1-b1)*g);
    m = b2*m + (1-b2)*g."""

    def update(g, m, ctx: Ctx):
        x, lr = ctx.params, ctx.lr
        wd = weight_decay / init_lr if decoupled else weight_decay
        x1 = x * (1.0 - lr * wd)
        u = (m * b1 + (1.0 - b1) * g).sign()
        x1 = x1 + (-lr) * u
        m = m * b2 + (1.0 - b2) * g
        return direction(ctx, x1), m

    return Transform(torch.zeros_like, update)


# --- pytorch-optimizer ---------------------------------------------------------------------------

def _rectify(t, lr, b2, threshold, degenerated: bool):
    """pytorch-optimizer's get_rectify_step_size: (step size [R, 1], n_sma [R, 1])."""
    n_sma_max = 2.0 / (1.0 - b2) - 1.0
    b2t = b2 ** t
    n_sma = n_sma_max - 2 * t * b2t / (1.0 - b2t)
    inner = (1.0 - b2t) * (n_sma - 4) / (n_sma_max - 4) * (n_sma - 2) / n_sma * n_sma_max / (n_sma_max - 2)
    rt = torch.where(n_sma >= threshold, inner.clamp(min=0).sqrt(),
                     torch.full_like(n_sma, 1.0 if degenerated else -1.0))
    return lr * rt, n_sma


def adabelief(hp) -> Transform:
    """pytorch-optimizer's AdaBelief: Adam whose second moment tracks (g - m)^2 (+ eps each step)."""
    b1, b2 = hp["betas"]
    eps, wd = hp["eps"], hp["weight_decay"]
    rectify, ams = hp["rectify"], hp["ams_bound"]

    def init(p):
        z = torch.zeros_like(p)
        return z, z.clone(), z.clone()

    def update(g, state, ctx: Ctx):
        m, v, vmax = state
        x, lr, t = ctx.params, ctx.lr, ctx.t
        bc1 = 1.0 - b1 ** t
        bc2_sq = (1.0 - b2 ** t) ** 0.5
        if rectify:
            step, n_sma = _rectify(t, lr, b2, hp["n_sma_threshold"], hp["degenerated_to_sgd"])
        else:
            step = lr
        step = step / bc1
        if hp["maximize"]:
            g = -g
        x1, g = _decay(x, g, lr, wd, hp["weight_decouple"], hp["fixed_decay"])
        m = torch.lerp(m, g, 1.0 - b1)
        r = g - m
        v = _addcmul(v * b2, r, r, 1.0 - b2) + eps
        if ams:
            vmax = torch.maximum(vmax, v)
            den = vmax.sqrt()
        else:
            den = v.sqrt()
        if not rectify:
            x1 = _addcdiv(x1, m, den / bc2_sq + eps, -step)
        else:
            den = den + eps
            adaptive = _addcdiv(x1, m, den, -step)
            sgd = torch.where(step > 0, x1 + (-step) * m, x1)
            x1 = torch.where(n_sma >= hp["n_sma_threshold"], adaptive, sgd)
        return direction(ctx, x1), (m, v, vmax)

    return Transform(init, update)


def yogi(hp) -> Transform:
    """pytorch-optimizer's Yogi: v -= (1-b2) * sign(v - g^2) * g^2, moments start at initial_accumulator."""
    b1, b2 = hp["betas"]

    def init(p):
        a = torch.zeros_like(p) + hp["initial_accumulator"]
        return a, a.clone()

    def update(g, state, ctx: Ctx):
        m, v = state
        x, lr, t = ctx.params, ctx.lr, ctx.t
        step = lr / (1.0 - b1 ** t)
        bc2_sq = (1.0 - b2 ** t) ** 0.5
        if hp["maximize"]:
            g = -g
        x1, g = _decay(x, g, lr, hp["weight_decay"], hp["weight_decouple"], hp["fixed_decay"])
        m = torch.lerp(m, g, 1.0 - b1)
        g2 = g * g
        v = _addcmul(v, (v - g2).sign(), g2, -(1.0 - b2))
        x1 = _addcdiv(x1, m, v.sqrt() / bc2_sq + hp["eps"], -step)
        return direction(ctx, x1), (m, v)

    return Transform(init, update)


def lamb(hp) -> Transform:
    """pytorch-optimizer's Lamb: the Adam direction (without the second bias correction) scaled by the
    trust ratio ||x|| / ||update|| (||x|| clamped at 10) over the run's parameter vector."""
    b1, b2 = hp["betas"]
    eps, wd = hp["eps"], hp["weight_decay"]
    b3 = 1.0 - b1 if hp["grad_averaging"] else 1.0
    decouple = hp["weight_decouple"]

    def init(p):
        z = torch.zeros_like(p)
        return z, z.clone()

    def update(g, state, ctx: Ctx):
        m, v = state
        x, lr, t = ctx.params, ctx.lr, ctx.t
        step = lr / (1.0 - b1 ** t)
        if hp["maximize"]:
            g = -g
        x1 = _decay(x, None, lr, wd, True, hp["fixed_decay"])[0] if decouple else x
        m = m * b1 + b3 * g
        v = _addcmul(v * b2, g, g, 1.0 - b2)
        u = (1.0 / (v.sqrt() + eps)) * m
        if not decouple and _any(wd):
            u = u + wd * x1
        wn = torch.linalg.vector_norm(x1, dim=1, keepdim=True).clamp(max=10.0)
        pn = torch.linalg.vector_norm(u, dim=1, keepdim=True)
        trust = torch.where((wn != 0) & (pn != 0), wn / (pn + eps), torch.ones_like(wn))
        if not hp["adam"]:
            u = u * trust
        x1 = x1 + (-step) * u
        return direction(ctx, x1), (m, v)

    return Transform(init, update)


def ademamix(hp) -> Transform:
    """pytorch-optimizer's AdEMAMix: (m1/bc1 + alpha*m2) / (sqrt(v)/sqrt(bc2) + eps), m2 a slow EMA
    (beta3); alpha and beta3 warm up over t_alpha_beta3 steps when it is given."""
    b1, b2, b3 = hp["betas"]
    alpha, T = hp["alpha"], hp["t_alpha_beta3"]

    def init(p):
        z = torch.zeros_like(p)
        return z, z.clone(), z.clone()

    def update(g, state, ctx: Ctx):
        m, v, slow = state
        x, lr, t = ctx.params, ctx.lr, ctx.t
        bc1 = 1.0 - b1 ** t
        bc2_sq = (1.0 - b2 ** t) ** 0.5
        if T is None:
            alpha_t, b3_t = alpha, b3
        else:
            alpha_t = torch.minimum(t * alpha / T, alpha)
            l1, l3 = torch.log(b1), torch.log(b3)
            b3_t = torch.minimum(torch.exp(l1 * l3 / ((1.0 - t / T) * l3 + (t / T) * l1)), b3)
        if hp["maximize"]:
            g = -g
        x1, g = _decay(x, g, lr, hp["weight_decay"], hp["weight_decouple"], hp["fixed_decay"])
        m = torch.lerp(m, g, 1.0 - b1)
        v = _addcmul(v * b2, g, g, 1.0 - b2)
        slow = torch.lerp(slow, g, 1.0 - b3_t)
        den = v.sqrt() / bc2_sq + hp["eps"]
        u = m / bc1 + alpha_t * slow
        x1 = _addcdiv(x1, u, den, -lr)
        return direction(ctx, x1), (m, v, slow)

    return Transform(init, update)


def prodigy(hp) -> Transform:
    """pytorch-optimizer's Prodigy (one parameter group per run): Adam scaled by d, an estimate of the
    distance to the solution grown from d0 by d_coef * sum(d_k lr_k <g_k, x0 - x_k>) / ||s||_1."""
    b1, b2 = hp["betas"]
    b3 = hp["beta3"] if hp["beta3"] is not None else b2 ** 0.5
    d0, coef, growth = hp["d0"], hp["d_coef"], hp["growth_rate"]

    def init(p):
        z = torch.zeros_like(p)
        one = torch.zeros_like(p[:, :1])
        d = one + d0
        return p.clone(), z, z.clone(), z.clone(), one, d, d.clone()

    def update(g, state, ctx: Ctx):
        p0, m, v, s, num, d, dmax = state
        x, lr, t = ctx.params, ctx.lr, ctx.t
        bc = ((1.0 - b1 ** t) / (1.0 - b2 ** t) ** 0.5) if hp["bias_correction"] else 1.0
        d_lr = d * lr / bc
        num = num * b3
        if hp["maximize"]:
            g = -g
        num = num + ((d / d0) * d_lr) * (g * (p0 - x)).sum(1, keepdim=True)
        m = m * b1 + (d * (1.0 - b1)) * g
        v = _addcmul(v * b2, g, g, d * d * (1.0 - b2))
        s = s * b3 + ((d / d0) * (d if hp["safeguard_warmup"] else d_lr)) * g
        den = s.abs().sum(1, keepdim=True)
        moving = den != 0
        d_hat = coef * num / torch.where(moving, den, torch.ones_like(den))
        d_new = torch.where(d == d0, torch.maximum(d, d_hat), d)
        dmax_new = torch.maximum(dmax, d_hat)
        d_new = torch.minimum(dmax_new, d_new * growth)
        d = torch.where(moving, d_new, d)
        dmax = torch.where(moving, dmax_new, dmax)
        x1 = _decay(x, None, d_lr, hp["weight_decay"], True, hp["fixed_decay"])[0] if hp["weight_decouple"] else x
        x1 = _addcdiv(x1, m, v.sqrt() + d * hp["eps"], -d_lr)
        x1 = torch.where(moving, x1, x)
        return direction(ctx, x1), (p0, m, v, s, num, d, dmax)

    return Transform(init, update)


# --- schedulefree --------------------------------------------------------------------------------

def _sf_weights(state, lr, hp):
    """schedulefree's warmup and averaging weight: (lr of this update, ckp1), both [R, 1]."""
    k, lr_max, wsum = state
    warm = hp["warmup_steps"]
    sched = torch.where(k < warm, (k + 1) / torch.clamp(torch.as_tensor(warm, dtype=lr.dtype), min=1), 1.0) \
        if _any(warm) else 1.0
    lr = lr * sched
    lr_max = torch.maximum(lr, lr_max)
    weight = ((k + 1) ** hp["r"]) * (lr_max ** hp["weight_lr_power"])
    wsum = wsum + weight
    ckp1 = torch.where(wsum != 0, weight / torch.where(wsum != 0, wsum, 1.0), 0.0)
    return lr, ckp1, (k + 1, lr_max, wsum)


def _sf_init(p):
    one = torch.zeros_like(p[:, :1])
    return p.clone(), torch.zeros_like(p), (one.clone(), one - 1.0, one.clone())


def schedule_free(hp, adam: bool) -> Transform:
    """schedulefree's SGDScheduleFree / AdamWScheduleFree in train mode: the parameters the simulator
    steps (and takes gradients at) are y = lerp(z, x, beta); the iterate x = lerp(y, z, 1 - 1/beta)
    (what .eval() puts in the model) is recorded beside them."""
    beta = hp["betas"][0] if adam else hp["momentum"]
    b2 = hp["betas"][1] if adam else None

    def update(g, state, ctx: Ctx):
        z, v, counters = state
        y, t = ctx.params, ctx.t
        lr, ckp1, counters = _sf_weights(counters, ctx.lr, hp)
        decay = hp["weight_decay"]
        if adam:
            bc2 = 1 - b2 ** t
            v = _addcmul(v * b2, g, g, 1 - b2)
            g = g / ((v / bc2).sqrt() + hp["eps"])
        if _any(decay):
            g = g + decay * y
        y1 = torch.lerp(y, z, ckp1)
        y1 = y1 + (lr * (beta * (1 - ckp1) - 1)) * g
        z = z - lr * g
        if ctx.record is not None:
            ctx.record["iterate"] = torch.lerp(y1, z, 1 - 1 / beta)
        return direction(ctx, y1), (z, v, counters)

    return Transform(_sf_init, update)
