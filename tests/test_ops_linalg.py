"""Linear algebra of issue 16 against PyTorch: dot / mv / mm / bmm / addmm / addmv / baddbmm,
einsum (a broad list of equations), tensordot, kron, the vector and matrix norms, cdist, trace,
diag, diagonal (a view) and diag_embed: values and gradients under non-uniform upstream
gradients in float32 and float64, batching and broadcasting, non-contiguous inputs, empty dims,
float64 gradcheck / gradgradcheck, torch's errors, and a few ops on the CUDA simulator."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbgrad as ng
from torch_scenarios import check_both

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

DTYPES = [np.float32, np.float64]
INF = float("inf")


def tol(dt):
    return dict(rtol=2e-5, atol=2e-5) if dt == np.float32 else dict(rtol=1e-10, atol=1e-10)


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return np.asarray(x.detach().cpu().numpy() if isinstance(x, ng.Tensor) else x)


def R(*shape, seed=1, lo=-2.0, hi=2.0):
    return np.random.default_rng(seed + 7 * len(shape)).uniform(lo, hi, shape)


def check(fn, arrays, dt=np.float64, nograd=(), seed=0, transpose=()):
    check_both(fn, arrays, dt, tol(dt), nograd, seed, transpose)


def same_error(fn, *arrays, match=None):
    """fn(lib, *tensors) raises in torch and in nbgrad, with the same exception type; nbgrad's
    message contains `match` (default: torch's first line)."""
    with pytest.raises(Exception) as et:
        fn(torch, *[torch.tensor(a) for a in arrays])
    with pytest.raises(type(et.value)) as en:
        fn(ng, *[ng.tensor(a) for a in arrays])
    want = match if match is not None else str(et.value).splitlines()[0]
    assert want in str(en.value), (str(en.value), want)


# ---------------------------------------------------------------- matrix products
PRODUCTS = {
    "dot": (lambda L, a, b: L.dot(a, b), [R(5), R(5, seed=2)]),
    "dot_method": (lambda L, a, b: a.dot(b), [R(3), R(3, seed=2)]),
    "mv": (lambda L, a, b: L.mv(a, b), [R(3, 4), R(4, seed=2)]),
    "mm": (lambda L, a, b: L.mm(a, b), [R(3, 4), R(4, 2, seed=2)]),
    "mm_method": (lambda L, a, b: a.mm(b), [R(2, 3), R(3, 5, seed=2)]),
    "bmm": (lambda L, a, b: L.bmm(a, b), [R(2, 3, 4), R(2, 4, 5, seed=2)]),
    "outer": (lambda L, a, b: L.outer(a, b), [R(3), R(4, seed=2)]),
    "addmm": (lambda L, c, a, b: L.addmm(c, a, b), [R(4), R(3, 2), R(2, 4, seed=2)]),
    "addmm_full": (lambda L, c, a, b: L.addmm(c, a, b), [R(3, 4), R(3, 2), R(2, 4, seed=2)]),
    "addmm_scaled": (lambda L, c, a, b: L.addmm(c, a, b, beta=0.5, alpha=-2.0), [R(3, 1), R(3, 2), R(2, 4, seed=2)]),
    "addmm_beta0": (lambda L, c, a, b: L.addmm(c, a, b, beta=0, alpha=3), [R(3, 4), R(3, 2), R(2, 4, seed=2)]),
    "addmm_method": (lambda L, c, a, b: c.addmm(a, b, alpha=0.5), [R(1, 4), R(3, 2), R(2, 4, seed=2)]),
    "addmv": (lambda L, c, a, b: L.addmv(c, a, b, beta=2.0, alpha=0.5), [R(3), R(3, 4), R(4, seed=2)]),
    "addmv_scalar": (lambda L, c, a, b: L.addmv(c, a, b), [R(1), R(3, 4), R(4, seed=2)]),
    "baddbmm": (lambda L, c, a, b: L.baddbmm(c, a, b, beta=-1.0, alpha=2.0), [R(2, 3, 5), R(2, 3, 4), R(2, 4, 5)]),
    "baddbmm_bcast": (lambda L, c, a, b: c.baddbmm(a, b), [R(5), R(2, 3, 4), R(2, 4, 5)]),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_products(name, dt):
    fn, arrays = PRODUCTS[name]
    check(fn, arrays, dt)


def test_products_noncontiguous_and_empty():
    check(lambda L, a, b: L.mm(a, b), [R(3, 4), R(4, 2)], transpose=(0, 1))
    check(lambda L, a, b: L.bmm(a, b), [R(2, 3, 4), R(2, 4, 5)], transpose=(1,))
    check(lambda L, c, a, b: L.addmm(c, a, b, beta=2), [R(3, 2), R(3, 4), R(4, 2)], transpose=(1,))
    check(lambda L, a, b: L.mm(a, b), [R(0, 4), R(4, 2)])
    check(lambda L, a, b: L.mm(a, b), [R(3, 0), R(0, 2)])  # an empty contraction: zeros
    check(lambda L, a, b: L.bmm(a, b), [R(0, 3, 4), R(0, 4, 5)])
    check(lambda L, a, b: L.dot(a, b), [R(0), R(0)])


def test_addmm_beta0_ignores_input():
    c = ng.tensor([[np.nan, 1.0]], requires_grad=True)
    a, b = ng.tensor(R(3, 2)), ng.tensor(R(2, 2, seed=2))
    y = ng.addmm(c, a, b, beta=0)
    np.testing.assert_allclose(_np(y), _np(a) @ _np(b))
    y.sum().backward()
    np.testing.assert_array_equal(_np(c.grad), 0)  # as torch: zeros, not None


def test_product_node_names():
    a, b = ng.randn(3, 4, requires_grad=True), ng.randn(4, 2)
    assert ng.mm(a, b).grad_fn.name == "MmBackward0"
    assert ng.dot(a[0], b[:, 0]).grad_fn.name == "DotBackward0"
    assert ng.mv(a, b[:, 0]).grad_fn.name == "MvBackward0"
    assert ng.addmm(ng.zeros(2), a, b).grad_fn.name == "AddmmBackward0"


def test_inplace_addmm():
    c = ng.tensor(R(3, 4))
    a, b = ng.tensor(R(3, 2), requires_grad=True), ng.tensor(R(2, 4, seed=2))
    tc = torch.tensor(R(3, 4))
    ta, tb = torch.tensor(R(3, 2), requires_grad=True), torch.tensor(R(2, 4, seed=2))
    c.addmm_(a, b, beta=0.5)
    tc.addmm_(ta, tb, beta=0.5)
    np.testing.assert_allclose(_np(c), _np(tc), rtol=1e-12)
    c.sum().backward()
    tc.sum().backward()
    np.testing.assert_allclose(_np(a.grad), _np(ta.grad), rtol=1e-12)


PRODUCT_ERRORS = [
    (lambda L, a, b: L.mm(a, b), R(2, 3, 4), R(4, 5)),
    (lambda L, a, b: L.mm(a, b), R(2, 3), R(4, 5)),
    (lambda L, a, b: L.mm(a, b), R(2, 3), R(3)),
    (lambda L, a, b: L.bmm(a, b), R(2, 3), R(3, 4)),
    (lambda L, a, b: L.bmm(a, b), R(2, 2, 3), R(3, 3, 4)),
    (lambda L, a, b: L.bmm(a, b), R(2, 2, 3), R(2, 4, 4)),
    (lambda L, a, b: L.mv(a, b), R(2, 3), R(4)),
    (lambda L, a, b: L.mv(a, b), R(2, 3), R(3, 1)),
    (lambda L, a, b: L.dot(a, b), R(2, 3), R(3)),
    (lambda L, a, b: L.dot(a, b), R(2), R(3)),
    (lambda L, a, b: L.dot(a, b), R(3).astype(np.float32), R(3)),
    (lambda L, a, b: L.outer(a, b), R(3, 2), R(3)),
    (lambda L, a, b: L.addmm(a, b, b.T), R(3, 3), R(2, 3)),
    (lambda L, a, b: L.addmm(a, b, b), R(3), R(2, 3, 1)),
    (lambda L, a, b: L.addmv(a, b, a), R(3), R(2, 3)),
    (lambda L, a, b: L.baddbmm(a, b, b.mT), R(3), R(2, 2, 3)),
]


@pytest.mark.parametrize("case", range(len(PRODUCT_ERRORS)))
def test_product_errors(case):
    fn, *arrays = PRODUCT_ERRORS[case]
    same_error(fn, *arrays)


def test_mm_error_names_the_shapes():
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype, but got: float32 != float64"):
        ng.mm(ng.zeros(2, 3), ng.zeros(3, 4, dtype=ng.float64))
    with pytest.raises(RuntimeError, match=r"self must be a matrix, got 3-D tensor of shape \[2, 3, 4\]"):
        ng.mm(ng.zeros(2, 3, 4), ng.zeros(4, 5))
    with pytest.raises(RuntimeError, match=r"shapes cannot be multiplied \(2x3 and 4x5\)"):
        ng.mm(ng.zeros(2, 3), ng.zeros(4, 5))


# ---------------------------------------------------------------- einsum
EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),  # matmul
    ("ij,jk", [(3, 4), (4, 2)]),  # implicit output
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),  # batch matmul
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),  # attention scores
    ("bhqk,bhkd->bhqd", [(2, 2, 3, 5), (2, 2, 5, 4)]),  # attention values
    ("i,j->ij", [(3,), (4,)]),  # outer
    ("i,i->", [(5,), (5,)]),  # dot
    ("i,i->i", [(5,), (5,)]),  # elementwise
    ("ii->", [(4, 4)]),  # trace
    ("ii", [(3, 3)]),  # implicit trace
    ("ii->i", [(4, 4)]),  # diagonal
    ("bii->bi", [(2, 3, 3)]),  # batched diagonal
    ("iji->j", [(3, 2, 3)]),  # a repeated subscript around another
    ("ij->ji", [(3, 4)]),  # transpose
    ("ij->j", [(3, 4)]),  # sum over an axis
    ("ijk->", [(2, 3, 4)]),  # sum of all
    ("ijk->kji", [(2, 3, 4)]),  # permutation
    ("...ij->...ji", [(2, 3, 4, 5)]),  # ellipsis transpose
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (3, 4, 2)]),  # ellipsis broadcasting
    ("i...,i->...", [(3, 2, 4), (3,)]),  # leading ellipsis
    ("...i,i", [(2, 5, 3), (3,)]),  # implicit output with ellipsis
    ("...ii->...i", [(2, 3, 3)]),  # ellipsis and a diagonal
    ("...->...", [(2, 3)]),  # identity
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),  # a chain of three
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),  # bilinear
    ("i,j,k->ijk", [(2,), (3,), (4,)]),  # three outer
    ("ij,ij->ij", [(3, 4), (3, 4)]),  # Hadamard
    ("ij,ij->", [(3, 4), (3, 4)]),  # Frobenius inner product
    ("bi,bi->b", [(4, 3), (4, 3)]),  # batched dot
    ("ij,kj->ik", [(3, 4), (5, 4)]),  # a @ b.T
    ("bi,Ai", [(2, 3), (4, 3)]),  # upper case sorts first
    ("ij,j->i", [(3, 1), (4,)]),  # a size-1 subscript broadcasts
    ("ijk,jil->kl", [(2, 3, 4), (3, 2, 5)]),  # two contracted subscripts, permuted
    ("ij,jk->", [(3, 4), (4, 2)]),  # contract everything
    ("i j , j k -> i k", [(2, 3), (3, 2)]),  # spaces
    ("ab,cd->abcd", [(2, 2), (2, 3)]),  # no shared subscript
    ("aab,bc->ac", [(3, 3, 2), (2, 4)]),  # a diagonal before the contraction
    ("ijk,ik->j", [(2, 3, 4), (2, 4)]),  # batch over two subscripts, summed
    ("...i->i", [(2, 3, 4)]),  # ellipsis dims summed
    (",ij->ij", [(), (2, 3)]),  # a 0-d operand
    ("ij,jk->ik", [(0, 4), (4, 5)]),  # empty rows
    ("ij,jk->ik", [(3, 0), (0, 5)]),  # empty contraction
]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("eq,shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum(eq, shapes, dt):
    arrays = [R(*s, seed=i) for i, s in enumerate(shapes)]
    check(lambda L, *ts: L.einsum(eq, *ts), arrays, dt)


def test_einsum_forms_and_views():
    check(lambda L, a, b: L.einsum("ij,jk->ik", [a, b]), [R(2, 3), R(3, 4)])  # operands as a list
    check(lambda L, a, b: L.einsum(a, [0, 1], b, [1, 2], [0, 2]), [R(2, 3), R(3, 4)])  # sublists
    check(lambda L, a, b: L.einsum(a, [Ellipsis, 0], b, [0]), [R(2, 3), R(3)])
    check(lambda L, a, b: L.einsum("bij,bjk->bik", a, b), [R(2, 3, 4), R(2, 4, 5)], transpose=(0, 1))
    check(lambda L, a: L.einsum("ii->i", a), [R(3, 3)], transpose=(0,))


def test_einsum_uses_matmul():
    a, b = ng.randn(2, 3, 4, requires_grad=True), ng.randn(2, 4, 5)
    y = ng.einsum("bij,bjk->bik", a, b)
    names, stack = set(), [y.grad_fn]
    while stack:
        n = stack.pop()
        if n is not None:
            names.add(n.name)
            stack += [f for f, _ in n.next_functions]
    assert "BmmBackward0" in names


def _random_equation(rng):
    """1-3 operands of 0-3 subscripts from a small alphabet (repeats, size-1 broadcasting, an
    ellipsis sometimes), and an explicit output sometimes."""
    size = {c: int(rng.integers(1, 4)) for c in "abcdA"}
    ell = tuple(int(s) for s in rng.integers(1, 4, int(rng.integers(0, 3))))
    terms, shapes = [], []
    for _ in range(int(rng.integers(1, 4))):
        labs = list(rng.choice(list(size), int(rng.integers(0, 4))))
        shape = [1 if rng.random() < 0.15 else size[c] for c in labs]
        term = "".join(labs)
        if ell and rng.random() < 0.4:
            e = [1 if rng.random() < 0.2 else s for s in ell[int(rng.integers(0, len(ell) + 1)):]]
            pos = int(rng.integers(0, len(labs) + 1))
            term, shape = term[:pos] + "..." + term[pos:], shape[:pos] + e + shape[pos:]
        terms.append(term)
        shapes.append(tuple(shape))
    eq = ",".join(terms)
    if rng.random() < 0.6:
        seen = sorted({c for t in terms for c in t if c != "."})
        out = "".join(rng.permutation(seen)[:int(rng.integers(0, len(seen) + 1))])
        eq += "->" + ("..." if "..." in eq and rng.random() < 0.7 else "") + out
    return eq, shapes


@pytest.mark.parametrize("seed", range(40))
def test_einsum_random_equations(seed):
    eq, shapes = _random_equation(np.random.default_rng(seed))
    arrays = [R(*s, seed=i) for i, s in enumerate(shapes)]
    try:
        torch.einsum(eq, *[torch.tensor(a) for a in arrays])
    except RuntimeError:
        with pytest.raises(RuntimeError, match="einsum"):
            ng.einsum(eq, *[ng.tensor(a) for a in arrays])
        return
    check(lambda L, *ts: L.einsum(eq, *ts), arrays)


EINSUM_ERRORS = [
    ("ij,jk->ik", [(2, 3), (4, 5)]),
    ("ij,jk", [(2, 3)]),
    ("ij", [(2, 3), (3,)]),
    ("ijk,jk", [(2, 3), (3, 4)]),
    ("ij->ii", [(2, 3)]),
    ("ij->k", [(2, 3)]),
    ("ii->i", [(2, 3)]),
    ("i1->i", [(2, 3)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 3, 4)]),
    ("i..j", [(2, 2, 3)]),
    ("ij->ij->", [(2, 2)]),
    ("ijk->", [(2, 3)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_ERRORS, ids=[e for e, _ in EINSUM_ERRORS])
def test_einsum_errors(eq, shapes):
    same_error(lambda L, *ts: L.einsum(eq, *ts), *[R(*s) for s in shapes])


def test_einsum_no_operands():
    with pytest.raises(ValueError, match="must specify the equation string and at least one operand"):
        ng.einsum("ij->")


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 4), st.integers(0, 4), st.integers(1, 4), st.integers(1, 3))
def test_einsum_matches_matmul(m, k, n, b):
    a, c = R(b, m, k), R(b, k, n, seed=3)
    y = ng.einsum("bmk,bkn->bnm", ng.tensor(a), ng.tensor(c))
    np.testing.assert_allclose(_np(y), np.swapaxes(a @ c, 1, 2), rtol=1e-12, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=3), st.floats(0.5, 4.0), st.integers(0, 99))
