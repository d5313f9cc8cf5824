"""nbgrad.utils.data (datasets, samplers, DataLoader, collate) and ng.Generator, against
torch.utils.data. Shuffled orders come from a different random stream than PyTorch's, so they are
checked for being permutations and for being the same for the same seed, not for torch's order."""

import collections
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbgrad as ng
from nbgrad.utils import data as D

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
TD = torch.utils.data

R = np.random.default_rng(0)
X0 = R.standard_normal((10, 3)).astype(np.float32)
Y0 = R.integers(0, 4, 10)


def _to_np(x):
    """A batch of either library as nested Python lists/tuples of NumPy arrays (types kept)."""
    if isinstance(x, (ng.Tensor, torch.Tensor)):
        a = x.detach().numpy() if isinstance(x, torch.Tensor) else x.numpy()
        return ("tensor", str(a.dtype), a.tolist())
    if isinstance(x, dict):
        return {k: _to_np(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_to_np(v) for v in x) if not hasattr(x, "_fields") else (type(x).__name__, [_to_np(v) for v in x])
    return x


def _loaders(**kw):
    dn = D.DataLoader(D.TensorDataset(ng.tensor(X0), ng.tensor(Y0)), **kw)
    dt = TD.DataLoader(TD.TensorDataset(torch.tensor(X0), torch.tensor(Y0)), **kw)
    return dn, dt


@pytest.mark.parametrize("kw", [{}, {"batch_size": 4}, {"batch_size": 4, "drop_last": True}, {"batch_size": None},
                                {"batch_size": 3, "collate_fn": lambda b: len(b)}])
def test_sequential_loader_matches_torch(kw):
    dn, dt = _loaders(**kw)
    bn, bt = list(dn), list(dt)
    assert len(dn) == len(dt) == len(bn) == len(bt)
    assert [_to_np(b) for b in bn] == [_to_np(b) for b in bt]
    assert len(iter(dn)) == len(dn)


Point = collections.namedtuple("Point", "x y")


@pytest.mark.parametrize("sample", [
    (1, 2.5, True), {"a": np.ones((2, 2)), "b": [np.int32(3), "s"]}, Point(np.float64(1.0), 2), [1.0, 2.0],
    np.arange(3), b"raw",
])
def test_default_collate_and_convert_match_torch(sample):
    batch = [sample, sample, sample]
    assert _to_np(D.default_collate(batch)) == _to_np(TD.default_collate(batch))
    assert _to_np(D.default_convert(sample)) == _to_np(TD.default_convert(sample))


def test_default_collate_tensors_and_errors():
    ts = [ng.tensor(X0[i]) for i in range(4)]
    np.testing.assert_array_equal(D.default_collate(ts).numpy(), X0[:4])
    for bad, exc in [([[1, 2], [3]], RuntimeError), ([object()], TypeError), ([np.array(["a"])], TypeError)]:
        with pytest.raises(exc) as en:
            D.default_collate(bad)
        with pytest.raises(exc) as et:
            TD.default_collate(bad)
        assert str(en.value) == str(et.value).replace("torch.", "nbgrad.")


def test_shuffle_is_a_seeded_permutation():
    ds = D.TensorDataset(ng.arange(50))

    def order(**kw):
        return np.concatenate([b[0].numpy() for b in D.DataLoader(ds, batch_size=8, shuffle=True, **kw)])

    a = order(generator=ng.Generator().manual_seed(3))
    b = order(generator=ng.Generator().manual_seed(3))
    c = order(generator=ng.Generator().manual_seed(4))
    assert sorted(a.tolist()) == list(range(50)) and not np.array_equal(a, np.arange(50))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # one generator: each epoch a new order; without one: ng.manual_seed decides
    g = ng.Generator().manual_seed(3)
    dl = D.DataLoader(ds, batch_size=50, shuffle=True, generator=g)
    e1, e2 = next(iter(dl))[0].numpy(), next(iter(dl))[0].numpy()
    assert not np.array_equal(e1, e2)
    ng.manual_seed(7)
    d1 = order()
    ng.manual_seed(7)
    np.testing.assert_array_equal(order(), d1)


def test_generator_api():
    g = ng.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed() == 67280421310721
    assert g.manual_seed(-1) is g and g.initial_seed() == torch.Generator().manual_seed(-1).initial_seed()
    assert str(g.device) == "cpu"
    s = g.seed()
    assert g.initial_seed() == s
    g.manual_seed(5)
    st = g.get_state()
    a = ng.rand(4, generator=g).numpy()
    g.set_state(st)
    np.testing.assert_array_equal(ng.rand(4, generator=g).numpy(), a)
    with pytest.raises(ValueError, match="Overflow"):
        g.manual_seed(2 ** 64)
    with pytest.raises(RuntimeError, match="manual_seed expected a long, but got float"):
        g.manual_seed(1.5)
    with pytest.raises(TypeError, match="generator must be a nbgrad.Generator"):
        ng.randperm(3, generator=np.random.default_rng(0))


def test_creation_functions_take_a_generator():
    def draws(seed):
        g = ng.Generator().manual_seed(seed)
        return [ng.rand(3, generator=g).numpy(), ng.randn(2, 2, generator=g, dtype=ng.float64).numpy(),
                ng.randint(0, 10, (5,), generator=g).numpy(), ng.randperm(6, generator=g).numpy()]

    a, b, c = draws(1), draws(1), draws(2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, z) for x, z in zip(a, c))
    assert a[3].dtype == np.int64 and sorted(a[3].tolist()) == list(range(6))
    assert ng.randperm(4, dtype=ng.float32).dtype == ng.float32
    assert ng.randperm(0).shape == (0,)
    with pytest.raises(RuntimeError, match="negative dimension -1"):
        ng.randperm(-1)
    if ng.cuda.is_available():
        with pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator but found 'cpu'"):
            ng.rand(2, device="cuda", generator=ng.Generator())


