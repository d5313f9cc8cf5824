"""CUDA graphs (ng.cuda.CUDAGraph / ng.cuda.graph): a captured training step replays PyTorch's
numbers, capture refuses what a graph cannot hold, and the graph's memory is never handed to
anything else while it lives. In CI these run on the simulator (its capture keeps the launches
as a list); benches/gpu_session.sh runs them on a GPU, where capture goes through cuda.core."""

from __future__ import annotations

import numpy as np
import pytest

import nbgrad as ng

if not ng.cuda.is_available():
    pytest.skip("no CUDA device and no simulator (install numba-cuda)", allow_module_level=True)

torch = pytest.importorskip("torch")

from nbgrad.backends import get_backend  # noqa: E402
from nbgrad.backends.cuda import kernels as K  # noqa: E402

RNG = np.random.default_rng(7)
XS = [RNG.standard_normal((4, 3)) for _ in range(4)]
YS = [RNG.integers(0, 2, 4) for _ in range(4)]
W = [RNG.standard_normal((5, 3)) * 0.5, RNG.standard_normal(5) * 0.1, RNG.standard_normal((2, 5)) * 0.5,
     RNG.standard_normal(2) * 0.1]


def _model(lib, device):
    nn = lib.nn
    m = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).to(device).double()
    for p, w in zip(m.parameters(), W):
        with lib.no_grad():
            p.copy_(lib.tensor(w, device=device))
    return m


def _opt(lib, params, name, **kw):
    if name == "sgd":
        return lib.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2)
    return (lib.optim.AdamW if name == "adamw" else lib.optim.Adam)(params, lr=0.05, weight_decay=1e-2, **kw)


def _step(lib, m, opt, x, y):
    opt.zero_grad()
    loss = lib.nn.functional.cross_entropy(m(x), y)
    loss.backward()
    opt.step()
    return loss


