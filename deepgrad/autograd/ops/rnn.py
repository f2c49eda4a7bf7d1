"""Fused recurrent layers: one op per layer and direction (Elman RNN, LSTM, GRU).

The forward pass projects the inputs of all time steps with one GEMM, then loops over time
inside the op; the backward pass (backpropagation through time) is hand-written and
vectorized over the batch, so a sequence of T steps is one autograd node, not T.

Gate equations and weight layouts are PyTorch's:

- RNN: ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``, act tanh or relu.
- LSTM (gates i, f, g, o stacked in that order):
  ``c' = f * c + i * g``, ``h' = W_hr (o * tanh(c'))`` (``W_hr`` only with ``proj_size``).
- GRU (gates r, z, n): ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``,
  ``h' = (1 - z) * n + z * h``.

Variable-length batches: a boolean ``mask`` (T, N) marks the valid steps; on a padded
step the state is carried unchanged, the output is zero and no gradient flows into the
step's input or gates. A reverse layer processes t = T-1 ... 0, so each sequence starts
at its own last valid step from the initial state (PyTorch's packed-sequence behaviour).
"""

from __future__ import annotations

from typing import Any

from ...backend import get_array_module
from ..function import Function
from ..tensor import Tensor

__all__ = ["rnn_layer", "GATES"]

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _sigmoid_(a: Any, xp: Any) -> None:
    """Sigmoid in place: 1 / (1 + e^-a) = tanh(a / 2) / 2 + 1/2, no overflow in float32."""
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5


