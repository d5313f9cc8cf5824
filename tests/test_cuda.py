"""The CUDA backend: the whole PyTorch oracle suite re-run with CUDA as the default device,
plus CUDA-only behaviour (devices, transfers, errors, the tiled matmul, the allocator).

In CI there is no GPU: these run on the numba.cuda simulator (see conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

import nbgrad as ng

if not ng.cuda.is_available():
    pytest.skip("no CUDA device and no simulator (install numba-cuda)", allow_module_level=True)

from test_ops_oracle import *  # noqa: E402,F401,F403  (the same cases, collected again here)
from test_ops_oracle import check  # noqa: E402


@pytest.fixture(autouse=True)
def _on_cuda():
    ng.set_default_device("cuda")
    yield
    ng.set_default_device("cpu")


def test_default_device_is_cuda():
    t = ng.ones(2)
    assert t.is_cuda and t.device == "cuda:0" and t.device.type == "cuda"
    assert repr(t) == "tensor([1., 1.], device='cuda:0')"  # as torch prints it


SIMULATOR = __import__("os").environ.get("NUMBA_ENABLE_CUDASIM") == "1"

if SIMULATOR:  # these hold on a GPU (gpu_check.py runs them there)
    _why = "the simulator runs math.log/sqrt in Python, which raise where a GPU returns nan or inf"

    @pytest.mark.skip(reason=_why)
    def test_ieee_special_values():
        pass

    @pytest.mark.skip(reason=_why)
    def test_nondifferentiable_points_match_torch():
        pass


def test_transfers_are_differentiable_and_copy():
    a = np.arange(6.0).reshape(2, 3)
    x = ng.tensor(a, device="cpu", requires_grad=True)
    y = x.cuda() * 2
    assert y.device == "cuda:0" and y.grad_fn is not None
    z = y.cpu().sum()
    assert z.device == "cpu"
    z.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 2.0))
    c = ng.tensor(a)
    assert c.to("cpu").device == "cpu" and c.to("cuda") is c
    np.testing.assert_array_equal(c.cpu().numpy(), a)


@pytest.mark.parametrize("vector", [True, False])
@pytest.mark.parametrize("shape_a,shape_b", [((130, 9), (9, 131)), ((2, 3, 17), (17, 5)), ((128, 16), (16, 128))])
def test_tiled_matmul_float32_variants(shape_a, shape_b, vector):
    """The float32 tiles: vector, threads own 4-row / 4-column groups (read with 128-bit shared
    loads on a GPU; the simulator reads the same elements one by one); or rows / columns 16
    apart, read with 32-bit loads. K = 9, 16, 17: two or three k steps through both buffers."""
    from nbgrad.backends.cuda import kernels as K

    old = dict(K.LAUNCH)
    K.configure(tile_min_flops=1, sms=1)
    K.LAUNCH["mm_vector"] = vector
    try:
        rng = np.random.default_rng(1)
        a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
        check(lambda x, y: x @ y, lambda x, y: x @ y, [a, b], np.float32)  # backward: transposed views
    finally:
        K.LAUNCH.update(old)


@pytest.mark.parametrize("a_m_fast", [False, True])
@pytest.mark.parametrize("b_k_fast", [False, True])
def test_tile_stores_hit_32_banks(a_m_fast, b_k_fast):
    """Each warp's shared stores of a tile (the positions the generated kernel stores to) land in
    32 different 4-byte banks, whichever axis the tile loads run along; with unpadded rows
    (BM values), a tile loaded along k would store into 4 banks: an 8-way conflict."""
    from nbgrad.backends.cuda import kernels as K

    pos = K.tile_loads(a_m_fast, b_k_fast)

    def cell(op: str, tid: int, r: int) -> tuple:  # (k, m) of A or (k, n) of B that load r stores
        return tuple(eval(pos[op, ax][0], {"tid": tid, "int32": int}) + pos[op, ax][1] * r
                     for ax in ("k", "m" if op == "A" else "n"))

    def banks(row_len: int, op: str, r: int, warp: int) -> int:
        return len({(k * row_len + c) % 32 for k, c in (cell(op, t, r) for t in range(32 * warp, 32 * warp + 32))})

    for op in "AB":
        for r in range(4):
            for warp in range(8):
                assert banks(K.BP, op, r, warp) == 32
        cells = [cell(op, t, r) for t in range(256) for r in range(4)]  # the 4 loads of 256 threads
        assert len(set(cells)) == len(cells) == K.BK * K.BM and all(0 <= k < K.BK and 0 <= c < K.BM for k, c in cells)
    along_k = [op for op, fast in (("A", not a_m_fast), ("B", b_k_fast)) if fast]
    assert all(banks(K.BM, op, 0, 0) == 4 for op in along_k)


def test_views_made_from_strides_match_numpy():
    """The CUDA backend's views (plan.py's layouts, then as_strided) give NumPy's shapes and
    values, for a contiguous and a strided input; a shape that does not broadcast gets NumPy's
    error, and a reshape that no view makes copies."""
    from nbgrad.backends import get_backend

    be = get_backend("cuda")
    x = be.asarray(np.arange(24.0).reshape(2, 1, 3, 4))
    for v in (x, be.permute(x, (3, 1, 2, 0)), be.basic_index(x, (slice(None), 0, slice(None, None, -2)))):
        host = be.to_numpy(v)
        nd = host.ndim
        cases = [(be.swapaxes(v, -2, -1), np.swapaxes(host, -2, -1)),
                 (be.permute(v, tuple(range(nd))[::-1]), np.transpose(host)),
                 (be.broadcast_to(v, (5,) + v.shape), np.broadcast_to(host, (5,) + host.shape)),
                 (be.expand_dims(v, 1), np.expand_dims(host, 1)),
                 (be.basic_index(v, (Ellipsis, slice(1, None), None, -1)), host[..., 1:, None, -1]),
                 (be.diagonal(v, 1, 0, nd - 1), np.diagonal(host, 1, 0, nd - 1)),
                 (be.reshape(v, (-1,)), host.reshape(-1)),
                 (be.reshape(v, host.shape[:1] + (1,) + host.shape[1:]), host.reshape(host.shape[:1] + (1,) + host.shape[1:]))]
        for got, want in cases:
            assert got.shape == want.shape
            np.testing.assert_array_equal(be.to_numpy(got), want)
    with pytest.raises(ValueError, match="broadcast"):
        be.broadcast_to(x, (3, 1, 3, 4))


def test_cuda_leaf_grad_lives_on_gpu_and_errors_name_devices():
    w = ng.randn(3, 2, requires_grad=True)
    (w * w).sum().backward()
    assert w.grad.is_cuda
    with pytest.raises(RuntimeError, match="same device.*cpu.*cuda:0|same device.*cuda:0.*cpu"):
        w + ng.ones(3, 2, device="cpu")
    with pytest.raises(RuntimeError, match="same device"):
        ng.cat([ng.ones(2), ng.ones(2, device="cpu")])
    with pytest.raises(TypeError, match=r"can't convert cuda:0 device type tensor to numpy"):
        w.detach().numpy()
    with pytest.raises(RuntimeError, match="float32 and float64"):
        ng.ones(2, 2, dtype=ng.int64) @ ng.ones(2, 2, dtype=ng.int64)
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        ng.ones(2, device="tpu")


@pytest.mark.parametrize("shape_a,shape_b,split", [((130, 9), (9, 131), 1), ((2, 3, 17), (17, 5), 1),
                                                    ((128, 16), (16, 128), 1), ((5, 16), (16, 7), 4),
                                                    ((2, 3, 12), (12, 5), 2)])
def test_tiled_matmul_edges(shape_a, shape_b, split):
    """The tiled kernel on edge tiles and batches; split > 1: the product split along K into
    that many chunks (as a small batch on a big GPU is), then summed."""
    from nbgrad.backends.cuda import kernels as K

    old = dict(K.LAUNCH)
    K.configure(tile_min_flops=1, sms=1000 if split > 1 else 1, split_k_min=shape_a[-1] // split)
    try:
        assert K.split_k(shape_a[-2], shape_b[-1], shape_a[-1], 1) == split
        rng = np.random.default_rng(0)
        a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
        check(lambda x, y: x @ y, lambda x, y: x @ y, [a, b], np.float64)  # backward: transposed views
    finally:
        K.LAUNCH.update(old)


@pytest.mark.parametrize("dt,vector", [(np.float32, True), (np.float32, False), (np.float64, False)])
@pytest.mark.parametrize("rows,k,cols,split", [(20, 9, 30, 1), (5, 16, 7, 4), (6, 12, 9, 2)])
def test_linear_adds_its_bias_in_the_product(rows, k, cols, split, dt, vector, monkeypatch):
    """F.linear's bias is added by the tile kernel's stores (split 1) or the split-K sum (split
    > 1), with no launch of its own: values and gradients as torch's, for a bias that is a strided
    view or a slice at an offset too."""
    import torch
    import torch.nn.functional as TF

    import nbgrad.nn.functional as F
    from nbgrad.backends.cuda import kernels as K

    old = dict(K.LAUNCH)
    K.configure(tile_min_flops=1, sms=1000 if split > 1 else 1, split_k_min=k // split)
    K.LAUNCH["mm_vector"] = vector
    try:
        rng = np.random.default_rng(0)
        x, w, b2 = rng.standard_normal((rows, k)), rng.standard_normal((cols, k)), rng.standard_normal(2 * cols)
        check(lambda x_, w_, b_: F.linear(x_, w_, b_[::2]), lambda x_, w_, b_: TF.linear(x_, w_, b_[::2]),
              [x, w, b2], dt)
        check(lambda x_, w_, b_: F.linear(x_, w_, b_[3:cols + 3]),  # a contiguous bias at an offset
              lambda x_, w_, b_: TF.linear(x_, w_, b_[3:cols + 3]), [x, w, b2], dt)
        xs, ws, bs = (ng.tensor(v, dtype=getattr(ng, np.dtype(dt).name)) for v in (x, w, b2[::2]))
        launched = []
        run = type(K.LAUNCHER).__call__
        monkeypatch.setattr(type(K.LAUNCHER), "__call__", lambda self, kern, *a: (launched.append(kern), run(self, kern, *a)))
        y = F.linear(xs, ws, bs)
        monkeypatch.undo()
        assert len(launched) == (1 if split == 1 else 2)  # the product (and the chunks' sum)
        np.testing.assert_allclose(y.cpu().numpy(), TF.linear(*(torch.tensor(v.cpu().numpy()) for v in (xs, ws, bs))),
                                   rtol=1e-5 if dt == np.float32 else 1e-12, atol=1e-5 if dt == np.float32 else 1e-12)
    finally:
        K.LAUNCH.update(old)


@pytest.mark.parametrize("shape,dim", [((7,), None), ((2, 9), 1), ((9, 3), 0), ((2, 7, 3), 1), ((3, 5, 2), (0, 1)),
                                       ((4, 6), None), ((5, 2, 3), (1, 2))])
@pytest.mark.parametrize("dt", [np.float32, np.float64, np.int64])
def test_sums_split_into_chunks(shape, dim, dt):
    """A sum with too few outputs to fill the GPU adds chunks of the summed axis in a first pass
    and the chunks in a second (forced here with 2-element chunks; 7 and 9 give a short last
    chunk): values as torch's, and the bias-gradient path (sum_to) in backward."""
    from nbgrad.backends.cuda import kernels as K

    old = dict(K.LAUNCH)
    K.configure(reduce_chunks=(2, 2))
    try:
        K_len = int(np.prod([shape[d] for d in ((dim,) if isinstance(dim, int) else dim or range(len(shape)))]))
        outputs = int(np.prod(shape)) // K_len
        assert K.reduce_chunks(outputs, K_len, rows=False) > 1 and K.reduce_chunks(outputs, K_len, rows=True) > 1
        a = np.arange(np.prod(shape)).reshape(shape) % 11 - 4
        if dt == np.int64:
            got = ng.tensor(a.astype(dt)).sum(dim).cpu().numpy()
            np.testing.assert_array_equal(got, a.sum(dim))
        else:
            check(lambda x: x.sum(dim), lambda x: x.sum(dim), [a * 0.37], dt)
            check(lambda x, b: x + b, lambda x, b: x + b, [a * 0.37, a[(0,) * (len(shape) - 1)] * 0.1], dt)
    finally:
        K.LAUNCH.update(old)


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_split_into_chunks(op):
    """max / min with too few outputs to fill the GPU: the extremes of chunks, then of those
    (forced 2-element chunks). Ties give the first index and the first NaN wins, as in torch."""
    torch = pytest.importorskip("torch")
    from nbgrad.backends.cuda import kernels as K

    old = dict(K.LAUNCH)
    K.configure(reduce_chunks=(2, 2))
    try:
        a = np.array([[3.0, 1.0, 7.0, 7.0, 2.0, 7.0, 0.0], [5.0, 5.0, 1.0, 1.0, 5.0, 1.0, 1.0],
                      [2.0, np.nan, 9.0, np.nan, 9.0, 1.0, 0.0], [7.0, 5.0, 9.0, 1.0, 9.0, 7.0, 0.0],
                      [3.0, 5.0, np.nan, 1.0, 2.0, 7.0, 1.0]])
        for dim in (0, 1):
            assert K.reduce_chunks(a.size // a.shape[dim], a.shape[dim], rows=False) > 1
            v, i = getattr(ng.tensor(a), op)(dim)
            tv, ti = getattr(torch.tensor(a), op)(dim)
            np.testing.assert_array_equal(v.cpu().numpy(), tv.numpy())
            np.testing.assert_array_equal(i.cpu().numpy(), ti.numpy())
        b = a[:2]
        assert getattr(ng.tensor(b), op)().item() == getattr(torch.tensor(b), op)().item()
        assert np.isnan(getattr(ng.tensor(a), op)().item())
        check(lambda x: getattr(x, op)(1)[0], lambda x: getattr(x, op)(1)[0], [b], np.float64)
    finally:
        K.LAUNCH.update(old)


def test_training_on_cuda_matches_cpu():
    def run(device):
        ng.manual_seed(0)
        model = ng.nn.Sequential(ng.nn.Linear(4, 8), ng.nn.Tanh(), ng.nn.Linear(8, 3)).double().to(device)
        opt = ng.optim.Adam(model.parameters(), lr=0.05)
        sgd = ng.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-3)
        x = ng.tensor(np.linspace(-1, 1, 20).reshape(5, 4), dtype=ng.float64, device=device)
        t = ng.tensor([0, 2, 1, 2, 0], device=device)
        losses = []
        for i in range(3):
            o = opt if i % 2 == 0 else sgd
            o.zero_grad()
            loss = ng.nn.functional.cross_entropy(model(x), t)
            loss.backward()
            o.step()
            losses.append(loss.item())
        return losses, [p.detach().cpu().numpy() for p in model.parameters()]

    lc, pc = run("cpu")
    lg, pg = run("cuda")
    np.testing.assert_allclose(lg, lc, rtol=1e-10)
    for a, b in zip(pg, pc):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_caching_allocator_reuses_buffers():
    be = ng.ones(1)._backend
    be.pool.empty_cache()
    a = ng.ones(1000)
    buf = a._data.buf
    del a
    assert ng.cuda.memory_cached() > 0
    b = ng.zeros(1000)
    assert b._data.buf is buf
    np.testing.assert_array_equal(b.cpu().numpy(), np.zeros(1000, np.float32))