def test_samplers_match_torch():
    seq = list(range(7))
    for dl in (False, True):
        assert list(D.BatchSampler(seq, 3, dl)) == list(TD.BatchSampler(seq, 3, dl))
        assert len(D.BatchSampler(seq, 3, dl)) == len(TD.BatchSampler(seq, 3, dl))
    assert list(D.SequentialSampler(seq)) == list(TD.SequentialSampler(seq))
    g = ng.Generator().manual_seed(0)
    for kw in ({}, {"num_samples": 17}, {"num_samples": 4}, {"replacement": True, "num_samples": 40}):
        s = D.RandomSampler(seq, generator=g, **kw)
        drawn = list(s)
        assert len(s) == len(TD.RandomSampler(seq, **kw)) == len(drawn)
        assert set(drawn) <= set(seq)
        if not kw.get("replacement"):
            counts = collections.Counter(drawn)
            assert max(counts.values()) - min(counts.values()) <= 1
    sub = D.SubsetRandomSampler([10, 20, 30], generator=g)
    assert sorted(sub) == [10, 20, 30] and len(sub) == 3
    w = list(D.WeightedRandomSampler([0.0, 1.0, 3.0], 400, generator=g))
    assert set(w) == {1, 2} and 0.6 < w.count(2) / 400 < 0.9
    assert sorted(D.WeightedRandomSampler([1, 1, 1], 3, replacement=False, generator=g)) == [0, 1, 2]
    errors = [(lambda m: m.BatchSampler(seq, 0, False), ValueError), (lambda m: m.BatchSampler(seq, 2, 1), ValueError),
              (lambda m: m.RandomSampler(seq, replacement=1), TypeError),
              (lambda m: m.RandomSampler(seq, num_samples=0), ValueError)]
    for make, exc in errors:
        with pytest.raises(exc) as en:
            make(D)
        with pytest.raises(exc) as et:
            make(TD)
        assert str(en.value) == str(et.value)


def test_loader_argument_errors_match_torch():
    ds_n, ds_t = D.TensorDataset(ng.tensor(X0)), TD.TensorDataset(torch.tensor(X0))

    class ItN(D.IterableDataset):
        def __iter__(self):
            return iter(range(5))

    class ItT(TD.IterableDataset):
        def __iter__(self):
            return iter(range(5))

    cases = [({"sampler": [0, 1], "shuffle": True}, ValueError), ({"batch_sampler": [[0]], "batch_size": 2}, ValueError),
             ({"batch_size": None, "drop_last": True}, ValueError), ({"num_workers": -1}, ValueError),
             ({"timeout": -1}, ValueError), ({"prefetch_factor": 2}, ValueError)]
    for kw, exc in cases:
        with pytest.raises(exc) as en:
            D.DataLoader(ds_n, **kw)
        with pytest.raises(exc) as et:
            TD.DataLoader(ds_t, **kw)
        assert str(en.value) == str(et.value)
    with pytest.raises(ValueError, match="expected unspecified shuffle option, but got shuffle=True"):
        D.DataLoader(ItN(), shuffle=True)
    # iterable datasets: batches of the stream, as torch's
    for kw in ({"batch_size": 2}, {"batch_size": 2, "drop_last": True}, {"batch_size": None}):
        assert _to_np(list(D.DataLoader(ItN(), **kw))) == _to_np(list(TD.DataLoader(ItT(), **kw)))
    with pytest.raises(TypeError):
        len(D.DataLoader(ItN(), batch_size=2))
    # sampler= and batch_sampler= given explicitly
    bn = list(D.DataLoader(ds_n, sampler=[3, 1], batch_size=2))
    np.testing.assert_array_equal(bn[0][0].numpy(), X0[[3, 1]])
    bs = list(D.DataLoader(ds_n, batch_sampler=[[0, 2], [5]]))
    assert [b[0].shape[0] for b in bs] == [2, 1]