def test_vector_norm_matches_numpy(shape, p, seed):
    x = R(*shape, seed=seed)
    want = np.sum(np.abs(x) ** p) ** (1 / p)
    np.testing.assert_allclose(_np(ng.linalg.vector_norm(ng.tensor(x), p)), want, rtol=1e-10)
    y = ng.tensor(x * 3.0)  # homogeneous: norm(3x) = 3 norm(x)
    np.testing.assert_allclose(_np(ng.linalg.vector_norm(y, p)), 3 * want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dt", DTYPES)
def test_linalg_products(dt):
    check(lambda L, a, b: L.linalg.vecdot(a, b), [R(2, 3, 4), R(3, 4, seed=2)], dt)
    check(lambda L, a, b: L.linalg.vecdot(a, b, dim=0), [R(3, 4), R(3, 1, seed=2)], dt)
    check(lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), [R(2, 3), R(3, 4), R(4, 2)], dt)
    check(lambda L, a, b, c: L.linalg.multi_dot((a, b, c)), [R(3), R(3, 4), R(4)], dt)
    check(lambda L, a, b: L.linalg.matmul(a, b), [R(2, 3, 4), R(4, 2)], dt)


def test_multi_dot_errors():
    same_error(lambda L, a: L.linalg.multi_dot([a]), R(2, 2))
    with pytest.raises(RuntimeError, match="tensor 1 must be 2D"):
        ng.linalg.multi_dot([ng.zeros(2, 2), ng.zeros(2), ng.zeros(2, 2)])