def test_views_share_memory_and_versions():
    x = ng.zeros(2, 3)
    v = x.T
    assert v._data.storage is x._data.storage and v.shape == (3, 2)
    x[0, 1] = 5.0
    assert v[1, 0].item() == 5.0
    idx = ng.tensor([1, 0, 1])
    w = ng.arange(6.0, requires_grad=True)
    w.reshape(2, 3)[:, idx].sum().backward()
    np.testing.assert_array_equal(w.grad.cpu().numpy(), [1, 2, 0, 1, 2, 0])


def test_import_does_not_load_numba_cuda():
    import subprocess
    import sys

    code = "import sys, nbgrad as ng; ng.ones(2) + 1; print('numba.cuda' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_python_numbers_stay_on_host_until_needed():
    t = ng.tensor(2.0)
    assert t._data.host is not None  # no upload for a number
    assert (ng.ones(3) * t).sum().item() == 6.0
    v = t.reshape(1)  # a view needs device memory: t is uploaded, and both see writes
    v[0] = 5.0
    assert t.item() == 5.0 and t._data.host is None


def test_gradcheck_on_cuda():
    x = ng.randn(3, 2, dtype=ng.float64, requires_grad=True)
    w = ng.randn(2, 4, dtype=ng.float64, requires_grad=True)
    assert ng.autograd.gradcheck(lambda a, b: (a @ b).tanh().sum(1), (x, w))