@pytest.fixture(autouse=True)
def _no_capture_left():
    yield
    be = get_backend("cuda")
    assert not be.capturing and K.LAUNCHER.capture is None and be.pool.capturing is None


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw"])
def test_graphed_training_step_matches_torch(name):
    """One eager warm-up step, then the step captured once and replayed on new batches copied
    into the same input tensors: losses and parameters follow torch's eager trajectory."""
    tm = _model(torch, "cpu")
    topt = _opt(torch, tm.parameters(), name)
    want = [_step(torch, tm, topt, torch.tensor(x), torch.tensor(y)).item() for x, y in zip(XS, YS)]

    m = _model(ng, "cuda")
    kw = {} if name == "sgd" else {"capturable": True}
    opt = _opt(ng, m.parameters(), name, **kw)
    sx, sy = ng.tensor(XS[0], device="cuda"), ng.tensor(YS[0], device="cuda")
    got = [_step(ng, m, opt, sx, sy).item()]
    g = ng.cuda.CUDAGraph()
    with ng.cuda.graph(g):
        static_loss = _step(ng, m, opt, sx, sy)
    assert g.num_launches > 10
    for x, y in zip(XS[1:], YS[1:]):
        sx.copy_(ng.tensor(x, device="cuda"))
        sy.copy_(ng.tensor(y, device="cuda"))
        g.replay()
        got.append(static_loss.item())
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    for p, tp in zip(m.parameters(), tm.parameters()):
        np.testing.assert_allclose(p.detach().cpu().numpy(), tp.detach().numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(p.grad.cpu().numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-12)
    g.reset()


def test_capturable_adam_matches_plain_adam_in_float32():
    """capturable=True counts steps on the device and computes the bias corrections there: the
    same float32 numbers as the host-counted path."""
    ps = []
    for cap in (False, True):
        p = ng.tensor(XS[0].astype(np.float32), device="cuda", requires_grad=True)
        opt = ng.optim.Adam([p], lr=0.1, capturable=cap)
        for i in range(5):
            opt.zero_grad()
            (p * ng.tensor(XS[i % 4].astype(np.float32), device="cuda")).sum().backward()
            opt.step()
        ps.append(p.detach().cpu().numpy())
        if cap:
            st = opt.state[id(p)]["step"]  # a float32 on the device, as torch's capturable state
            assert st.dtype == np.float32 and get_backend("cuda").to_numpy(st).tolist() == 5.0
    np.testing.assert_allclose(ps[1], ps[0], rtol=1e-6, atol=1e-7)


def test_capture_runs_nothing_until_replay():
    x = ng.tensor([1.0, 2.0], device="cuda")
    g = ng.cuda.CUDAGraph()
    with ng.cuda.graph(g):
        assert ng.cuda.is_current_stream_capturing()
        y = x * 3 + 1
    assert not ng.cuda.is_current_stream_capturing()
    x.copy_(ng.tensor([10.0, 20.0], device="cuda"))
    g.replay()
    np.testing.assert_array_equal(y.cpu().numpy(), [31.0, 61.0])
    x.fill_(0.5)
    g.replay()
    np.testing.assert_array_equal(y.cpu().numpy(), [2.5, 2.5])


def test_numbers_are_copied_to_the_device_at_capture():
    """A number made in the capture is copied once into memory the graph keeps; a 0-d tensor
    made before it (kept on the host until a kernel needs it) moves to device memory, so a
    later fill_ / copy_ into it reaches the replays, as with PyTorch's device scalars."""
    x = ng.tensor([[1.0, 2.0], [3.0, 4.0]], device="cuda")
    scale = ng.tensor(3.0, device="cuda")
    g = ng.cuda.CUDAGraph()
    with ng.cuda.graph(g):
        y = x @ ng.tensor([[2.0]], device="cuda").expand(2, 2)
        s = ng.tensor(5.0, device="cuda") * x.sum() * scale
    g.replay()
    np.testing.assert_array_equal(y.cpu().numpy(), [[6.0, 6.0], [14.0, 14.0]])
    assert s.item() == 150.0
    scale.fill_(-1.0)
    g.replay()
    assert s.item() == -50.0


@pytest.mark.parametrize("what, fn", [
    ("item", lambda x: x.sum().item()),
    ("print", lambda x: repr(x)),
    ("cpu", lambda x: x.cpu()),
    ("tolist", lambda x: x.tolist()),
    ("upload", lambda x: ng.tensor([1.0, 2.0], device="cuda")),
    ("seed", lambda x: ng.cuda.manual_seed(3)),
    ("synchronize", lambda x: ng.cuda.synchronize()),
])
def test_capture_refuses_host_copies_and_waits(what, fn):
    x = ng.tensor([1.0, 2.0], device="cuda")
    g = ng.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="not allowed while a CUDA graph is being captured"):
        with ng.cuda.graph(g):
            y = x * 2
            fn(y)
    # the capture is dropped: the backend is eager again, and the graph holds nothing
    with pytest.raises(RuntimeError, match="replay\\(\\) called before a graph was captured"):
        g.replay()
    np.testing.assert_array_equal((x + 1).cpu().numpy(), [2.0, 3.0])


def test_random_draws_in_a_graph_advance_the_generator_on_each_replay():
    """A draw captured in a graph reads the generator's seed and offset on the device and
    advances it: replay k gives what the k-th eager draw after the same seed gives."""
    ng.manual_seed(11)
    eager = [ng.randn(6, device="cuda").cpu().numpy() for _ in range(4)]
    ng.manual_seed(11)
    g = ng.cuda.CUDAGraph()
    with ng.cuda.graph(g):
        y = ng.randn(6, device="cuda") * 2.0
    for k in range(3):
        g.replay()
        np.testing.assert_allclose(y.cpu().numpy(), 2.0 * eager[k], rtol=1e-6)
    np.testing.assert_array_equal(ng.randn(6, device="cuda").cpu().numpy(), eager[3])  # eager draws go on after


def test_adam_without_capturable_is_refused_in_capture():
    p = ng.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    opt = ng.optim.Adam([p], lr=0.1)
    (p * 2).sum().backward()
    opt.step()
    with pytest.raises(RuntimeError, match="capture of step\\(\\) for an instance of Adam but param_groups' "
                                           "capturable is False"):
        with ng.cuda.graph(ng.cuda.CUDAGraph()):
            opt.step()
    with pytest.raises(RuntimeError, match="Adam\\(capturable=True\\) needs its parameters on CUDA, got one on cpu"):
        q = ng.tensor([1.0], device="cpu", requires_grad=True)
        q.grad = ng.tensor([1.0], device="cpu")
        ng.optim.Adam([q], capturable=True).step()


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_optimizer_state_made_in_a_capture_is_refused(name):
    """Without a warm-up step the momentum buffer / step count would be created, and so reset,
    at every replay: refused instead."""
    p = ng.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    opt = _opt(ng, [p], name, **({} if name == "sgd" else {"capturable": True}))
    with pytest.raises(RuntimeError, match="would create its state during a CUDA graph capture.*warm-up"):
        with ng.cuda.graph(ng.cuda.CUDAGraph()):
            opt.zero_grad()
            (p * 2).sum().backward()
            opt.step()


