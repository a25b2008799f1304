"""torch.optim.LBFGS, batched: one update of a run is one `step()` of torch's LBFGS.

Every run keeps its own L-BFGS state and control flow (iterations, line search, stopping tests), the
code of torch.optim.lbfgs operation by operation on the run's flat parameter vector, written as a
generator that yields each point it wants evaluated. The transform drives the generators of all runs
together: each round, the points of every run still searching go to the problem in one batched call
(`Ctx.evaluate`, on the update's minibatch). The function evaluations of each update (torch's
`current_evals`, the first one at the current point included) are recorded as `evals`.
"""
from __future__ import annotations

import torch

from .base import Ctx, Transform


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = d2_square.sqrt()
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """torch's _strong_wolfe as a generator: yields x + t*d, receives (loss, gradient); returns
    (f_new, g_new, t, evaluations)."""
    d_norm = d.abs().max()
    g = g.clone(memory_format=torch.contiguous_format)
    f_new, g_new = yield x.add(d, alpha=t)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.clone(memory_format=torch.contiguous_format)], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.clone(memory_format=torch.contiguous_format)], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev = tmp
        f_prev = f_new
        g_prev = g_new.clone(memory_format=torch.contiguous_format)
        gtd_prev = gtd_new
        f_new, g_new = yield x.add(d, alpha=t)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = yield x.add(d, alpha=t)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos] = t
            bracket_f[high_pos] = f_new
            bracket_g[high_pos] = g_new.clone(memory_format=torch.contiguous_format)
            bracket_gtd[high_pos] = gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos] = bracket[low_pos]
                bracket_f[high_pos] = bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos] = t
            bracket_f[low_pos] = f_new
            bracket_g[low_pos] = g_new.clone(memory_format=torch.contiguous_format)
            bracket_gtd[low_pos] = gtd_new
    t = bracket[low_pos]
    return bracket_f[low_pos], bracket_g[low_pos], t, ls_func_evals


def lbfgs_step(state: dict, p: torch.Tensor, loss: float, flat_grad: torch.Tensor, lr: float, o: dict):
    """torch.optim.LBFGS.step for one run as a generator: `p` (the run's parameters, updated in place)
    starts at the current point, where `loss` and `flat_grad` were evaluated; yields each further point,
    receives (loss, gradient); returns the evaluations made (the first included)."""
    max_iter, max_eval = o["max_iter"], o["max_eval"]
    tolerance_grad, tolerance_change = o["tolerance_grad"], o["tolerance_change"]
    line_search, history_size = o["line_search_fn"], o["history_size"]
    state.setdefault("func_evals", 0)
    state.setdefault("n_iter", 0)
    current_evals = 1
    state["func_evals"] += 1
    opt_cond = flat_grad.abs().max() <= tolerance_grad
    if opt_cond:
        return current_evals
    d, t = state.get("d"), state.get("t")
    old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
    H_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        state["n_iter"] += 1
        if state["n_iter"] == 1:
            d = flat_grad.neg()
            old_dirs, old_stps, ro = [], [], []
            H_diag = 1
        else:
            y = flat_grad.sub(prev_flat_grad)
            s = d.mul(t)
            ys = y.dot(s)
            if ys > 1e-10:
                if len(old_dirs) == history_size:
                    old_dirs.pop(0)
                    old_stps.pop(0)
                    ro.pop(0)
                old_dirs.append(y)
                old_stps.append(s)
                ro.append(1.0 / ys)
                H_diag = ys / y.dot(y)
            num_old = len(old_dirs)
            if "al" not in state:
                state["al"] = [None] * history_size
            al = state["al"]
            q = flat_grad.neg()
            for i in range(num_old - 1, -1, -1):
                al[i] = old_stps[i].dot(q) * ro[i]
                q.add_(old_dirs[i], alpha=-al[i])
            d = r = torch.mul(q, H_diag)
            for i in range(num_old):
                be_i = old_dirs[i].dot(r) * ro[i]
                r.add_(old_stps[i], alpha=al[i] - be_i)
        if prev_flat_grad is None:
            prev_flat_grad = flat_grad.clone(memory_format=torch.contiguous_format)
        else:
            prev_flat_grad.copy_(flat_grad)
        prev_loss = loss
        if state["n_iter"] == 1:
            t = min(1.0, 1.0 / flat_grad.abs().sum()) * lr
        else:
            t = lr
        gtd = flat_grad.dot(d)
        if gtd > -tolerance_change:
            break
        ls_func_evals = 0
        if line_search == "strong_wolfe":
            x_init = p.clone(memory_format=torch.contiguous_format)
            loss, flat_grad, t, ls_func_evals = yield from _strong_wolfe(
                x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
            p.add_(d, alpha=t)
            opt_cond = flat_grad.abs().max() <= tolerance_grad
        else:
            p.add_(d, alpha=t)
            if n_iter != max_iter:
                loss, flat_grad = yield p.clone()
                opt_cond = flat_grad.abs().max() <= tolerance_grad
                ls_func_evals = 1
        current_evals += ls_func_evals
        state["func_evals"] += ls_func_evals
        if n_iter == max_iter:
            break
        if current_evals >= max_eval:
            break
        if opt_cond:
            break
        if d.mul(t).abs().max() <= tolerance_change:
            break
        if abs(loss - prev_loss) < tolerance_change:
            break
    state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                 prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
    return current_evals


def _plain(v, r=0):
    if torch.is_tensor(v):
        return v[r, 0].item() if v.dim() == 2 else v.item()
    return v


def lbfgs(hp) -> Transform:
    """Batched torch.optim.LBFGS (see the module). Needs `Ctx.loss` and `Ctx.evaluate`."""

    def options(r):
        max_iter = int(_plain(hp["max_iter"], r))
        me = hp.get("max_eval")
        return {"max_iter": max_iter, "max_eval": max_iter * 5 // 4 if me is None else int(_plain(me, r)),
                "tolerance_grad": float(_plain(hp["tolerance_grad"], r)),
                "tolerance_change": float(_plain(hp["tolerance_change"], r)),
                "history_size": int(_plain(hp["history_size"], r)),
                "line_search_fn": None if hp["line_search_fn"] in (None, "none") else hp["line_search_fn"]}

    def init(p):
        return [dict() for _ in range(p.shape[0])], [options(r) for r in range(p.shape[0])]

    def update(g, state, ctx: Ctx):
        states, opts = state
        x, lr = ctx.params, ctx.lr
        if ctx.loss is None or ctx.evaluate is None:
            raise RuntimeError("lbfgs needs the loss and an evaluate function in its Ctx")
        R = x.shape[0]
        x1 = x.detach().clone()
        evals = torch.ones(R, dtype=torch.long)
        running = {}
        for r in range(R):
            gen = lbfgs_step(states[r], x1[r], float(ctx.loss[r]), g[r], float(lr[r, 0]), opts[r])
            try:
                running[r] = (gen, next(gen))
            except StopIteration as stop:
                evals[r] = stop.value
        while running:
            rows = list(running)
            pts = torch.stack([running[r][1] for r in rows])
            L, G = ctx.evaluate(pts, torch.tensor(rows, dtype=torch.long, device=x.device))
            for i, r in enumerate(rows):
                gen = running[r][0]
                try:
                    running[r] = (gen, gen.send((float(L[i]), G[i])))
                except StopIteration as stop:
                    evals[r] = stop.value
                    del running[r]
        if ctx.record is not None:
            ctx.record["evals"] = evals
            ctx.record["next"] = x1
        d = x - x1
        u = torch.where(lr > 0, d / lr, torch.zeros_like(d))
        return u, (states, opts)

    return Transform(init, update)
