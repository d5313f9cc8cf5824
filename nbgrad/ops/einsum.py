"""einsum: diagonals and sums per operand, then pairwise contractions in a greedy order (smallest
intermediate first), each one (batched) matmul of permuted views, reshaped only where several
subscripts make one matrix dim (BLAS on the CPU, the GPU matmul on CUDA); a pair with nothing
to sum is a broadcast product."""

from __future__ import annotations

import math
from typing import Any, Hashable, Sequence

from ..tensor import Tensor
from .linalg import _same_backend

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _err(msg: str) -> RuntimeError:
    return RuntimeError(f"einsum(): {msg}")


def contract_pair(a: Tensor, b: Tensor, la: Sequence[Hashable], lb: Sequence[Hashable],
                  keep: Sequence[Hashable]) -> tuple[Tensor, list]:
    """sum over the labels of a and b that are not in keep of a * b (labels name dims; a label in
    both is one dim, of size 1 in one of them broadcasting). Returns the result and its labels:
    the shared kept ones, then a's own, then b's own."""
    la, lb, keep = list(la), list(lb), set(keep)
    a, la = _sum_out(a, la, [x for x in la if x not in keep and x not in lb])
    b, lb = _sum_out(b, lb, [x for x in lb if x not in keep and x not in la])
    size = {x: s for x, s in zip(la, a.shape)}
    for x, s in zip(lb, b.shape):
        if size.get(x, 1) == 1:
            size[x] = s
    batch = [x for x in la if x in lb and x in keep]
    summed = [x for x in la if x in lb and x not in keep]
    left = [x for x in la if x not in lb]
    right = [x for x in lb if x not in la]
    out_labels = batch + left + right
    if not summed:  # no contraction: a broadcast product
        ta = _arrange(a, la, batch + left + [None] * len(right))
        tb = _arrange(b, lb, batch + [None] * len(left) + right)
        return ta * tb, out_labels
    bs, ls, rs = ([size[x] for x in g] for g in (batch, left, right))
    # each operand as (*batch, L, K) / (*batch, K, R): a permuted view when each group is one
    # subscript; else a reshape, of the transpose of (*batch, K, L) / (*batch, R, K) when that
    # keeps the operand's dims in their order (a view, where the other would copy)
    a_t = not _in_order(la, batch + left + summed) and _in_order(la, batch + summed + left)
    b_t = not _in_order(lb, batch + summed + right) and _in_order(lb, batch + right + summed)
    ta = _group(a, la, size, batch, [summed, left] if a_t else [left, summed], a_t)
    tb = _group(b, lb, size, batch, [right, summed] if b_t else [summed, right], b_t)
    prod = ta @ tb
    if len(left) == 1 and len(right) == 1:
        return prod, out_labels
    return prod.reshape(*bs, *ls, *rs), out_labels


def _group(t: Tensor, labels: list, size: dict, batch: list, groups: list, transposed: bool) -> Tensor:
    """t's dims as (*batch, group0, group1), each group of subscripts one dim, then (transposed)
    its last two dims swapped."""
    order = batch + groups[0] + groups[1]
    t = _full(_arrange(t, labels, order), [size[x] for x in order])
    if len(groups[0]) != 1 or len(groups[1]) != 1:
        t = t.reshape(*[size[x] for x in batch], *(math.prod(size[x] for x in g) for g in groups))
    return t.mT if transposed else t


def _full(t: Tensor, shape: list) -> Tensor:
    """t broadcast to shape (a subscript of size 1 where the other operand's is larger)."""
    return t if list(t.shape) == shape else t.expand(*shape)


def _in_order(labels: list, order: list) -> bool:
    """order keeps the dims of labels in their order (so a contiguous tensor stays contiguous)."""
    pos = [labels.index(x) for x in order]
    return pos == sorted(pos)


def _sum_out(t: Tensor, labels: list, drop: list) -> tuple[Tensor, list]:
    if not drop:
        return t, labels
    return t.sum(tuple(labels.index(x) for x in drop)), [x for x in labels if x not in drop]