# ---------------------------------------------------------------- tensordot and kron
TENSORDOT = [
    (2, [(2, 3, 4), (3, 4, 5)]),
    (1, [(2, 3), (3, 4)]),
    (0, [(2, 3), (4,)]),
    (([1, 0], [0, 1]), [(2, 3, 4), (3, 2, 5)]),
    (([2], [0]), [(2, 3, 4), (4, 5)]),
    ([[1], [0]], [(2, 3), (3, 4)]),
    (([0], [1]), [(2, 1), (3, 2)]),
]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("case", range(len(TENSORDOT)))
def test_tensordot(case, dt):
    dims, shapes = TENSORDOT[case]
    check(lambda L, a, b: L.tensordot(a, b, dims=dims), [R(*s, seed=i) for i, s in enumerate(shapes)], dt)


@pytest.mark.parametrize("dims,shapes", [(1, [(2, 3), (4, 5)]), (([0], [0, 1]), [(2, 3), (4, 5)]),
                                         (-1, [(2, 3), (4, 5)]), (3, [(2, 3), (4, 5)])])
def test_tensordot_errors(dims, shapes):
    same_error(lambda L, a, b: L.tensordot(a, b, dims=dims), *[R(*s) for s in shapes])


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shapes", [[(2,), (3,)], [(2, 3), (2, 2)], [(2, 1, 3), (3, 2)], [(2,), (2, 3)], [(0, 2), (2, 2)]])
def test_kron(shapes, dt):
    check(lambda L, a, b: L.kron(a, b), [R(*s, seed=i) for i, s in enumerate(shapes)], dt)
    check(lambda L, a, b: a.kron(b), [R(*s, seed=i) for i, s in enumerate(shapes)], dt)