def test_capture_misuse_errors():
    g = ng.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="replay\\(\\) called before"):
        g.replay()
    with pytest.raises(RuntimeError, match="capture_end\\(\\) without capture_begin"):
        g.capture_end()
    with pytest.raises(RuntimeError, match="pool\\(\\) of a CUDAGraph that has not been captured"):
        g.pool()
    with pytest.raises(TypeError, match="expects an ng.cuda.CUDAGraph"):
        ng.cuda.graph(object())
    with pytest.raises(ValueError, match="capture_error_mode must be"):
        g.capture_begin(capture_error_mode="loose")
    with pytest.raises(TypeError, match=r"pool must come from CUDAGraph.pool\(\) or ng.cuda.graph_pool_handle"):
        g.capture_begin(pool=3)
    x = ng.ones(2, device="cuda")
    with ng.cuda.graph(g):
        with pytest.raises(RuntimeError, match="captures do not nest"):
            ng.cuda.CUDAGraph().capture_begin()
        with pytest.raises(RuntimeError, match="replay\\(\\) of a CUDA graph is not allowed"):
            get_backend("cuda").replay(None)
        y = x + 1
    with pytest.raises(RuntimeError, match="already holds a capture"):
        g.capture_begin()
    g.replay()
    assert y.tolist() == [2.0, 2.0]
    g.reset()
    g.capture_begin()  # a reset graph captures again
    z = x * 5
    g.capture_end()
    g.replay()
    assert z.tolist() == [5.0, 5.0]
    g.reset()


def _members(g):
    return g.pool().members


def test_graph_memory_is_not_handed_out_while_the_graph_lives():
    pool = get_backend("cuda").pool
    x = ng.tensor(np.arange(300.0), device="cuda")
    old = x * 7  # a buffer from before the capture, freed inside it
    g = ng.cuda.CUDAGraph()
    with ng.cuda.graph(g):
        t = x + 1  # a temporary freed inside the capture
        del old
        y = t * 2
        del t
    owned = dict(_members(g))
    # t's buffer and old's (y reused one of them): both the graph's now
    assert len(owned) == 2 and all(pool.graph_owned[i] is g.pool() for i in owned)
    eager = [x * float(k) for k in range(12)]  # same size class: none may reuse a graph buffer
    assert not any(id(e._data.buf) in owned for e in eager)
    g.replay()
    np.testing.assert_array_equal(y.cpu().numpy(), (np.arange(300.0) + 1) * 2)
    assert all(e.cpu().numpy()[1] == float(k) for k, e in enumerate(eager))  # replay wrote only graph memory
    cached = pool.cached_bytes
    g.reset()
    assert pool.cached_bytes > cached  # the free graph buffers went back to the cache
    assert id(y._data.buf) in owned and id(y._data.buf) not in pool.graph_owned
    del y  # and the one still in a tensor goes back when that tensor dies
    assert not any(i in pool.graph_owned for i in owned)


def test_graphs_share_a_pool_and_replay_in_order():
    x = ng.tensor([1.0, 2.0, 3.0], device="cuda")
    g1, g2 = ng.cuda.CUDAGraph(), ng.cuda.CUDAGraph()
    with ng.cuda.graph(g1):
        y = x * 2
    with ng.cuda.graph(g2, pool=g1.pool()):
        z = y + 1
    assert g2.pool() is g1.pool()
    g3 = ng.cuda.CUDAGraph()
    with ng.cuda.graph(g3, pool=ng.cuda.graph_pool_handle()):  # a new pool made up front
        w = x - 1
    g3.replay()
    assert w.tolist() == [0.0, 1.0, 2.0]
    g3.reset()
    x.fill_(4.0)
    g1.replay()
    g2.replay()
    assert z.tolist() == [9.0, 9.0, 9.0]
    gp, pool = g1.pool(), get_backend("cuda").pool
    g1.reset()
    assert gp.graphs == 1 and all(pool.graph_owned.get(i) is gp for i in gp.members)  # g2 still holds it
    g2.reset()
    assert not gp.members and gp.graphs == 0


