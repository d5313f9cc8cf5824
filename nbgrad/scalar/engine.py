"""micrograd-compatible Value backed by the module-level tape."""

from __future__ import annotations

import math

from . import _tape
from ._tape import ADD, EXP, LEAF, LOG, MUL, OP_NAMES, POW, RELU, SIGMOID, TANH

_TRACING = [False]
_sigmoid = _tape.sigmoid.py_func  # the kernels' formula, run as plain Python
_new = object.__new__


def _set_tape(t):
    """Make t the current tape and cache its hot-path methods in module globals."""
    global _T, _op, _a, _b, _val, _const, _next, _limit
    _T = t
    _op, _a, _b, _val = t.p_op.append, t.p_a.append, t.p_b.append, t.p_val.append
    _const = t.p_const
    _next = t.count.__next__
    _limit = t.limit
    t.on_renumber = _set_tape


_set_tape(_tape.TAPE)


def _guard(what):
    if _TRACING[0]:
        raise TypeError(f"compiled scalar functions cannot branch on Value data ({what}); use the eager API")


def _push(v, op, x, y, d, c=0.0):
    """Append node (op, operands x, y, value d, constant c) to the tape; v becomes its handle."""
    i = _next()
    _op(op)
    _a(x)
    _b(y)
    _val(d)
    if c:
        _const[i] = c
    v._i = i
    v._d = d
    v._t = _T
    if i >= _limit:
        _T.compact()  # renumbers v too
    return v


def neuron(ws, xs, b, relu):
    """``sum((wi * xi for wi, xi in zip(ws, xs)), b)``, then ``.relu()`` if relu.

    Appends the nodes micrograd's Neuron makes, in its order and with the same float
    operations, without a Value per intermediate node. (Building the lists in bulk
    with map/accumulate measured slower: 2-16 inputs per neuron are too few.)"""
    if not isinstance(b, Value) or not all(isinstance(w, Value) for w in ws):
        act = sum((wi * xi for wi, xi in zip(ws, xs)), b)
        return act.relu() if relu else act
    s_i, s = b._i, b._d
    for w, x in zip(ws, xs):
        if isinstance(x, Value):
            x_i, xd = x._i, x._d
        else:  # Value.__mul__ would wrap the number in a leaf first
            xd = float(x)
            x_i = _next()
            _op(LEAF)
            _a(0)
            _b(0)
            _val(xd)
        d = w._d * xd
        p_i = _next()
        _op(MUL)
        _a(w._i)
        _b(x_i)
        _val(d)
        s = s + d
        a_i = _next()
        _op(ADD)
        _a(s_i)
        _b(p_i)
        _val(s)
        s_i = a_i
    if relu:
        return _push(_new(Value), RELU, s_i, 0, 0.0 if s < 0 else s)
    if s_i == b._i:  # no inputs: sum() returns b itself
        return b
    v = _new(Value)
    v._i, v._d, v._t = s_i, s, _T
    if s_i >= _limit:
        _T.compact()  # renumbers v too
    return v


class Value:
    """Stores a single scalar value and its gradient (a handle into the tape)."""

    __slots__ = ("_i", "_d", "_t")  # tape index, data, tape

    def __init__(self, data, _children=(), _op=""):
        _push(self, LEAF, 0, 0, float(data))

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
        self._t.set_val(self._i, v)

    @property
    def grad(self):
        return self._t.get_grad(self._i)

    @grad.setter
    def grad(self, g):
        self._t.set_grad(self._i, float(g))

    @property
    def _op(self):
        op, _, _, c = self._t.node(self._i)
        if op == POW:
            return f"**{c:g}"
        return OP_NAMES[op]

    @property
    def _prev(self):
        op, a, b, _ = self._t.node(self._i)
        if op == LEAF:
            return set()
        out = [_handle(a, self._t)]
        if op in (ADD, MUL) and b != a:
            out.append(_handle(b, self._t))
        return set(out)

    # --- ops (same graph decomposition as micrograd) ---------------------------------------
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return _push(_new(Value), ADD, self._i, other._i, self._d + other._d)

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return _push(_new(Value), MUL, self._i, other._i, self._d * other._d)

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only supporting int/float powers for now"
        d = self._d ** other
        if type(d) is complex:  # a negative base to a fractional power: not a real number
            raise ValueError(f"{self._d} ** {other} is complex; Value holds real numbers")
        return _push(_new(Value), POW, self._i, 0, d, float(other))

    def relu(self):
        d = self._d
        return _push(_new(Value), RELU, self._i, 0, 0.0 if d < 0 else d)

    def tanh(self):
        return _push(_new(Value), TANH, self._i, 0, math.tanh(self._d))

    def exp(self):
        return _push(_new(Value), EXP, self._i, 0, math.exp(self._d))

    def log(self):
        return _push(_new(Value), LOG, self._i, 0, math.log(self._d))

    def sigmoid(self):
        return _push(_new(Value), SIGMOID, self._i, 0, _sigmoid(self._d))

    def backward(self):
        from ..autograd.graph import _INTERCEPTORS, BackwardCall, dispatch_backward

        if _INTERCEPTORS:
            dispatch_backward(BackwardCall("scalar", [self], [None]))
        else:
            self._t.backward(self._i)

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


def _handle(i, t=None):
    """A new handle to an existing slot i of tape t (default: the current tape)."""
    t = _T if t is None else t
    v = _new(Value)
    v._i = i
    v._d = t.get_val(i)
    v._t = t
    return v