# ---------------------------------------------------------------- norms
VX = np.array([[1.5, -0.0, 2.0, -3.0], [0.5, 4.0, -1.0, 0.0], [-2.0, 1.0, 0.25, 3.5]])
ORDS = [2, 1, 0, 3, 0.5, 1.5, -1, INF, -INF]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("ord", ORDS)
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), (0, True), ((0, 1), False), (-1, True)])
def test_vector_norm(ord, dim, keepdim, dt):
    x = VX + 0.1 * R(3, 4) * (VX != 0)  # zeros kept: their gradient is PyTorch's
    check(lambda L, a: L.linalg.vector_norm(a, ord, dim, keepdim), [x], dt)


def test_vector_norm_zero_vector_and_dtype():
    for p in (2, 1, 3, 0.5, INF):  # the gradient at a zero norm is 0
        check(lambda L, a: L.linalg.vector_norm(a, p, 1), [np.array([[0.0, 0.0], [1.0, -2.0]])])
    check(lambda L, a: L.linalg.vector_norm(a, dtype=L.float64), [R(3, 2)], np.float32)
    check(lambda L, a: L.linalg.vector_norm(a, 2, 1), [R(3, 4)], transpose=(0,))
    check(lambda L, a: L.linalg.vector_norm(a, 2, 1), [R(0, 3)])
    check(lambda L, a: L.linalg.vector_norm(a, INF, 1), [R(0, 3)])
    check(lambda L, a: L.linalg.vector_norm(a), [np.asarray(-1.5)])


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("ord", ["fro", 1, -1, INF, -INF])
@pytest.mark.parametrize("dim", [(-2, -1), (0, 2), (2, 1)])
def test_matrix_norm(ord, dim, dt):
    check(lambda L, a: L.linalg.matrix_norm(a, ord, dim), [R(2, 3, 4)], dt)
    check(lambda L, a: L.linalg.matrix_norm(a, ord, dim, keepdim=True), [R(2, 3, 4, seed=3)], dt)