class Recurrent(Function):
    """One layer, one direction. Inputs: x, h0, [c0], W_ih, W_hh, [b_ih, b_hh], [W_hr]."""

    def __init__(self, mode: str, reverse: bool, mask: Any, bias: bool, proj: bool) -> None:
        self.mode, self.reverse, self.mask = mode, reverse, mask
        self.bias, self.proj = bias, proj

    def _split(self, rest: tuple[Any, ...]) -> tuple[Any, ...]:
        rest = list(rest)
        c0 = rest.pop(0) if self.mode == "LSTM" else None
        W_ih, W_hh = rest.pop(0), rest.pop(0)
        b_ih = b_hh = None
        if self.bias:
            b_ih, b_hh = rest.pop(0), rest.pop(0)
        W_hr = rest.pop(0) if self.proj else None
        return c0, W_ih, W_hh, b_ih, b_hh, W_hr

    def forward(self, x: Any, h0: Any, *rest: Any) -> Any:
        xp = get_array_module(x)
        c0, W_ih, W_hh, b_ih, b_hh, W_hr = self._split(rest)
        mode, mask, save = self.mode, self.mask, self.requires_grad
        T, N, _ = x.shape
        GH = W_ih.shape[0]
        H = GH // GATES[mode]
        x2 = x.reshape(T * N, x.shape[2])
        gx = (x2 @ W_ih.T).reshape(T, N, GH)  # input projection of every step: one GEMM
        if b_ih is not None:
            gx += b_ih
        y = xp.zeros((T, N, h0.shape[1]), dtype=x.dtype)
        # the state before each step: without a mask it is the previous output (kept below)
        hs = xp.empty((T, N, h0.shape[1]), dtype=x.dtype) if save and mask is not None else None
        extra = xp.empty((T, N, H), dtype=x.dtype) if save and mode == "LSTM" else None
        cs = xp.empty((T, N, H), dtype=x.dtype) if save and mode == "LSTM" else None
        hin = xp.empty((T, N, H), dtype=x.dtype) if save and W_hr is not None else None
        h, c = h0, c0
        for t in (range(T - 1, -1, -1) if self.reverse else range(T)):
            if hs is not None:
                hs[t] = h
            gh = h @ W_hh.T
            if b_hh is not None:
                gh += b_hh
            a = gx[t]  # the step's pre-activations, turned into its gates in place
            if mode == "GRU":
                rz, n, ghn = a[:, :2 * H], a[:, 2 * H:], gh[:, 2 * H:]
                rz += gh[:, :2 * H]
                _sigmoid_(rz, xp)
                n += rz[:, :H] * ghn
                xp.tanh(n, out=n)
                h_new = n + rz[:, H:] * (h - n)  # ghn is recomputed in backward, per chunk
            elif mode == "LSTM":
                a += gh
                _sigmoid_(a[:, :2 * H], xp)
                xp.tanh(a[:, 2 * H:3 * H], out=a[:, 2 * H:3 * H])
                _sigmoid_(a[:, 3 * H:], xp)
                c_new = a[:, H:2 * H] * c + a[:, :H] * a[:, 2 * H:3 * H]
                tc = xp.tanh(c_new)
                h_new = a[:, 3 * H:] * tc
                if save:
                    extra[t], cs[t] = tc, c
                    if W_hr is not None:
                        hin[t] = h_new
                if W_hr is not None:
                    h_new = h_new @ W_hr.T
            else:
                a += gh
                if mode == "RNN_TANH":
                    xp.tanh(a, out=a)
                else:
                    xp.maximum(a, 0, out=a)
                h_new = a.copy()
            if mask is None:
                h, y[t] = h_new, h_new
                if mode == "LSTM":
                    c = c_new
            else:
                m = mask[t][:, None]
                h = xp.where(m, h_new, h)
                y[t] = xp.where(m, h_new, 0)
                if mode == "LSTM":
                    c = xp.where(m, c_new, c)
        if save:
            self.x2, self.W_ih, self.W_hh, self.W_hr, self.b_hh = x2, W_ih, W_hh, W_hr, b_hh
            self.acts, self.hs, self.extra, self.cs, self.hin = gx, hs, extra, cs, hin
            self.y, self.h0 = y, h0
        h = h if h is not h0 else h.copy()
        if mode == "LSTM":
            return y, h, (c if c is not c0 else c.copy())
        return y, h

    CHUNK = 16  # time steps whose gate gradients are buffered before the weight GEMMs

    def backward(self, gy: Any, gh_n: Any, gc_n: Any = None) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        T, N, GH = self.acts.shape
        K = min(self.CHUNK, T)
        # per-chunk buffers: d pre-activations (input side; the hidden side differs only in
        # the GRU's n block, d(W_hn h + b_hn) = dn * r), and d projected h for proj_size
        buf = {"dA": xp.empty((K, N, GH), dtype=gy.dtype),
               "dAh": xp.empty((K, N, GH), dtype=gy.dtype) if self.mode == "GRU" else None,
               "dP": xp.empty((K, N, gy.shape[2]), dtype=gy.dtype) if self.proj else None}
        acc = _Accumulator(self, xp, gy.dtype, T, N)
        state = {"dh": gh_n.copy(), "dc": gc_n.copy() if self.mode == "LSTM" else None}
        bounds = [(lo, min(lo + K, T)) for lo in range(0, T, K)]
        for lo, hi in (bounds if self.reverse else bounds[::-1]):
            buf["hprev"] = self._h_prev(xp, lo, hi)
            if self.mode == "GRU":  # W_hn h + b_hn of the chunk's steps: one GEMM
                Hh = GH // 3
                ghn = buf["hprev"] @ self.W_hh[2 * Hh:].T
                if self.b_hh is not None:
                    ghn += self.b_hh[2 * Hh:]
                buf["ghn"] = ghn
            for t in (range(lo, hi) if self.reverse else range(hi - 1, lo - 1, -1)):
                self._step_back(xp, t, t - lo, gy, state, buf)
            acc.add(lo, hi, buf)
        return acc.result(state["dh"], state["dc"])

    def _h_prev(self, xp: Any, lo: int, hi: int) -> Any:
        """The states entering steps lo..hi-1: saved with a mask, else the outputs of the
        neighbouring steps (and h0 at the first processed step)."""
        if self.hs is not None:
            return self.hs[lo:hi]
        y, T = self.y, self.y.shape[0]
        if not self.reverse:
            return y[lo - 1:hi - 1] if lo else xp.concatenate([self.h0[None], y[:hi - 1]])
        return y[lo + 1:hi + 1] if hi < T else xp.concatenate([y[lo + 1:], self.h0[None]])

    def _step_back(self, xp: Any, t: int, j: int, gy: Any, state: dict, buf: dict) -> None:
        """BPTT through step t: fills row j of the chunk buffers, updates dh (and dc)."""
        mode, mask, W_hh = self.mode, self.mask, self.W_hh
        acts, dA, dh = self.acts[t], buf["dA"][j], state["dh"]
        H = acts.shape[1] // GATES[mode]
        if mask is None:
            dh_new, dh_pass = dh + gy[t], None
        else:
            # h_t = m h_new + (1 - m) h_{t-1}, y_t = m h_new
            m = mask[t][:, None]
            dh_new = xp.where(m, dh + gy[t], 0)
            dh_pass = xp.where(m, 0, dh)
        if mode == "GRU":
            r, z, n = acts[:, :H], acts[:, H:2 * H], acts[:, 2 * H:]
            dn = dh_new * (1 - z) * (1 - n * n)  # d tanh = 1 - n^2
            dA[:, 2 * H:] = dn
            dA[:, :H] = dn * buf["ghn"][j] * r * (1 - r)  # d sigmoid = s (1 - s)
            dA[:, H:2 * H] = dh_new * (buf["hprev"][j] - n) * z * (1 - z)
            dAh = buf["dAh"][j]
            dAh[...] = dA
            dAh[:, 2 * H:] *= r
            dh = dAh @ W_hh + dh_new * z
        elif mode == "LSTM":
            if self.W_hr is not None:
                buf["dP"][j] = dh_new
                dh_new = dh_new @ self.W_hr
            i, f, g, o = (acts[:, k * H:(k + 1) * H] for k in range(4))
            tc, dc = self.extra[t], state["dc"]
            dc_new = dc + dh_new * o * (1 - tc * tc)
            if mask is not None:
                dc_pass = xp.where(m, 0, dc)
                dc_new = xp.where(m, dc_new, 0)
            dA[:, :H] = dc_new * g * i * (1 - i)
            dA[:, H:2 * H] = dc_new * self.cs[t] * f * (1 - f)
            dA[:, 2 * H:3 * H] = dc_new * i * (1 - g * g)
            dA[:, 3 * H:] = dh_new * tc * o * (1 - o)
            state["dc"] = dc_new * f if mask is None else dc_new * f + dc_pass
            dh = dA @ W_hh
        else:
            if mode == "RNN_TANH":
                xp.multiply(dh_new, 1 - acts * acts, out=dA)
            else:
                xp.multiply(dh_new, acts > 0, out=dA)
            dh = dA @ W_hh
        if dh_pass is not None:
            dh += dh_pass
        state["dh"] = dh