def test_bad_index_in_a_replay_is_reported_at_the_next_host_copy():
    x = ng.tensor([1.0, 2.0, 3.0], device="cuda")
    idx = ng.tensor([0, 2], device="cuda")
    g = ng.cuda.CUDAGraph()
    with ng.cuda.graph(g):
        y = x[idx]
    g.replay()
    assert y.tolist() == [1.0, 3.0]
    idx.copy_(ng.tensor([0, 5], device="cuda"))
    g.replay()
    with pytest.raises(IndexError, match="index out of range"):
        y.tolist()


def test_plan_for_compiles_without_launching_and_names_what_it_cannot_capture():
    """The GPU capture path asks the launcher for a plan; where there is none yet it compiles
    the kernel (never launching it) and builds one; an argument it cannot pass is named."""
    from contextlib import nullcontext

    from nbgrad.backends.cuda.launch import Launcher

    def scale():
        pass

    class FakeKernel:
        py_func = staticmethod(scale)
        compiled: list = []

        def typeof_pyval(self, v):
            return type(v).__name__

        def compile(self, sig):
            self.compiled.append(sig)

    L = Launcher(simulator=True)
    made = []
    L._plan = lambda k, a: made.append(a) or ("kern", "flat")  # type: ignore[method-assign]
    k = FakeKernel()
    assert L.plan_for(k, (1, 2.0), nullcontext) == ("kern", "flat")
    assert k.compiled == [("int", "float")] and made == [(1, 2.0)]
    assert L.plan_for(k, (3, 4.0), nullcontext) == ("kern", "flat") and len(k.compiled) == 1  # planned once
    L._plan = lambda k, a: None  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="kernel scale cannot be launched into a CUDA graph"):
        L.plan_for(k, (True,), nullcontext)


# ------------------------------------------------------------------ every op family, captured
# The oracle's cases, each captured (forward and backward with a fixed upstream gradient) after
# one eager run, then replayed on new input values and a new upstream gradient copied into the
# same tensors: the values must follow torch's on the new inputs. An op that copies to or from
# the host (a hidden round trip) fails here, refused by the capture.
from test_ops_oracle import IDX, MM, RED, SCALAR_FNS, SHAPE_FNS, UNARY, VAR, P, R  # noqa: E402

NF, TF = ng.nn.functional, torch.nn.functional
_TGT = np.array([0, 3, 3, 1, 2])
_W = np.array([1.0, 2.0, 0.5, 3.0])
_HOST_INDEX = {"int_array_tensor", "bool", "bool_row", "bool_int"}  # make index tensors inside the op


def _lib(t):
    """The library a case's tensor belongs to (cases with one lambda for both)."""
    return torch if isinstance(t, torch.Tensor) else ng


