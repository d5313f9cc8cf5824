"""The fast CUDA launch path (nbgrad/backends/cuda/launch.py) without a GPU: its argument
flattening must give, value for value, the list numba-cuda's own _Kernel._prepare_args builds.
Runs in a subprocess without the simulator, with device arrays over fake device memory.
On a GPU the launcher also checks itself at the first launch (benches/gpu_check.py runs the
CUDA tests there with it on)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("numba.cuda")

SCRIPT = textwrap.dedent('''
    import ctypes
    import numpy as np
    from numba.cuda.dispatcher import _Kernel
    from numba.cuda.typing.typeof import Purpose, typeof
    from nbgrad.backends.cuda.launch import arg_key, flattener

    from fake_cuda_memory import fake_array as dev, fake_slice as view

    class Prep:  # numba's argument marshalling, on an object with no extensions
        extensions = []
        _prepare_args = _Kernel._prepare_args

    buf = dev(1024, np.float32)
    cases = [  # what nbgrad's kernels take: pool buffers and slices of them, offsets, sizes,
               # host scalars as numpy or Python numbers, flags, shape and stride tuples
        (buf, 0, 4096, view(buf, 16, 80), 3, np.float32(1.5)),
        (dev(512, np.int64), np.int64(3), np.float64(2.0), 2.5, True, np.bool_(False), (3, 4), (0,), (1, 2, 3)),
        (view(dev(600, np.float64, 0x7F0000900000), 8, 9), dev(512, np.bool_), np.int32(7), np.float32(-0.0), -12),
        # the foreach optimizer kernels: tuples of buffers, of offsets and sizes, of first-step flags
        ((buf, dev(700, np.float32, 0x7F0000A00000)), (0, 5), (12, 700), (True, False), np.float32(0.1), False),
    ]
    for args in cases:
        types = tuple(typeof(a, Purpose.argument) for a in args)
        want = []
        for t, a in zip(types, args):
            Prep()._prepare_args(t, a, 0, [], want)
        got = flattener(types)(*args)
        norm = lambda v: (type(v).__name__, v.value if isinstance(v, ctypes._SimpleCData) else v)
        assert [norm(v) for v in got] == [norm(v) for v in want], (types, got, want)
        # equal keys must mean equal types (the plan cache is keyed by arg_key)
        for a, t in zip(args, types):
            for b, u in zip(args, types):
                if arg_key(a) == arg_key(b):
                    assert t == u, (a, b, t, u)
    print("ok", len(cases))
''')


def test_flattening_matches_numbas_prepare_args():
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_ENABLE_CUDASIM", "NBGRAD_CUDA_LAUNCH")}
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(here), here, env.get("PYTHONPATH", "")])
    r = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok 4", r.stdout + r.stderr


def test_the_simulator_launches_through_numba():
    from nbgrad.backends.cuda import launch as cuda_launch

    launcher = cuda_launch.Launcher(simulator=True)
    assert not launcher.enabled
    with pytest.raises(TypeError, match="no fast-launch key"):
        cuda_launch.arg_key(object())


class _FakeArray:
    """A device array as the launcher sees one: a numba type, a pointer, size, shape, strides."""

    def __init__(self, n: int, ptr: int) -> None:
        import ctypes

        import numpy as np
        from numba.cuda import types

        self._numba_type_ = types.Array(types.float32, 1, "C")
        self.size, self.dtype, self.shape, self.strides = n, np.dtype(np.float32), (n,), (4,)
        self.device_ctypes_pointer = ctypes.c_void_p(ptr)


class _FakeDispatcher:
    """numba's side: kernel[grid, block](*args) compiles and launches (recorded); overloads."""

    def __init__(self, log: list) -> None:
        from types import SimpleNamespace

        self.log = log
        self.overloads: dict = {}
        self.compiled = SimpleNamespace(debug=False, cooperative=False, extensions=[],
                                        _codelibrary=SimpleNamespace(get_cufunc=lambda: SimpleNamespace(kernel="K")))

    def typeof_pyval(self, v):
        from numba.cuda.typing.typeof import Purpose, typeof

        return v._numba_type_ if isinstance(v, _FakeArray) else typeof(v, Purpose.argument)

    def __getitem__(self, cfg):
        def call(*args):
            self.overloads[tuple(self.typeof_pyval(a) for a in args)] = self.compiled
            self.log.append(("numba", cfg, args))
        return _Configured(cfg, call)


class _Configured:
    def __init__(self, cfg, call) -> None:
        self.griddim, self.blockdim, self.sharedmem, self.stream, self._call = cfg[0], cfg[1], 0, "S", call

    def __call__(self, *args):
        self._call(*args)


def _fake_core(log: list):
    from types import SimpleNamespace

    return SimpleNamespace(CUDA_CORE_GE_1_0=True, LaunchConfig=lambda **k: ("cfg", tuple(sorted(k.items()))),
                           launch=lambda stream, cfg, kernel, *flat: log.append(("fast", stream, cfg, kernel, flat)))


def test_launcher_plans_after_the_first_launch_and_flattens_later_ones():
    import ctypes

    import numpy as np

    from nbgrad.backends.cuda.launch import Launcher

    log: list = []
    L = Launcher(simulator=True)
    L.enabled, L.tested, L._core = True, True, _fake_core(log)  # as after a passing self-test on a GPU
    k = _FakeDispatcher(log)
    a, b = _FakeArray(8, 0x1000), _FakeArray(8, 0x2000)
    L(k, (2, 1, 1), (32, 1, 1), (a, 3, np.float32(1.5), (4, 5), True))
    assert [e[0] for e in log] == ["numba"] and L.fast == 0
    L(k, (2, 1, 1), (32, 1, 1), (b, 7, np.float32(2.5), (6, 7), False))
    assert [e[0] for e in log] == ["numba", "fast"] and L.fast == 1
    _, stream, cfg, kernel, flat = log[-1]
    assert stream == "S" and kernel == "K" and dict(cfg[1])["grid"] == (2, 1, 1)
    plain = [v.value if isinstance(v, ctypes._SimpleCData) else v for v in flat]
    assert plain == [0, 0, 8, 4, 0x2000, 8, 4, 7, 2.5, 6, 7, False]
    L(k, (2, 1, 1), (32, 1, 1), (b, 7.0, np.float32(2.5), (6, 7), False))  # new argument types: numba again
    assert log[-1][0] == "numba"
    L.enabled = False  # switched off: always numba
    L(k, (2, 1, 1), (32, 1, 1), (b, 7, np.float32(2.5), (6, 7), False))
    assert log[-1][0] == "numba" and L.fast == 1


def test_launcher_turns_itself_off_when_its_self_test_fails(monkeypatch):
    from nbgrad.backends.cuda import launch as cuda_launch

    L = cuda_launch.Launcher(simulator=True)
    L.enabled = True
    monkeypatch.setattr(cuda_launch, "_probe_kernel", lambda: (_ for _ in ()).throw(RuntimeError("no GPU here")))
    log: list = []
    with pytest.warns(RuntimeWarning, match="fast CUDA kernel launches are off"):  # (without a GPU, or
        L(_FakeDispatcher(log), (1, 1, 1), (32, 1, 1), (_FakeArray(4, 0x10),))  # under the simulator)
    assert not L.enabled and L.disabled_why and [e[0] for e in log] == ["numba"]