_INDEXINGS = [
    lambda x, i, j: x[i],
    lambda x, i, j: x[:, i],
    lambda x, i, j: x[..., i],
    lambda x, i, j: x[i, :, j],  # advanced items apart: their block goes first
    lambda x, i, j: x[i, j],
    lambda x, i, j: x[None, 1:3, i],
    lambda x, i, j: x[i.reshape(2, 1), :, j.reshape(1, 2)],
    lambda x, i, j: x[i, [0, 2, 1]],  # a host list next to a device tensor
]


@pytest.mark.parametrize("k", range(len(_INDEXINGS)))
def test_integer_index_tensors_stay_on_the_device(k, monkeypatch):
    """x[idx] with CUDA index tensors (negative and repeated entries) matches torch forward and
    backward, and the index values are never copied to the host."""
    torch = pytest.importorskip("torch")
    from nbgrad.backends.cuda import CudaBackend

    f = _INDEXINGS[k]
    rng = np.random.default_rng(k)
    xa = rng.standard_normal((4, 5, 6))
    ia, ja = np.array([3, -1, 3]), np.array([0, 4, -2])
    if k == 6:
        ia, ja = ia[:2], ja[:2]
    x, i, j = ng.tensor(xa, requires_grad=True), ng.tensor(ia), ng.tensor(ja)
    to_host = CudaBackend.to_numpy
    monkeypatch.setattr(CudaBackend, "to_numpy", lambda self, a: pytest.fail("index copied to the host"))
    out = f(x, i, j)
    g = ng.tensor(rng.standard_normal(out.shape))
    out.backward(g)
    monkeypatch.setattr(CudaBackend, "to_numpy", to_host)
    tx = torch.tensor(xa, requires_grad=True)
    tout = f(tx, torch.tensor(ia), torch.tensor(ja))
    tout.backward(torch.tensor(g.cpu().numpy()))
    np.testing.assert_allclose(out.detach().cpu().numpy(), tout.detach().numpy())
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy())