def test_matrix_norm_ties_share_the_gradient():
    check(lambda L, a: L.linalg.matrix_norm(a, 1), [np.array([[1.0, -2.0], [2.0, 1.0]])])
    check(lambda L, a: L.linalg.matrix_norm(a, -INF), [np.array([[1.0, -2.0], [2.0, 1.0]])])


@pytest.mark.parametrize("ord,dim,shape", [
    (None, None, (3, 4)), (None, None, (2, 3, 4)), (None, 1, (3, 4)), (None, (0, 1), (3, 4)), (3, None, (5,)),
    ("fro", None, (3, 4)), (INF, None, (3, 4)), (INF, None, (4,)), (-1, (1, 2), (2, 3, 4)), (0.5, 0, (3, 4)),
])
def test_linalg_norm(ord, dim, shape):
    check(lambda L, a: L.linalg.norm(a, ord, dim), [R(*shape)])
    check(lambda L, a: L.linalg.norm(a, ord, dim, keepdim=True), [R(*shape)], np.float32)


@pytest.mark.parametrize("p,dim", [("fro", None), ("fro", 1), ("fro", (0, 1)), (2, None), (1, 0), (3, (0, 1)),
                                   (INF, 1), (0.5, None)])
def test_torch_norm(p, dim):
    check(lambda L, a: L.norm(a, p, dim), [R(3, 4)])
    check(lambda L, a: a.norm(p, dim, keepdim=True), [R(3, 4)], np.float32)


