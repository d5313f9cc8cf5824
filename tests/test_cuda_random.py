"""Random numbers drawn on the GPU: Philox4x32-10 against a plain-Python reference (itself checked
against the published known-answer vectors), the values' distributions, seeding, and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nbgrad as ng

if not ng.cuda.is_available():
    pytest.skip("no CUDA device and no simulator (install numba-cuda)", allow_module_level=True)

M32 = 0xFFFFFFFF


def philox(c: tuple, k: tuple) -> list:
    """Philox4x32-10, written from the paper (Salmon et al., SC 2011)."""
    c, k = list(c), list(k)
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [((p1 >> 32) ^ c[1] ^ k[0]) & M32, p1 & M32, ((p0 >> 32) ^ c[3] ^ k[1]) & M32, p0 & M32]
        k = [(k[0] + 0x9E3779B9) & M32, (k[1] + 0xBB67AE85) & M32]
    return c


def test_reference_matches_the_known_answers():
    """Random123's known-answer vectors for Philox4x32-10."""
    assert philox((0, 0, 0, 0), (0, 0)) == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]
    assert philox((M32,) * 4, (M32, M32)) == [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]
    assert philox((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0)) == \
        [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]


def _groups(seed: int, offset: int, count: int) -> list:
    return [philox((g & M32, g >> 32, offset & M32, offset >> 32), (seed & M32, seed >> 32)) for g in range(count)]


def _u53(hi: int, lo: int) -> float:
    return ((hi >> 5) * 67108864.0 + (lo >> 6)) / 2.0**53


def test_draws_are_philox_of_group_and_offset_under_the_seed():
    """Draw d after manual_seed(s) is group g = Philox(counter (g, d), key s): float32 uniforms take
    the top 24 bits of each word, float64 ones 53 bits of two, normals Box-Muller, integers the
    64-bit value modulo the range."""
    seed = (7 << 32) | 12345  # both key words in use
    ng.manual_seed(seed)
    u32 = ng.rand(9, device="cuda").cpu().numpy()
    u64 = ng.rand(3, dtype=ng.float64, device="cuda").cpu().numpy()
    n64 = ng.randn(3, dtype=ng.float64, device="cuda").cpu().numpy()
    ints = ng.randint(-4, 1000, (5,), device="cuda").cpu().numpy()

    want = [(x >> 8) * 2.0**-24 for g in _groups(seed, 0, 3) for x in g][:9]
    np.testing.assert_array_equal(u32, np.float32(want))
    want = [_u53(*w) for g in _groups(seed, 1, 2) for w in (g[:2], g[2:])][:3]
    np.testing.assert_array_equal(u64, want)
    want = []
    for g in _groups(seed, 2, 2):
        a, b = _u53(g[0], g[1]), _u53(g[2], g[3])
        r = math.sqrt(-2.0 * math.log(1.0 - a))
        want += [r * math.cos(2 * math.pi * b), r * math.sin(2 * math.pi * b)]
    np.testing.assert_allclose(n64, want[:3], rtol=1e-13)
    want = [-4 + ((w[0] | (w[1] << 32)) % 1004) for g in _groups(seed, 3, 3) for w in (g[:2], g[2:])][:5]
    np.testing.assert_array_equal(ints, want)


@pytest.mark.parametrize("dt", [ng.float32, ng.float64])
def test_distributions(dt):
    ng.manual_seed(0)
    u = ng.rand(4001, dtype=dt, device="cuda").cpu().numpy()
    z = ng.randn(4001, dtype=dt, device="cuda").cpu().numpy()
    k = ng.randint(2, 9, (4001,), device="cuda").cpu().numpy()
    assert u.dtype == dt.np and z.dtype == dt.np and k.dtype == np.int64
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.02 and abs(u.var() - 1 / 12) < 0.01
    assert abs(z.mean()) < 0.06 and abs(z.std() - 1.0) < 0.05 and np.isfinite(z).all()
    assert set(np.unique(k)) == set(range(2, 9))
    assert len(np.unique(u)) > 3990  # no repeated groups within a draw


def test_seeding_repeats_and_draws_differ():
    ng.manual_seed(3)
    a = ng.randn(2, 5, device="cuda").cpu().numpy()
    b = ng.randn(2, 5, device="cuda").cpu().numpy()
    ng.cuda.manual_seed(3)  # the CUDA generator alone, as torch.cuda.manual_seed
    np.testing.assert_array_equal(ng.randn(2, 5, device="cuda").cpu().numpy(), a)
    assert not np.array_equal(a, b)
    c = ng.randn_like(ng.zeros(2, 5, device="cuda"))
    assert c.is_cuda and c.shape == (2, 5)
    assert ng.rand(0, 3, device="cuda").shape == (0, 3)


def test_random_parameters_initialise_on_the_gpu():
    """nn.init draws where the parameter lives."""
    ng.manual_seed(1)
    w = ng.empty(64, 16, device="cuda")
    ng.nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    bound = 1.0 / math.sqrt(16)
    v = w.cpu().numpy()
    assert -bound <= v.min() and v.max() <= bound and v.std() > bound / 3


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_bad_random_arguments_raise(device):
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to', but got from=5 >= to=5"):
        ng.randint(5, 5, (3,), device=device)
    with pytest.raises(RuntimeError, match="rand draws floating point numbers: dtype must be float32 or float64, "
                                           "got int64"):
        ng.rand(3, dtype=ng.int64, device=device)
    with pytest.raises(RuntimeError, match="randn draws floating point numbers"):
        ng.randn(3, dtype=ng.bool, device=device)