GRAPH_CASES = (
    [(f"unary-{op}", getattr(ng, op), getattr(torch, op), [P(3, 4) if op in ("log", "sqrt") else R(3, 4)])
     for op in UNARY]
    + [(f"scalar-{n}", f, f, [P(3, 4)]) for n, f in SCALAR_FNS]
    + [(f"binary-{n}", f, f, [R(2, 1, 4), P(3, 1, seed=3)]) for n, f in [
        ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
        ("div", lambda a, b: a / b), ("pow", lambda a, b: b ** a)]]
    + [("binary-maximum", ng.maximum, torch.maximum, [R(3, 4), R(4, seed=3)]),
       ("binary-minimum", ng.minimum, torch.minimum, [R(3, 4), R(4, seed=3)]),
       ("where", lambda a, b: _lib(a).where(a > b, a, b), None, [R(3, 4), R(4, seed=3)]),
       ("clamp", lambda x: x.clamp(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7), [R(3, 4)])]
    + [(f"shape-{n}", f, f, [R(2, 3, 4)]) for n, f in SHAPE_FNS]
    + [(f"index-{n}", f, f, [R(4, 5)]) for n, f in IDX if n not in _HOST_INDEX]
    + [(f"{op}-{kw}", (lambda op, kw: lambda x: getattr(x, op)(**kw))(op, kw),
        (lambda op, kw: lambda x: getattr(x, op)(**kw))(op, kw), [R(2, 3, 4)]) for op in ("sum", "mean") for kw in RED]
    + [(f"{op}-{kw}", (lambda op, kw: lambda x: getattr(x, op)(**kw))(op, kw),
        (lambda op, kw: lambda x: getattr(x, op)(**kw))(op, kw), [R(3, 4, 5)]) for op in ("var", "std") for kw in VAR]
    + [(f"{op}-{dim}", (lambda op, dim: lambda t: getattr(t, op)(dim=dim)[0])(op, dim),
        (lambda op, dim: lambda t: getattr(t, op)(dim=dim)[0])(op, dim),
        [np.random.default_rng(0).permutation(24).reshape(2, 3, 4) / 7.0]) for op in ("max", "min") for dim in (0, -1)]
    + [("max-all", lambda t: t.max(), lambda t: t.max(), [np.random.default_rng(0).permutation(12) / 7.0])]
    + [(f"{f}-{d}", (lambda f, d: lambda t: getattr(t, f)(d))(f, d), (lambda f, d: lambda t: getattr(t, f)(d))(f, d),
        [R(3, 4, 5) * 3]) for f in ("softmax", "log_softmax", "logsumexp") for d in (0, -1)]
    + [(f"matmul-{sa}-{sb}", lambda a, b: a @ b, lambda a, b: a @ b, [R(*sa), R(*sb, seed=3)]) for sa, sb in MM]
    + [("cat", lambda a, b: _lib(a).cat([a, b, a], 1), None, [R(2, 3), R(2, 2, seed=4)]),
       ("stack", lambda a, b: _lib(a).stack([a, b], -1), None, [R(2, 3), R(2, 3, seed=4)])]
    + [(f"{n}-{red}", (lambda n, red: lambda x, y: getattr(NF, n)(x, y, reduction=red))(n, red),
        (lambda n, red: lambda x, y: getattr(TF, n)(x, y, reduction=red))(n, red), [R(3, 4), R(3, 4, seed=3)])
       for n in ("mse_loss", "l1_loss", "binary_cross_entropy_with_logits") for red in ("mean", "none")]
    + [("bce", NF.binary_cross_entropy, TF.binary_cross_entropy,
        [R(3, 4, lo=0.1, hi=0.9), R(3, 4, seed=6, lo=0, hi=1)])]
    + [(f"{n}-{red}", (lambda n, red: lambda a, t, c: getattr(NF, n)(a, t, c, reduction=red, ignore_index=1))(n, red),
        (lambda n, red: lambda a, t, c: getattr(TF, n)(a, t, c, reduction=red, ignore_index=1))(n, red),
        [R(5, 4) * 3, _TGT, _W]) for n in ("cross_entropy", "nll_loss") for red in ("mean", "sum", "none")]
)