def test_datasets_match_torch():
    a, b = D.TensorDataset(ng.tensor(X0[:4])), D.TensorDataset(ng.tensor(X0[4:]))
    ta, tb = TD.TensorDataset(torch.tensor(X0[:4])), TD.TensorDataset(torch.tensor(X0[4:]))
    cn, ct = a + b, ta + tb
    assert isinstance(cn, D.ConcatDataset) and len(cn) == len(ct) == 10 and cn.cumulative_sizes == ct.cumulative_sizes
    for i in (0, 3, 4, 9, -1, -10):
        np.testing.assert_array_equal(cn[i][0].numpy(), ct[i][0].numpy())
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        cn[-11]
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        D.TensorDataset(ng.ones(2), ng.ones(3))
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        D.ConcatDataset([])
    s = D.Subset(cn, [9, 0, 5])
    assert len(s) == 3 and s[0][0].numpy().tolist() == X0[9].tolist() and len(s.__getitems__([0, 1])) == 2
    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement __getitem__"):
        D.Dataset()[0]
    ch = D.ChainDataset([D.IterableDataset.__new__(type("I", (D.IterableDataset,), {"__iter__": lambda s: iter([1, 2])}))] * 2)
    assert list(ch) == [1, 2, 1, 2]


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.5, 0.25, 0.25], [1 / 3, 1 / 3, 1 / 3], [0.1, 0.9]])
def test_random_split_sizes_match_torch(lengths):
    ds = list(range(10))
    sn = D.random_split(ds, lengths, generator=ng.Generator().manual_seed(0))
    st = TD.random_split(ds, lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in sn] == [len(s) for s in st]
    got = sorted(x for s in sn for x in s)
    assert got == ds and all(isinstance(s, D.Subset) for s in sn)
    again = D.random_split(ds, lengths, generator=ng.Generator().manual_seed(0))
    assert [list(s) for s in again] == [list(s) for s in sn]


def test_random_split_errors_match_torch():
    for lengths, exc in [([3, 3], ValueError), ([1.5, -0.5], ValueError)]:
        with pytest.raises(exc) as en:
            D.random_split(list(range(10)), lengths)
        with pytest.raises(exc) as et:
            TD.random_split(list(range(10)), lengths)
        assert str(en.value) == str(et.value)
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        D.random_split(list(range(2)), [0.9, 0.1])


def test_distributed_sampler_still_works():
    s = D.DistributedSampler(list(range(10)), num_replicas=3, rank=1, shuffle=False)
    assert list(s) == list(TD.DistributedSampler(list(range(10)), num_replicas=3, rank=1, shuffle=False))
    assert isinstance(s, D.Sampler) and len(s) == math.ceil(10 / 3)


def test_loader_on_cuda_tensors():
    if not ng.cuda.is_available():
        pytest.skip("no CUDA (nor the simulator)")
    ds = D.TensorDataset(ng.tensor(X0[:4], device="cuda"))
    (xb,) = next(iter(D.DataLoader(ds, batch_size=4)))
    assert xb.device.type == "cuda"
    np.testing.assert_array_equal(xb.cpu().numpy(), X0[:4])



@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), bs=st.integers(1, 12), drop_last=st.booleans(), seed=st.integers(0, 2 ** 32))
def test_loader_batches_partition_the_data(n, bs, drop_last, seed):
    dsn = D.TensorDataset(ng.arange(n))
    dl = D.DataLoader(dsn, batch_size=bs, shuffle=True, drop_last=drop_last, generator=ng.Generator().manual_seed(seed))
    dt = TD.DataLoader(TD.TensorDataset(torch.arange(n)), batch_size=bs, shuffle=True, drop_last=drop_last)
    got = [b[0].numpy().tolist() for b in dl]
    assert len(dl) == len(dt) == len(got) and [len(b) for b in got] == [len(b[0]) for b in dt]
    flat = [i for b in got for i in b]
    assert len(set(flat)) == len(flat) and set(flat) <= set(range(n))
    assert len(flat) == (n // bs * bs if drop_last else n)


def test_worker_info_in_the_loading_process():
    class Seen(D.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return D.get_worker_info() is None

    assert [bool(b) for b in D.DataLoader(Seen(), batch_size=None)] == [True, True]
    assert TD.get_worker_info() is None