def test_index_out_of_range_on_cuda_raises_at_the_next_host_copy():
    x = ng.arange(10.0)
    y = x[ng.tensor([2, 10])]  # no host round trip here: the kernel sets an error flag
    with pytest.raises(IndexError, match="index out of range"):
        y.cpu()
    z = ng.zeros(5)
    z[ng.tensor([1, -5])] = 2.0
    assert z.tolist() == [2.0, 2.0, 0.0, 0.0, 0.0]  # the flag was reset
    z[ng.tensor([5])] = 1.0
    with pytest.raises(IndexError, match="index out of range"):
        ng.cuda.synchronize()


def test_bad_loss_inputs_on_cuda_raise_at_the_next_host_copy():
    """As PyTorch's device-side asserts: an out-of-range target or a BCE input outside [0, 1]."""
    loss = ng.nn.functional.cross_entropy(ng.zeros(3, 4), ng.tensor([0, 4, 1]))
    with pytest.raises(IndexError, match="Target out of bounds"):
        loss.item()
    x = ng.tensor([0.5, 1.5])
    if SIMULATOR:  # it would run log(1 - 1.5) in Python (an error, where a GPU gives nan)
        x._backend.check_unit_interval(x._data)
    else:
        ng.nn.functional.binary_cross_entropy(x, ng.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        ng.cuda.synchronize()
    ok = ng.nn.functional.binary_cross_entropy(ng.tensor([0.5, 0.25]), ng.tensor([0.0, 1.0]))
    assert np.isfinite(ok.item())


def test_cuda_dlpack_shares_memory_with_torch():
    """On a GPU: DLPack both ways with torch CUDA tensors, without copies. The simulator has no
    device memory: export says so and points to __cuda_array_interface__."""
    x = ng.arange(6.0).reshape(2, 3)
    assert x.__dlpack_device__() == (2, 0)
    if SIMULATOR:
        with pytest.raises(BufferError, match="__cuda_array_interface__"):
            x.__dlpack__()
        return
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    t = torch.from_dlpack(x.T)  # a strided view
    t[0, 1] = 42.0
    assert x[1, 0].item() == 42.0 and t.shape == (3, 2)

    class Producer:  # DLPack only, no __cuda_array_interface__
        def __init__(self, tt):
            self.tt = tt

        def __dlpack__(self, **kw):
            return self.tt.__dlpack__(**kw)

        def __dlpack_device__(self):
            return self.tt.__dlpack_device__()

    tt = torch.arange(4.0, device="cuda")
    y = ng.from_dlpack(Producer(tt))
    tt[2] = -1.0
    assert y.is_cuda and y.tolist() == [0.0, 1.0, -1.0, 3.0]


def test_copied_and_pickled_cuda_tensors_stay_on_the_device():
    import copy
    import pickle

    m = ng.nn.Linear(3, 2)
    m2 = copy.deepcopy(m)
    assert m2.weight.is_cuda and m2.weight._data.buf is not m.weight._data.buf
    np.testing.assert_array_equal(m2(ng.ones(1, 3)).detach().cpu().numpy(), m(ng.ones(1, 3)).detach().cpu().numpy())
    t = pickle.loads(pickle.dumps(ng.tensor([1.0, 2.0])))
    assert t.is_cuda and (t + 1).tolist() == [2.0, 3.0]


from test_autograd import test_random_graphs_never_alias_leaf_gradients  # noqa: E402,F401  (again, on CUDA)


def test_training_step_keeps_fresh_gradients_without_copies(monkeypatch):
    """The weight and bias gradients of a CUDA step become .grad without a copy (each its own
    buffer), as on the CPU; a sum stores in the input's dtype, with no cast launch after it."""
    from nbgrad.backends.cuda import CudaBackend

    m = ng.nn.Sequential(ng.nn.Linear(4, 8), ng.nn.ReLU(), ng.nn.Linear(8, 3))
    x, t = ng.randn(5, 4), ng.tensor([0, 2, 1, 1, 0])
    calls = []
    real = CudaBackend.elementwise
    monkeypatch.setattr(CudaBackend, "elementwise",
                        lambda self, op, *a, **k: calls.append(op) or real(self, op, *a, **k))
    ng.nn.functional.cross_entropy(m(x), t).backward()
    assert "copy" not in calls
    grads = [p.grad._data for p in m.parameters()]
    be = grads[0].backend
    assert all(not be.shares_memory(a, b) for i, a in enumerate(grads) for b in grads[i + 1:])
    assert not any(be.shares_memory(g, p._data) for g in grads for p in m.parameters())
    torch = pytest.importorskip("torch")
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        for tp, p in zip(tm.parameters(), m.parameters()):
            tp.copy_(torch.from_numpy(p.detach().cpu().numpy()))
    torch.nn.functional.cross_entropy(tm(torch.from_numpy(x.cpu().numpy())), torch.tensor([0, 2, 1, 1, 0])).backward()
    for tp, p in zip(tm.parameters(), m.parameters()):
        np.testing.assert_allclose(p.grad.cpu().numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_device_and_memory_queries_as_in_torch():
    device = ng.accelerator.current_accelerator().type if ng.accelerator.is_available() else "cpu"
    assert device == "cuda" and ng.accelerator.device_count() == 1 == ng.cuda.device_count()
    assert ng.cuda.current_device() == 0 == ng.accelerator.current_device_index()
    assert isinstance(ng.cuda.get_device_name(), str) and ng.cuda.get_device_name()
    ng.cuda.empty_cache()
    base = ng.cuda.memory_allocated()
    assert ng.cuda.memory_reserved() == base
    x = ng.empty(1 << 20)  # 4 MiB of float32
    assert ng.cuda.memory_allocated() - base >= 4 << 20
    assert ng.cuda.max_memory_allocated() >= ng.cuda.memory_allocated()
    del x
    assert ng.cuda.memory_allocated() == base and ng.cuda.memory_reserved() >= base + (4 << 20)
    ng.cuda.empty_cache()
    assert ng.cuda.memory_reserved() == ng.cuda.memory_allocated() == base


@pytest.mark.parametrize("opt_name", ["sgd_nesterov_wd", "sgd_maximize", "sgd_wd_no_momentum"])
def test_fused_optimizer_kernels_follow_torch(opt_name):
    """SGD with momentum / weight decay / maximize is one fused kernel per parameter on CUDA, as
    Adam is: a few steps (MSE, quick on the simulator) against torch's trajectory."""
    torch = pytest.importorskip("torch")
    from test_nn_optim import OPTIMIZERS, _mlp

    torch.manual_seed(0)
    tm = _mlp(torch, torch.float64)
    m = _mlp(ng, ng.float64)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    for lib, model in ((ng, m), (torch, tm)):
        opt = OPTIMIZERS[opt_name](lib.optim, model.parameters())
        for _ in range(3):
            opt.zero_grad()
            ((model(lib.tensor(X)) - lib.tensor(Y)) ** 2).mean().backward()
            opt.step()
    for p, tp in zip(m.parameters(), tm.parameters()):
        np.testing.assert_allclose(p.detach().cpu().numpy(), tp.detach().numpy(), rtol=1e-9, atol=1e-12)


from test_gradcheck import CASES as _GRADCHECK  # noqa: E402
from test_gradcheck import T as _T  # noqa: E402


# the slowest on the simulator (row kernels, many launches), whose kernels other cases here and the
# torch oracle cases on CUDA cover: left to the CPU run of test_gradcheck.py
_SLOW_ON_SIMULATOR = {"softmax0", "softmax", "chain", "sum_dims", "bmm_bcast4", "var_dim"} if SIMULATOR else set()


@pytest.mark.parametrize("name", [n for n in _GRADCHECK if n not in _SLOW_ON_SIMULATOR])
def test_gradcheck_cases_on_cuda(name):
    """Finite differences (float64) against the CUDA backward kernels."""
    fn, arrays = _GRADCHECK[name]
    assert ng.autograd.gradcheck(fn, [_T(a) for a in arrays])


@pytest.mark.parametrize("n", [1, 7, 64, 1001])
def test_elementwise_with_four_value_accesses(n):
    """The float32 elementwise variant moving 4 values per access (with a tail of n % 4, scalar
    operands, and offsets that fall back to the scalar kernel), against NumPy."""
    from nbgrad.backends.cuda import kernels as K

    old = dict(K.LAUNCH)
    K.LAUNCH["ew_vector"] = True
    try:
        rng = np.random.default_rng(n)
        a, b = rng.standard_normal(n + 3).astype(np.float32), rng.standard_normal(n + 3).astype(np.float32)
        x, y = ng.tensor(a), ng.tensor(b)
        np.testing.assert_allclose((x[:n] * y[:n] + 2.5).cpu().numpy(), a[:n] * b[:n] + 2.5, rtol=1e-6)
        assert any(key[-1] for key in K._EW)  # the 4-value kernels ran
        np.testing.assert_allclose((x[3:] - y[3:]).relu().cpu().numpy(), np.maximum(a[3:] - b[3:], 0))  # offset 3
        np.testing.assert_allclose(ng.where(x > 0, x, y).cpu().numpy(), np.where(a > 0, a, b))
        z = x.clone()
        z.mul_(3.0)  # in place: out is an operand
        np.testing.assert_allclose(z.cpu().numpy(), a * 3, rtol=1e-6)
        np.testing.assert_allclose((x.double() + 1).cpu().numpy(), a.astype(np.float64) + 1)  # float64: scalar path
    finally:
        K.LAUNCH.update(old)


@pytest.mark.parametrize("hyper", [dict(lr=0.1), dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
                                   dict(lr=0.05, momentum=0.8, dampening=0.3, maximize=True)])
def test_sgd_updates_many_parameters_per_launch(hyper, monkeypatch):
    """SGD on CUDA updates a group's contiguous parameters of one dtype in one kernel per
    K.FOREACH of them (shrunk to 3 here): 7 float64 parameters of different sizes, a float32
    one and a strided one (updated alone), three steps, as torch's SGD."""
    import torch

    from nbgrad.backends.cuda import kernels as K

    monkeypatch.setattr(K, "FOREACH", 3)
    rng = np.random.default_rng(5)
    shapes = [(3, 4), (5,), (1,), (2, 3, 2), (7,), (4, 4), (2,)]
    vals = [rng.standard_normal(s) for s in shapes] + [rng.standard_normal((3, 2)), rng.standard_normal((4, 3))]
    grads = [[rng.standard_normal(v.shape) for v in vals] for _ in range(3)]
    ps = [ng.tensor(v, requires_grad=True) for v in vals[:7]] + [ng.tensor(vals[7], dtype=ng.float32,
                                                                           requires_grad=True)]
    ps.append(ng.tensor(vals[8].T.copy(), requires_grad=True).T.detach().requires_grad_())  # strided leaf
    assert not ps[-1].is_contiguous()
    tp = [torch.tensor(v, requires_grad=True) for v in vals[:7]] + [
        torch.tensor(vals[7], dtype=torch.float32, requires_grad=True), torch.tensor(vals[8], requires_grad=True)]
    opt, topt = ng.optim.SGD(ps, **hyper), torch.optim.SGD(tp, **hyper)
    launched = []
    run = type(K.LAUNCHER).__call__
    for gs in grads:
        for p, t, gr in zip(ps, tp, gs):
            p.grad = ng.tensor(gr, dtype=p.dtype)
            t.grad = torch.tensor(gr, dtype=t.dtype)
        monkeypatch.setattr(type(K.LAUNCHER), "__call__", lambda self, kern, *a: (launched.append(kern), run(self, kern, *a)))
        opt.step()
        monkeypatch.undo()
        monkeypatch.setattr(K, "FOREACH", 3)
        topt.step()
        for p, t in zip(ps, tp):
            np.testing.assert_allclose(p.detach().cpu().numpy(), t.detach().numpy(), rtol=1e-6 if p.dtype == ng.float32
                                       else 1e-12, atol=1e-7)
    sgd = sum(getattr(k, "py_func", k) is K.sgd_step.py_func for k in launched)
    assert sgd == 3 * (3 + 1)  # a step: 7 float64 -> 3 launches, the float32 one 1 (the strided one: elementwise)


def test_float64_math_with_float32_constants_stays_float64():
    """elu, gelu (tanh) and logsigmoid mix float32 constants into their scalar math (so float32
    stays float32); float64 must not be pulled down to float32 precision (on the simulator too,
    where math.exp returns a Python float). Agrees with the CPU to float64 rounding."""
    x = np.array([-2.5, -0.7, 0.3, 1.2, -4.1])
    F = ng.nn.functional
    for fn in (lambda t: F.elu(t, 1.3), lambda t: F.gelu(t, approximate="tanh"), F.logsigmoid, F.mish):
        want = fn(ng.tensor(x, device="cpu")).numpy()
        got = fn(ng.tensor(x, device="cuda")).cpu().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