def _arrange(t: Tensor, labels: list, order: list) -> Tensor:
    """t's dims in `order` (None: a new dim of size 1)."""
    perm = [labels.index(x) for x in order if x is not None]
    if perm != list(range(len(perm))):
        t = t.permute(*perm)
    if None in order:
        t = t.reshape(*[1 if x is None else t.shape[perm.index(labels.index(x))] for x in order])
    return t


def _parse_term(term: str, start: int, k: int, ndim: int | None) -> list:
    """A term's labels: letters, and `...` as the string '...' (ndim None: the output's)."""
    out: list = []
    i = 0
    while i < len(term):
        c = term[i]
        if c == ".":
            if term[i:i + 3] != "..." or "..." in out:
                why = "for which an ellipsis was already found" if "..." in out else "that is not part of any ellipsis"
                raise _err(f"found '.' for {'the output' if k < 0 else f'operand {k}'} {why}")
            out.append("...")
            i += 3
            continue
        if c not in _LETTERS:
            raise _err(f"invalid subscript given at index {start + i} in the equation string, subscripts must be in "
                       "[a-zA-Z]")
        out.append(c)
        i += 1
    n = len(out) - ("..." in out)
    if ndim is None:
        return out
    if "..." not in out and n != ndim:
        raise _err(f"the number of subscripts in the equation ({n}) does not match the number of dimensions "
                   f"({ndim}) for operand {k} and no ellipsis was given")
    if n > ndim:
        raise _err(f"the number of subscripts in the equation ({n}) is more than the number of dimensions ({ndim}) "
                   f"for operand {k}")
    return out


def _sublists(args: Sequence[Any]) -> tuple[str, list]:
    """The sublist form einsum(op1, [0, 1], op2, [1, 2], [0, 2]) as an equation string."""
    def term(sub: Any) -> str:
        out = ""
        for s in sub:
            if s is Ellipsis:
                out += "..."
            elif isinstance(s, int) and 0 <= s < 52:
                out += _LETTERS[s]
            else:
                raise ValueError(f"einsum(): subscript in subscript list is not within the valid range [0, 52), got {s}")
        return out

    ops = list(args[0::2])
    subs = [term(s) for s in args[1::2]]
    if len(args) % 2:  # a trailing output sublist
        ops, out = ops[:-1], term(args[-1])
        return ",".join(subs) + "->" + out, ops
    return ",".join(subs), ops