class _Accumulator:
    """Input and parameter gradients, accumulated chunk by chunk of time steps."""

    def __init__(self, op: Recurrent, xp: Any, dtype: Any, T: int, N: int) -> None:
        self.op, self.need = op, op.needs_input_grad
        self.names = ["x", "h0"] + (["c0"] if op.mode == "LSTM" else []) + ["W_ih", "W_hh"] \
            + (["b_ih", "b_hh"] if op.bias else []) + (["W_hr"] if op.proj else [])
        self.wants = {n for n, w in zip(self.names, self.need, strict=True) if w}
        shapes = {"W_ih": op.W_ih.shape, "W_hh": op.W_hh.shape, "b_ih": op.W_ih.shape[:1],
                  "b_hh": op.W_hh.shape[:1], "W_hr": None if op.W_hr is None else op.W_hr.shape}
        self.g = {k: xp.zeros(shapes[k], dtype=dtype) for k in self.wants if k in shapes}
        if "x" in self.wants:
            self.g["x"] = xp.empty((T, N, op.x2.shape[1]), dtype=dtype)
        self.N = N

    def add(self, lo: int, hi: int, buf: dict) -> None:
        op, g, w, N = self.op, self.g, self.wants, self.N

        def rows(a: Any) -> Any:  # (steps, N, k) -> (steps·N, k), also for N = 0
            return a.reshape(a.shape[0] * N, a.shape[2])

        dA = rows(buf["dA"][:hi - lo])
        dAh = dA if buf["dAh"] is None else rows(buf["dAh"][:hi - lo])
        if "x" in w:
            g["x"][lo:hi] = (dA @ op.W_ih).reshape(hi - lo, N, op.W_ih.shape[1])
        if "W_ih" in w:
            g["W_ih"] += dA.T @ op.x2[lo * N:hi * N]
        if "W_hh" in w:
            g["W_hh"] += dAh.T @ rows(buf["hprev"])
        if "b_ih" in w:
            g["b_ih"] += dA.sum(axis=0)
        if "b_hh" in w:
            g["b_hh"] += dAh.sum(axis=0)
        if "W_hr" in w:
            g["W_hr"] += rows(buf["dP"][:hi - lo]).T @ rows(op.hin[lo:hi])

    def result(self, dh0: Any, dc0: Any) -> tuple[Any, ...]:
        self.g["h0"], self.g["c0"] = dh0, dc0
        return tuple(self.g.get(n) if n in self.wants else None for n in self.names)


def rnn_layer(mode: str, x: Any, h0: Any, c0: Any, W_ih: Any, W_hh: Any, b_ih: Any = None,
              b_hh: Any = None, W_hr: Any = None, reverse: bool = False,
              mask: Any = None) -> tuple[Tensor, ...]:
    """Run one recurrent layer in one direction over a whole sequence, as one fused op.

    Args:
        mode: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU".
        x: input, time-major.
        h0: initial hidden state; c0: initial cell state (LSTM only, else None).
        W_ih, W_hh, b_ih, b_hh: PyTorch's weight layout (gates stacked along rows);
            both biases or neither.
        W_hr: LSTM projection weight (proj_size, hidden) or None.
        reverse: process t = T-1 ... 0.
        mask: None, or a boolean array (T, N), True on valid steps.

    Shape:
        x (T, N, I), h0 (N, Hout), c0 (N, H) -> output (T, N, Hout), h_n (N, Hout)
        [, c_n (N, H)]; Hout = proj_size or H; W_ih (G·H, I), W_hh (G·H, Hout) with G = 1,
        4, 3 gates.
    """
    if mode not in GATES:
        raise ValueError(f"rnn_layer: mode must be one of {sorted(GATES)}, got {mode!r}")
    if (b_ih is None) != (b_hh is None):
        raise ValueError("rnn_layer: give both b_ih and b_hh or neither")
    if (c0 is None) != (mode != "LSTM"):
        raise ValueError("rnn_layer: c0 is required for LSTM and only for LSTM")
    args = [x, h0] + ([c0] if c0 is not None else []) + [W_ih, W_hh]
    if b_ih is not None:
        args += [b_ih, b_hh]
    if W_hr is not None:
        args.append(W_hr)
    op = Recurrent(mode, reverse, mask, b_ih is not None, W_hr is not None)
    return op(*args)