NORM_ERRORS = [
    (lambda L, a: L.linalg.vector_norm(a, INF), np.zeros((0, 3))),
    (lambda L, a: L.linalg.vector_norm(a, INF, 0), np.zeros((0, 3))),
    (lambda L, a: L.linalg.vector_norm(a), np.arange(3)),
    (lambda L, a: L.linalg.matrix_norm(a), R(3)),
    (lambda L, a: L.linalg.matrix_norm(a, "abc"), R(3, 3)),
    (lambda L, a: L.linalg.matrix_norm(a, 3), R(3, 3)),
    (lambda L, a: L.linalg.matrix_norm(a, dim=(0, 0)), R(3, 3)),
    (lambda L, a: L.linalg.norm(a, 2), R(3, 3, 3)),
    (lambda L, a: L.linalg.norm(a, "fro", dim=0), R(3, 3, 3)),
    (lambda L, a: L.linalg.norm(a, dim=(0, 1, 2)), R(3, 3, 3)),
    (lambda L, a: L.linalg.norm(a, "fro"), R(3)),
]


@pytest.mark.parametrize("case", range(len(NORM_ERRORS)))
def test_norm_errors(case):
    fn, a = NORM_ERRORS[case]
    same_error(fn, a)


def test_nuclear_and_spectral_norms_say_what_is_missing():
    for ord in ("nuc", 2, -2):
        with pytest.raises(NotImplementedError, match="no SVD"):
            ng.linalg.matrix_norm(ng.zeros(3, 3), ord)
    with pytest.raises(NotImplementedError, match="no SVD"):
        ng.norm(ng.zeros(3, 3), "nuc")


# ---------------------------------------------------------------- cdist
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("p", [2.0, 1.0, 0.0, 0.5, 1.5, 3.0, INF])
def test_cdist(p, dt):
    x1, x2 = R(4, 3), R(5, 3, seed=2)
    x2[1] = x1[2]  # a zero distance: its gradient is 0, as in torch
    check(lambda L, a, b: L.cdist(a, b, p), [x1, x2], dt)
    check(lambda L, a, b: L.cdist(a, b, p), [R(2, 1, 3, 2), R(3, 4, 2, seed=2)], dt)  # broadcast batches


