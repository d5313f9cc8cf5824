"""CudaBackend's fused ops: cross-entropy's log_softmax with the target pick, the NLL loss's
forward / reduction / backward, and the optimizer steps, each one or a few kernels."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..shared.optim import adam_scalars, sgd_scalars
from . import kernels as K
from .array import CudaArray
from .launch import launch


class FusedMixin:
    def _class_weights(self, weight: CudaArray | None, dtype: np.dtype) -> tuple[Any, int]:
        """(device buffer, count) of nll's class weights in `dtype`; a 1-element dummy and 0 without."""
        if weight is None:
            return self._one_dummy(dtype).buf, 0
        w = self.contiguous(self.astype(weight, dtype))
        return w.buf[w.offset: w.offset + w.size], w.size

    def log_softmax_nll(self, x: CudaArray, t: CudaArray, ignore_index: int,
                        weight: CudaArray | None = None) -> tuple[CudaArray, CudaArray, CudaArray]:
        """cross_entropy's forward in one row kernel: log_softmax of rows x (N, C), and the per-row
        -w[t[i]] * logp[i, t[i]] with the rows' weights (as nll_forward)."""
        N, C = x.shape
        if not (N and C):
            logp = self.empty((N, C), x.dtype)
            return logp, *self.nll_forward(logp, t, ignore_index, weight)
        xc, tc = self.contiguous(x), self.contiguous(t)
        logp = self.empty((N, C), x.dtype)
        per, valid = self.empty((N,), x.dtype), self.empty((N,), x.dtype)
        w, nw = self._class_weights(weight, x.dtype)
        launch(K.log_softmax_nll_rows, N, xc.buf, xc.offset, N, C, logp.buf, tc.buf, tc.offset, ignore_index,
               w, nw, per.buf, valid.buf, self._bad_flag(), rows=True)
        return logp, per, valid

    def nll_forward(self, x: CudaArray, t: CudaArray, ignore_index: int,
                    weight: CudaArray | None = None) -> tuple[CudaArray, CudaArray]:
        N, C = x.shape
        xc, tc = self.contiguous(x), self.contiguous(t)
        per, valid = self.empty((N,), x.dtype), self.empty((N,), x.dtype)
        if N:
            w, nw = self._class_weights(weight, x.dtype)
            launch(K.nll_forward, N, xc.buf, xc.offset, tc.buf, tc.offset, N, C, ignore_index, w, nw, per.buf,
                   valid.buf, self._bad_flag())
        return per, valid

    def nll_reduce(self, per: CudaArray, valid: CudaArray, mean: bool) -> tuple[CudaArray, CudaArray]:
        """The 'sum' / 'mean' of per-row losses and the summed row weights, in one kernel."""
        pc, vc = self.contiguous(per), self.contiguous(valid)
        out, n = self.empty((), per.dtype), self.empty((), valid.dtype)
        launch(K.nll_reduce, 1, pc.buf, pc.offset, vc.buf, vc.offset, pc.size, mean, out.buf, n.buf, rows=True)
        return out, n

    def nll_backward(self, g: CudaArray, t: CudaArray, classes: int, ignore_index: int,
                     weight: CudaArray | None = None, total: CudaArray | None = None) -> CudaArray:
        N = t.shape[0]
        out = self.empty((N, classes), g.dtype)
        gc, tc = self.contiguous(g), self.contiguous(t)
        if N * classes:
            gs = 0 if gc.size == 1 else 1
            w, nw = self._class_weights(weight, g.dtype)
            tot = self.contiguous(total) if total is not None else gc  # (not read without a total)
            launch(K.nll_backward, N * classes, gc.buf, gc.offset, gs, tc.buf, tc.offset, N, classes, ignore_index,
                   w, nw, tot.buf, tot.offset, total is not None, out.buf)
        return out

    def sgd_step(self, x: CudaArray, d: CudaArray, buf: CudaArray | None, *, first: bool, **hyper: Any) -> None:
        self.sgd_foreach([x], [d], [buf], [first], **hyper)

    def sgd_foreach(self, xs: list, ds: list, bufs: list, firsts: list, *, lr: float, momentum: float,
                    dampening: float, weight_decay: float, nesterov: bool, maximize: bool) -> None:
        """sgd_step on contiguous parameters of one dtype (bufs: their momentum buffers, or None),
        K.FOREACH to a launch."""
        bs = [x if b is None else b for x, b in zip(xs, bufs)]
        if not all(a.is_c_contiguous for a in xs + bs) or len({x.dtype for x in xs}) > 1:
            raise RuntimeError("sgd_step needs contiguous parameter and momentum arrays of one dtype")
        dcs = [self.contiguous(self.astype(d, x.dtype)) for x, d in zip(xs, ds)]
        consts = sgd_scalars(xs[0].dtype, lr, momentum, dampening, weight_decay)
        t = K.LAUNCH["threads"]
        for s in range(0, len(xs), K.FOREACH):
            X, D, B = xs[s: s + K.FOREACH], dcs[s: s + K.FOREACH], bs[s: s + K.FOREACH]
            blocks = min(max(-(-x.size // t) for x in X), K.LAUNCH["max_blocks"])
            if blocks:
                arrays = [part for A in (X, D, B) for part in (tuple(a.buf for a in A), tuple(a.offset for a in A))]
                K.launch_grid(K.sgd_step, (blocks, len(X), 1), (t, 1, 1), *arrays, tuple(x.size for x in X),
                              tuple(bool(f) for f in firsts[s: s + K.FOREACH]), *consts, maximize, nesterov)

    def adam_step(self, x: CudaArray, d: CudaArray, m: CudaArray, v: CudaArray, *, step: int | CudaArray, lr: float,
                  beta1: float, beta2: float, eps: float, weight_decay: float, decoupled: bool, maximize: bool) -> None:
        for a in (x, m, v):
            if not (a.is_c_contiguous and a.offset == 0):
                raise RuntimeError("adam_step needs contiguous parameter and state arrays")
        dc = self.contiguous(self.astype(d, x.dtype))
        if isinstance(step, CudaArray):  # capturable: the count lives on the device
            if x.size:
                launch(K.adam_step_capturable(x.dtype), x.size, x.buf, dc.buf, dc.offset, m.buf, v.buf, x.size,
                       self._flat(self.contiguous(step)), float(lr), float(beta1), float(beta2), float(eps),
                       float(weight_decay), maximize, decoupled)
            return
        c = adam_scalars(x.dtype, step, lr, beta1, beta2, eps, weight_decay, decoupled)
        if x.size:
            launch(K.adam_step, x.size, x.buf, dc.buf, dc.offset, m.buf, v.buf, x.size, *c, maximize, decoupled)