@pytest.mark.parametrize("name, f_ng, f_t, arrays", GRAPH_CASES, ids=[c[0] for c in GRAPH_CASES])
def test_every_op_family_replays_from_a_graph(name, f_ng, f_t, arrays):
    f_t = f_t or f_ng
    rng = np.random.default_rng(3)
    arrays = [np.asarray(a) for a in arrays]
    grads = [a.dtype.kind == "f" and not (name.startswith(("cross_entropy", "nll_loss")) and i == 2)
             for i, a in enumerate(arrays)]
    xs = [ng.tensor(a, device="cuda", requires_grad=r) for a, r in zip(arrays, grads)]
    y = f_ng(*xs)  # warm-up: eager, compiles
    up = ng.tensor(rng.standard_normal(tuple(y.shape)), device="cuda")
    y.backward(up)
    for x in xs:
        x.grad = None
    g = ng.cuda.CUDAGraph()
    with ng.cuda.graph(g):
        y = f_ng(*xs)
        y.backward(up)
    for factor in (0.9, 0.75):  # new values (same signs and order: same branches, same domains)
        new = [a * factor if r else a for a, r in zip(arrays, grads)]
        new_up = rng.standard_normal(tuple(y.shape))
        with ng.no_grad():
            for x, a in zip(xs, new):
                x.copy_(ng.tensor(a, device="cuda"))
            up.copy_(ng.tensor(new_up, device="cuda"))
        g.replay()
        ts = [torch.tensor(a, requires_grad=r) for a, r in zip(new, grads)]
        yt = f_t(*ts)
        yt.backward(torch.tensor(new_up))
        np.testing.assert_allclose(y.detach().cpu().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        for x, t in zip(xs, ts):
            if t.grad is not None:
                np.testing.assert_allclose(x.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    g.reset()


def test_gpu_capture_glue_with_a_fake_cuda_core(monkeypatch):
    """The GPU capture path (cuda.core stream capture) cannot run without a GPU; with cuda.core,
    the driver and numba's stream faked, this checks the calls it makes and their order: capture
    begins on a stream that synchronises with the default one, launches go to the builder with
    the fast path's flattened arguments, a fresh allocation and a compile run in relaxed mode,
    a constant is copied on a side stream, replay launches on the legacy default stream."""
    import cuda.bindings.driver as drv
    import cuda.core
    from numba import cuda as ncuda

    from nbgrad.backends.cuda import graph as cuda_graph
    from nbgrad.backends.cuda.launch import Launcher

    log = []

    class Obj:
        def __init__(self, name, **kw):
            self.name = name
            self.__dict__.update(kw)

        def __getattr__(self, attr):  # any method: logged
            return lambda *a, **k: log.append((self.name, attr, a, k)) or self._ret.get(attr)

    graph = Obj("graph", _ret={})
    builder = Obj("builder", _ret={"complete": graph})
    side = Obj("side", _ret={}, handle=99)
    capture_stream = Obj("stream", _ret={"create_graph_builder": builder})

    class Device:
        def __init__(self, i=0):
            log.append(("Device", i))

        def set_current(self):
            pass

        def create_stream(self, obj=None, options=None):
            log.append(("create_stream", obj, getattr(options, "nonblocking", None)))
            return capture_stream if obj is not None else side

    monkeypatch.setattr(cuda.core, "Device", Device)
    monkeypatch.setattr(cuda.core, "LEGACY_DEFAULT_STREAM", "legacy")
    monkeypatch.setattr(ncuda, "stream", lambda: "numba-stream", raising=False)
    monkeypatch.setattr(ncuda, "get_current_device", lambda: Obj("dev", _ret={}, id=0))
    modes = []
    monkeypatch.setattr(drv, "cuThreadExchangeStreamCaptureMode",
                        lambda m: modes.append(int(m)) or (drv.CUresult.CUDA_SUCCESS, m))
    monkeypatch.setattr(drv, "cuMemcpyHtoDAsync",
                        lambda dst, src, nbytes, stream: log.append(("memcpy", dst, nbytes, stream)) or
                        (drv.CUresult.CUDA_SUCCESS,))

    gp = cuda_graph.GraphPool()
    cap = cuda_graph.GpuCapture(gp, "global")
    assert ("create_stream", "numba-stream", None) in log and ("builder", "begin_building", ("global",), {}) in log

    L = Launcher(simulator=True)
    L._core = Obj("core", _ret={})
    kernel = object()
    L.plans[(kernel, ("i", "d"))] = ("compiled", lambda a, b: [a, b * 2])
    L.configs[((2, 1, 1), (4, 1, 1))] = "cfg"
    cap.add(L, kernel, (2, 1, 1), (4, 1, 1), (3, 1.5))
    assert log[-1] == ("core", "launch", (builder, "cfg", "compiled", 3, 3.0), {}) and cap.launches == 1

    with cap.relaxed():
        assert modes == [int(drv.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED)]
    assert len(modes) == 2  # the thread's mode restored

    buf = Obj("buf", _ret={}, device_ctypes_pointer=Obj("ptr", _ret={}, value=4096))
    out = Obj("out", _ret={}, buf=buf, offset=0)
    a = np.arange(3, dtype=np.int64)
    cap.upload_constant(out, a)
    assert ("create_stream", None, True) in log  # a non-blocking side stream
    assert ("memcpy", 4096, 24, 99) in log and ("side", "sync", (), {}) in log and cap.constants == [out]

    g = cap.end()
    assert [e[1] for e in log if e[0] == "builder"][-2:] == ["end_building", "complete"]
    assert ("side", "close", (), {}) in log and g.launches == 1
    g.replay(L)
    assert log[-1] == ("graph", "launch", ("legacy",), {})
    g.close()
    assert [e[1] for e in log[-2:]] == ["close", "close"]  # the graph, then its builder