@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"])
def test_cdist_modes(mode):
    check(lambda L, a, b: L.cdist(a, b, compute_mode=mode), [R(30, 3), R(4, 3, seed=2)])
    check(lambda L, a, b: L.cdist(a, b), [R(30, 3), R(4, 3, seed=2)], np.float32)  # > 25 rows: the mm form
    check(lambda L, a, b: L.cdist(a, b), [R(0, 3), R(4, 3, seed=2)])


@pytest.mark.parametrize("fn,shapes", [
    (lambda L, a, b: L.cdist(a, b), [(3, 4), (2, 5)]), (lambda L, a, b: L.cdist(a, b), [(3,), (2, 3)]),
    (lambda L, a, b: L.cdist(a, b, p=-1), [(3, 3), (2, 3)]), (lambda L, a, b: L.cdist(a, b, compute_mode="x"),
                                                              [(3, 3), (2, 3)]),
])
def test_cdist_errors(fn, shapes):
    same_error(fn, *[R(*s) for s in shapes])


# ---------------------------------------------------------------- trace and diagonals
DIAG = {
    "trace": (lambda L, a: L.trace(a), [R(3, 3)]),
    "trace_rect": (lambda L, a: a.trace(), [R(2, 4)]),
    "diag_vec": (lambda L, a: L.diag(a), [R(3)]),
    "diag_vec_up": (lambda L, a: L.diag(a, 2), [R(3)]),
    "diag_vec_down": (lambda L, a: a.diag(-1), [R(3)]),
    "diag_mat": (lambda L, a: L.diag(a), [R(3, 4)]),
    "diag_mat_off": (lambda L, a: L.diag(a, 1), [R(3, 4)]),
    "diag_mat_neg": (lambda L, a: L.diag(a, -2), [R(3, 4)]),
    "diag_mat_out": (lambda L, a: L.diag(a, 5), [R(3, 4)]),
    "diagonal": (lambda L, a: L.diagonal(a), [R(3, 4)]),
    "diagonal_dims": (lambda L, a: L.diagonal(a, 1, 2, 0), [R(3, 2, 4)]),
    "diagonal_neg": (lambda L, a: a.diagonal(-1, -1, 1), [R(2, 4, 3)]),
    "diagonal_linalg": (lambda L, a: L.linalg.diagonal(a, offset=1), [R(2, 3, 3)]),
    "diag_embed": (lambda L, a: L.diag_embed(a), [R(2, 3)]),
    "diag_embed_off": (lambda L, a: L.diag_embed(a, 1, 0, 2), [R(2, 3)]),
    "diag_embed_neg": (lambda L, a: a.diag_embed(-2, 2, 0), [R(2, 3)]),
    "diagonal_then_embed": (lambda L, a: L.diag_embed(L.diagonal(a, 0, -2, -1) * 2), [R(2, 3, 3)]),
    "diagonal_empty": (lambda L, a: L.diagonal(a), [R(0, 3)]),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", sorted(DIAG))
def test_diagonals(name, dt):
    fn, arrays = DIAG[name]
    check(fn, arrays, dt)


def test_diagonal_is_a_view():
    x = ng.tensor(R(3, 3))
    d = x.diagonal()
    assert d._base is x
    d.mul_(0)
    np.testing.assert_array_equal(np.diag(_np(x)), 0)
    assert x.diagonal(1).numpy().tolist() == [_np(x)[0, 1], _np(x)[1, 2]]
    check(lambda L, a: a.t().diagonal(), [R(3, 4)], transpose=(0,))
    # an in-place op on the diagonal of a non-leaf rewrites the history of its base
    for lib in (ng, torch):
        a = lib.tensor(R(3, 3), requires_grad=True)
        b = a * 1
        b.diagonal().mul_(3)
        b.sum().backward()
        if lib is ng:
            gn = _np(a.grad)
        else:
            np.testing.assert_allclose(gn, _np(a.grad))


@pytest.mark.parametrize("fn,shape", [
    (lambda L, a: L.trace(a), (3, 3, 3)), (lambda L, a: L.diag(a), (3, 3, 3)),
    (lambda L, a: L.diagonal(a, 0, 0, 0), (3, 3)), (lambda L, a: L.diagonal(a, 0, 0, 2), (3, 3)),
    (lambda L, a: L.diag_embed(a, 0, 0, 0), (3,)),
])
def test_diagonal_errors(fn, shape):
    same_error(fn, R(*shape))


# ---------------------------------------------------------------- finite differences (float64)
GRADCHECK = {
    "einsum_bilinear": (lambda a, w, b: ng.einsum("bn,anm,bm->ba", a, w, b), [R(2, 3), R(2, 3, 2), R(2, 2)]),
    "einsum_trace_chain": (lambda a, b: ng.einsum("ij,jk,ki->", a, b, (a @ b).T), [R(2, 3), R(3, 2)]),
    "tensordot": (lambda a, b: ng.tensordot(a, b, ([0, 2], [1, 0])), [R(2, 3, 2), R(2, 2, 3)]),
    "kron": (lambda a, b: ng.kron(a, b), [R(2, 2), R(2, 3)]),
    "vector_norm_3": (lambda a: ng.linalg.vector_norm(a, 3, 1), [R(2, 3)]),
    "vector_norm_inf": (lambda a: ng.linalg.vector_norm(a, INF, 1), [R(2, 3)]),
    "matrix_norm_1": (lambda a: ng.linalg.matrix_norm(a, 1), [R(3, 3)]),
    "cdist": (lambda a, b: ng.cdist(a, b, 1.5), [R(3, 2), R(2, 2, seed=4)]),
    "cdist_mm": (lambda a, b: ng.cdist(a, b, compute_mode="use_mm_for_euclid_dist"), [R(3, 2), R(2, 2, seed=4)]),
    "diagonal": (lambda a: a.diagonal(1, 0, 2), [R(3, 2, 4)]),
    "diag_embed": (lambda a: ng.diag_embed(a, -1), [R(2, 3)]),
    "baddbmm": (lambda c, a, b: ng.baddbmm(c, a, b, beta=0.5, alpha=2), [R(3), R(2, 2, 2), R(2, 2, 3)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck(name):
    fn, arrays = GRADCHECK[name]
    xs = [ng.tensor(a, requires_grad=True) for a in arrays]
    assert ng.autograd.gradcheck(fn, xs)
    assert ng.autograd.gradgradcheck(fn, xs, atol=1e-5, rtol=1e-4)


def test_check_node():
    with ng.autograd.graph.keep_inputs():
        y = ng.tensor(R(3, 4), requires_grad=True).diagonal(1)
        z = ng.linalg.vector_norm(ng.tensor(R(3, 4), requires_grad=True), 3, 1)
    assert ng.autograd.check_node(y.grad_fn).ok
    assert ng.autograd.check_node(z.grad_fn).ok


# ---------------------------------------------------------------- CUDA (simulator), tiny sizes
def _cuda_check(fn, arrays):
    if not ng.cuda.is_available():
        pytest.skip("no CUDA device and no simulator")
    ng.set_default_device("cuda")
    try:
        check(fn, arrays, np.float32)
    finally:
        ng.set_default_device("cpu")


def test_cuda_einsum_and_products():
    _cuda_check(lambda L, a, b: L.einsum("bij,bkj->bik", a, b) + L.einsum("bii->b", a)[:, None, None],
                [R(2, 2, 2), R(2, 2, 2, seed=2)])
    _cuda_check(lambda L, c, a, b: L.addmm(c, a, b, beta=0.5) + L.kron(a, b[:1, :1]), [R(2, 2), R(2, 2), R(2, 2)])
    # grouped subscripts (reshapes of permuted operands) and tensordot
    _cuda_check(lambda L, a, b: L.einsum("ijk,jil->kl", a, b) + L.tensordot(a, b, ([0, 1], [1, 0])),
                [R(2, 2, 2), R(2, 2, 2, seed=3)])


def test_cuda_diagonal_norm_cdist():
    _cuda_check(lambda L, a: L.diag_embed(a.diagonal(1, 0, 1)).sum() + L.trace(a), [R(2, 3)])
    _cuda_check(lambda L, a: L.linalg.vector_norm(a, 3, 1) + L.linalg.matrix_norm(a, INF), [R(2, 2)])
    x1 = R(2, 2)
    _cuda_check(lambda L, a, b: L.cdist(a, b), [x1, np.stack([x1[0], x1[1] + 1])])
