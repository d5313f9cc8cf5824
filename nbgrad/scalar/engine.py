"""micrograd-compatible Value backed by the module-level tape."""

from __future__ import annotations

import math

from . import _tape
from ._tape import ADD, EXP, LEAF, LOG, MUL, OP_NAMES, POW, RELU, SIGMOID, TANH

_T = _tape.TAPE
_sigmoid = _tape.sigmoid.py_func  # the kernels' formula, run as plain Python
_TRACING = [False]


def _set_tape(t):
    global _T
    _T = t


def _guard(what):
    if _TRACING[0]:
        raise TypeError(f"compiled scalar functions cannot branch on Value data ({what}); use the eager API")


def _mk(op, x, y, d, c=0.0):
    """Append a node to the tape and return a new handle for it."""
    T = _T
    i = T.n
    T.n = i + 1
    T.p_op.append(op)
    T.p_a.append(x)
    T.p_b.append(y)
    T.p_val.append(d)
    T.p_const.append(c)
    v = object.__new__(Value)
    v._i = i
    v._d = d
    T.handles.append(v)
    if i + 1 >= T.limit:
        T.compact()
    return v


class Value:
    """Stores a single scalar value and its gradient (a handle into the tape)."""

    __slots__ = ("_i", "_d")

    def __init__(self, data, _children=(), _op=""):
        d = float(data)
        T = _T
        i = T.n
        T.n = i + 1
        T.p_op.append(LEAF)
        T.p_a.append(0)
        T.p_b.append(0)
        T.p_val.append(d)
        T.p_const.append(0.0)
        self._i = i
        self._d = d
        T.handles.append(self)
        if i + 1 >= T.limit:
            T.compact()

    # --- data / grad -----------------------------------------------------------------
    @property
    def data(self):
        if _TRACING[0]:
            _guard(".data")
        return self._d

    @data.setter
    def data(self, v):
        v = float(v)
        self._d = v
        _T.set_val(self._i, v)

    @property
    def grad(self):
        return _T.get_grad(self._i)

    @grad.setter
    def grad(self, g):
        _T.set_grad(self._i, float(g))

    @property
    def _op(self):
        op, _, _, c = _T.node(self._i)
        if op == POW:
            return f"**{c:g}"
        return OP_NAMES[op]

    @property
    def _prev(self):
        op, a, b, _ = _T.node(self._i)
        if op == LEAF:
            return set()
        out = [_handle(a)]
        if op in (ADD, MUL) and b != a:
            out.append(_handle(b))
        return set(out)

    # --- ops (same graph decomposition as micrograd) ---------------------------------------
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return _mk(ADD, self._i, other._i, self._d + other._d)

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return _mk(MUL, self._i, other._i, self._d * other._d)

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only supporting int/float powers for now"
        return _mk(POW, self._i, 0, self._d ** other, float(other))

    def relu(self):
        d = self._d
        return _mk(RELU, self._i, 0, 0.0 if d < 0 else d)

    def tanh(self):
        return _mk(TANH, self._i, 0, math.tanh(self._d))

    def exp(self):
        return _mk(EXP, self._i, 0, math.exp(self._d))

    def log(self):
        return _mk(LOG, self._i, 0, math.log(self._d))

    def sigmoid(self):
        return _mk(SIGMOID, self._i, 0, _sigmoid(self._d))

    def backward(self):
        _T.backward(self._i)

    def __neg__(self):  # -self
        return self * -1

    def __radd__(self, other):  # other + self
        return self + other

    def __sub__(self, other):  # self - other
        return self + (-other)

    def __rsub__(self, other):  # other - self
        return other + (-self)

    def __rmul__(self, other):  # other * self
        return self * other

    def __truediv__(self, other):  # self / other
        return self * other**-1

    def __rtruediv__(self, other):  # other / self
        return other * self**-1

    # --- tracing guard ---------------------------------------------------------------------
    def __bool__(self):
        if _TRACING[0]:
            _guard("bool()")
        return True

    def __float__(self):
        _guard("float()")
        return self._d

    def __lt__(self, other):
        _guard("<")
        return NotImplemented

    def __le__(self, other):
        _guard("<=")
        return NotImplemented

    def __gt__(self, other):
        _guard(">")
        return NotImplemented

    def __ge__(self, other):
        _guard(">=")
        return NotImplemented

    __hash__ = object.__hash__

    def __repr__(self):
        return f"Value(data={self._d}, grad={self.grad})"


def _handle(i):
    """A new handle to an existing tape slot."""
    v = object.__new__(Value)
    v._i = i
    v._d = _T.get_val(i)
    _T.handles.append(v)
    return v