def einsum(*args: Any) -> Tensor:
    """torch.einsum: an equation ('ij,jk->ik', '...' broadcasting, a repeated subscript for a
    diagonal, an implicit output: the subscripts seen once, sorted) and its operands, or the
    sublist form einsum(op1, sublist1, op2, sublist2, ..., [out_sublist])."""
    if not args or (isinstance(args[0], str) and len(args) < 2):
        raise ValueError("einsum(): must specify the equation string and at least one operand, or at least one "
                         "operand and its subscripts list")
    if isinstance(args[0], str):
        eq, ops = args[0], list(args[1:])
        if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
            ops = list(ops[0])
    else:
        eq, ops = _sublists(args)
    _same_backend(*ops)
    for t in ops[1:]:
        if t.dtype is not ops[0].dtype:
            raise RuntimeError(f"einsum(): expected all operands to have the same dtype, but got "
                               f"{ops[0].dtype.name} and {t.dtype.name}")
    eq = eq.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    if "->" in rhs:
        raise _err(f"invalid subscript given at index {len(lhs) + 2 + rhs.index('-')} in the equation string, "
                   "subscripts must be in [a-zA-Z]")
    terms = lhs.split(",")
    if len(terms) > len(ops):
        raise _err("fewer operands were provided than specified in the equation")
    if len(terms) < len(ops):
        raise _err("more operands were provided than specified in the equation")
    parsed, start = [], 0
    for k, (term, t) in enumerate(zip(terms, ops)):
        parsed.append(_parse_term(term, start, k, t.ndim))
        start += len(term) + 1
    # ellipsis dims: labels (0, j) for the j-th of the widest ellipsis, right-aligned across operands
    ell = max([t.ndim - len(p) + 1 for p, t in zip(parsed, ops) if "..." in p], default=0)
    labels_of, size = [], {}
    for k, (p, t) in enumerate(zip(parsed, ops)):
        labels: list = []
        e = t.ndim - len(p) + 1  # the dims this operand's ellipsis covers
        for x in p:
            if x == "...":
                labels += [(0, j) for j in range(ell - e, ell)]
            else:
                labels.append(x)
        for x in labels:
            i = labels.index(x)
            j = labels.index(x, i + 1) if labels.count(x) > 1 else i
            if t.shape[i] != t.shape[j]:
                raise _err(f"subscript {x} is repeated for operand {k} but the sizes don't match, "
                           f"{t.shape[j]} != {t.shape[i]}")
        for x, s in zip(labels, t.shape):
            seen = size.get(x)
            if seen is not None and seen != s and seen != 1 and s != 1:
                if isinstance(x, tuple):
                    raise _err(f"dimension {x[1] - ell + e} covered by ellipsis in operand {k}has size {s} which "
                               f"does not broadcast with previously seen ellipsis with size {seen} for the respective dimension")
                raise _err(f"subscript {x} has size {s} for operand {k} which does not broadcast with previously "
                           f"seen size {seen}")
            size[x] = s if seen is None or seen == 1 else seen
        labels_of.append(labels)
    ell_labels = [(0, j) for j in range(ell)]
    if arrow:
        out: list = []
        for x in _parse_term(rhs, len(lhs) + 2, -1, None):
            if x == "...":
                out += ell_labels
            elif x in out:
                raise _err(f"output subscript {x} appears more than once in the output")
            elif x not in size:
                raise _err(f"output subscript {x} does not appear in the equation for any input operand")
            else:
                out.append(x)
    else:
        counts: dict = {}
        for labels in labels_of:
            for x in labels:
                counts[x] = counts.get(x, 0) + 1
        out = ell_labels + sorted((x for x, c in counts.items() if c == 1 and isinstance(x, str)), key=_LETTERS.index)
    return _evaluate(ops, labels_of, out, size)


def _evaluate(ops: list, labels_of: list, out: list, size: dict) -> Tensor:
    items = []
    for t, labels in zip(ops, labels_of):
        while len(set(labels)) < len(labels):  # a repeated subscript: its diagonal
            x = next(x for x in labels if labels.count(x) > 1)
            i = labels.index(x)
            j = labels.index(x, i + 1)
            t = t.diagonal(0, i, j)
            labels = [y for n, y in enumerate(labels) if n not in (i, j)] + [x]
        items.append((t, labels))
    while True:  # sum the labels that only one operand has and the output lacks
        for n, (t, labels) in enumerate(items):
            others = set(out).union(*(set(lb) for m, (_, lb) in enumerate(items) if m != n))
            items[n] = _sum_out(t, labels, [x for x in labels if x not in others])
        if len(items) == 1:
            break
        best = None
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                rest = set(out).union(*(set(lb) for m, (_, lb) in enumerate(items) if m not in (i, j)))
                keep = [x for x in dict.fromkeys(items[i][1] + items[j][1]) if x in rest]
                cost = math.prod(size[x] for x in keep)
                if best is None or cost < best[0]:
                    best = (cost, i, j, keep)
        _, i, j, keep = best
        merged = contract_pair(items[i][0], items[j][0], items[i][1], items[j][1], keep)
        items = [it for m, it in enumerate(items) if m not in (i, j)] + [merged]
    t, labels = items[0]
    if labels != out:
        t = t.permute(*[labels.index(x) for x in out])
    return _full(t, [size[x] for x in out])  # (a kept subscript of size 1 here, larger elsewhere)
