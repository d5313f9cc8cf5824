"""nbgrad-tui: drive the debugger headless with Pilot and check it matches backward()."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("textual")

import nbgrad as ng  # noqa: E402
from nbgrad_tui import cli, demos  # noqa: E402
from nbgrad_tui.app import DebuggerApp  # noqa: E402

SIZE = (150, 45)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # benches/ is a package at the repository root
    sys.path.insert(0, ROOT)


def _reference(name: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """Node order of an undisturbed BackwardPass and the grads plain backward() gives."""
    root, grad, names = demos.build(name)
    bp = ng.autograd.backward_pass(root, grad, True)
    order = [s.node.name for s in bp]
    root, grad, names = demos.build(name)
    root.backward(grad)
    return order, {k: v.grad.numpy().copy() for k, v in names.items()}


def _drive(name: str, script):
    return _drive_graph(*demos.build(name), script)


def _drive_graph(root, grad, names, script):
    app = DebuggerApp(root, grad, True, names=names)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await script(app, pilot)

    asyncio.run(go())
    return app, names


def test_step_seed_matches_backward():
    order, grads = _reference("seed")

    async def script(app, pilot):
        for _ in range(app.bp.total + 2):
            await pilot.press("n")
        await pilot.pause()
        assert app.progress_text == f"{app.bp.total}/{app.bp.total} nodes"

    app, names = _drive("seed", script)
    assert [n.name for n in app.order] == order
    assert [s.node for s in app.bp.steps_done] == app.order
    assert app.state == "finished"
    for k, t in names.items():
        np.testing.assert_allclose(t.grad.numpy(), grads[k], rtol=1e-6)


def test_space_steps_and_inspector_shows_grads():
    async def script(app, pilot):
        await pilot.press("space")
        await pilot.pause()
        assert len(app.order) == 1
        from rich.console import Console

        c = Console(width=200, record=True, file=open("/dev/null", "w"))
        c.print(app.inspector)
        text = c.export_text()
        assert "grad in [0]" in text and "grad out[0]" in text and "saved" in text
        assert "nan=0" in text and "std=" in text

    _drive("seed", script)


def test_continue_runs_to_end():
    order, grads = _reference("mlp")

    async def script(app, pilot):
        await pilot.press("c")
        await pilot.pause()

    app, names = _drive("mlp", script)
    assert app.state == "finished" and app.bp.finished
    assert [n.name for n in app.order] == order
    for k, t in names.items():
        np.testing.assert_allclose(t.grad.numpy(), grads[k], rtol=1e-5, atol=1e-7)


def test_breakpoint_stops_before_node():
    async def script(app, pilot):
        target = next(n for n in app.bp.nodes if n.name == "MmBackward0")
        app.select(target)
        await pilot.press("b")
        assert id(target) in app.breakpoints
        await pilot.press("c")
        await pilot.pause()
        assert app.state == "breakpoint"
        assert app.next_node() is target and id(target) not in app.steps
        assert app.selected_node() is target
        await pilot.press("c")  # runs the breakpoint node and goes on to the end
        await pilot.pause()
        assert app.state == "finished"

    app, _ = _drive("seed", script)
    assert any("breakpoint: stopped before" in e and "MmBackward0" in e for e in app.events)


def test_nan_demo_stops_on_anomaly():
    async def script(app, pilot):
        await pilot.press("c")
        await pilot.pause()
        assert app.state == "anomaly"
        assert not app.bp.finished
        assert app.anomalies
        assert app.saved_bad  # the forward NaN is flagged on the node that saved it

    app, _ = _drive("nan", script)
    assert any(e.startswith("ANOMALY") for e in app.events)


def test_restart_reruns_from_zero():
    order, grads = _reference("vjp")

    async def script(app, pilot):
        await pilot.press("c")
        await pilot.press("r")
        await pilot.pause()
        assert len(app.steps) == 0 and not app.bp.finished
        assert all(t._grad is None for t in app.leaves)
        await pilot.press("n", "n", "c")
        await pilot.pause()
        assert app.state == "finished"

    app, names = _drive("vjp", script)
    assert [n.name for n in app.order] == order
    np.testing.assert_allclose(names["inp"].grad.numpy(), grads["inp"])


def test_help_and_quit_finish_remaining_steps():
    from nbgrad_tui import debug_backward  # noqa: F401  (exported)

    order, grads = _reference("seed")
    root, grad, names = demos.build("seed")
    app = DebuggerApp(root, grad, True, names=names)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("n", "question_mark")
            await pilot.pause()
            assert app.screen.__class__.__name__ == "HelpScreen"
            await pilot.press("escape", "q")

    asyncio.run(go())
    app.finish()  # what debug_backward does after the app quits
    for k, t in names.items():
        np.testing.assert_allclose(t.grad.numpy(), grads[k], rtol=1e-6)


def test_demo_list(capsys):
    assert cli.main(["demo", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("seed", "vjp", "mlp", "nan", "neuron"):
        assert name in out


def test_demo_auto(capsys):
    assert cli.main(["demo", "vjp", "--auto"]) == 0
    assert cli.main(["demo", "neuron", "--auto"]) == 0


def test_run_script_with_backward(tmp_path, capsys):
    p = tmp_path / "train.py"
    p.write_text(textwrap.dedent("""
        import nbgrad as ng
        w = ng.tensor([1.0, 2.0], requires_grad=True)
        for _ in range(2):
            (w * w).sum().backward()
        print("GRAD", w.grad.numpy().tolist())
    """))
    assert cli.main(["run", "--auto", str(p)]) == 0
    out = capsys.readouterr().out
    assert "GRAD [4.0, 8.0]" in out
    assert "debugged 2 backward call(s)" in out


def test_run_script_error_is_reported(tmp_path, capsys):
    p = tmp_path / "bad.py"
    p.write_text("import nbgrad as ng\nx = 1\nraise ValueError('boom in script')\n")
    assert cli.run_script(str(p), auto_continue=True, headless=True) == 1
    out = capsys.readouterr().out
    assert "ValueError: boom in script" in out and "Traceback" in out and "bad.py" in out


def test_run_script_without_backward(tmp_path, capsys):
    p = tmp_path / "nob.py"
    p.write_text("import nbgrad as ng\nprint(ng.ones(2) + 1)\n")
    assert cli.run_script(str(p), auto_continue=True, headless=True) == 0
    assert "without calling .backward()" in capsys.readouterr().out


def test_run_script_backward_error_propagates(tmp_path, capsys):
    p = tmp_path / "inplace.py"
    p.write_text(textwrap.dedent("""
        import nbgrad as ng
        a = ng.tensor([1.0, 2.0], requires_grad=True)
        b = a * 1.0
        c = (b * b).sum()
        b.add_(1.0)
        c.backward()
    """))
    assert cli.main(["run", "--auto", str(p)]) == 1
    out = capsys.readouterr().out
    assert "inplace" in out and "RuntimeError" in out


# --- scalar graphs -------------------------------------------------------------------------------

def test_neuron_steps_write_leaf_grads_like_backward():
    expected = {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5}  # Karpathy's lecture values

    async def script(app, pilot):
        assert app.scalar and app.bp.total == 10
        leaves = {k: v for k, v in app_names.items() if k in expected}
        seen_change = set()
        for _ in range(app.bp.total):
            before = {k: v.grad for k, v in leaves.items()}
            await pilot.press("n")
            st = app.last_step
            after = {k: v.grad for k, v in leaves.items()}
            changed = {k for k in leaves if after[k] != before[k]}
            # a leaf's .grad changes only at its own AccumulateGrad step, one node per step
            if st.node.name == "AccumulateGrad":
                assert changed <= {app.leaf_name(st.node.variable)}
                seen_change |= changed
                assert st.accumulations[0].after == st.node.variable.grad
            else:
                assert not changed
        assert app.bp.finished and app.state == "finished"
        assert seen_change == {k for k, v in expected.items() if v != 0.0}

    root, grad, app_names = demos.build("neuron")
    app = DebuggerApp(root, grad, True, names=app_names)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await script(app, pilot)

    asyncio.run(go())
    got = {k: app_names[k].grad for k in expected}
    ref_root, _, ref = demos.build("neuron")
    ref_root.backward()
    assert got == {k: ref[k].grad for k in expected}  # bit for bit
    np.testing.assert_allclose([got[k] for k in expected], list(expected.values()), atol=1e-12)


def test_scalar_pass_equals_kernel_on_mlp():
    import random

    from nbgrad.scalar import Value
    from nbgrad.scalar import nn as snn
    from nbgrad.scalar.steps import ScalarBackwardPass

    def build():
        random.seed(3)
        m = snn.MLP(3, [4, 4, 1])
        xs = [Value(random.uniform(-1, 1)) for _ in range(3)]
        out = m(xs)
        loss = (out - 1.0) ** 2 + (xs[0] * xs[0]).log() + xs[1].exp() + xs[2].sigmoid() + xs[0].tanh() / 3.0
        for p in m.parameters():
            p.grad = 0.25  # accumulates onto existing grads
        return m.parameters() + xs, loss

    vals, loss = build()
    bp = ScalarBackwardPass(loss)
    order = [s.node.index for s in bp]
    assert order == sorted(order, reverse=True) and len(order) == bp.total
    got = [v.grad for v in vals]
    vals, loss = build()
    loss.backward()
    assert got == [v.grad for v in vals]


def test_neuron_restart_restores_scalar_grads():
    async def script(app, pilot):
        names = {app.leaf_name(t): t for t in app.leaves}
        await pilot.press("c")
        await pilot.pause()
        first = {k: v.grad for k, v in names.items()}
        await pilot.press("r")
        await pilot.pause()
        assert len(app.steps) == 0 and all(v.grad == 0.0 for v in names.values())
        await pilot.press("c")
        await pilot.pause()
        assert {k: v.grad for k, v in names.items()} == first
        assert app.history[id(names["w1"])][-3:] == pytest.approx([1.0, 0.0, 1.0])  # across the two runs

    _drive("neuron", script)


def test_run_scalar_script(tmp_path, capsys):
    p = tmp_path / "micro.py"
    p.write_text(textwrap.dedent("""
        from nbgrad.scalar import Value
        a = Value(3.0)
        b = a * a + a
        b.backward()
        print("GRAD", a.grad)
    """))
    assert cli.main(["run", "--auto", str(p)]) == 0
    out = capsys.readouterr().out
    assert "GRAD 7.0" in out and "debugged 1 backward call(s)" in out


# --- watches, run to, palette ------------------------------------------------------------------

def _node(app, name, leaf=None):
    return next(n for n in app.bp.nodes if n.name == name and (leaf is None or app.leaf_name(n.variable) == leaf))


def _leaf(app, name):
    return next(t for t in app.leaves if app.leaf_name(t) == name)


def test_watch_stops_when_leaf_grad_changes():
    async def script(app, pilot):
        b = _leaf(app, "b")
        app.select(_node(app, "AccumulateGrad", "b"))
        await pilot.press("w")
        assert app.watches == {id(b)}
        await pilot.press("c")
        await pilot.pause()
        assert app.state == "watch" and not app.bp.finished
        assert app.last_step.node is _node(app, "AccumulateGrad", "b")
        assert b.grad is not None
        await pilot.press("c")
        await pilot.pause()
        assert app.state == "finished"

    app, _ = _drive("seed", script)
    assert any(e.startswith("watch: b.grad changed") for e in app.events)


def test_watch_needs_a_leaf():
    async def script(app, pilot):
        app.select(_node(app, "MmBackward0"))
        await pilot.press("w")
        assert not app.watches

    app, _ = _drive("seed", script)
    assert "watch: select a leaf" in app.events[-1]


def test_run_to_selected_node():
    async def script(app, pilot):
        target = _node(app, "AccumulateGrad", "w")
        app.select(target)
        await pilot.press("t")
        await pilot.pause()
        assert app.next_node() is target and id(target) not in app.steps
        assert app.selected_node() is target and app.state == "paused"
        await pilot.press("t")  # the selected node is next: runs nothing more
        await pilot.press("n")
        await pilot.pause()
        assert id(target) in app.steps
        await pilot.press("t")  # it already ran
        assert "already ran" in app.events[-1]

    _drive("seed", script)


def test_command_palette_selects_node_by_name():
    async def script(app, pilot):
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press("3", "space", "M", "m")  # "#3 MmBackward0"; space types into the palette, not a step
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected_node().name == "MmBackward0"
        assert not app.order

    _drive("seed", script)


def test_every_binding_has_an_id():
    from nbgrad_tui.app import HelpScreen

    for b in (*DebuggerApp.BINDINGS, *HelpScreen.BINDINGS):
        assert b.id, b
    for b in DebuggerApp.BINDINGS:
        if b.show:
            assert b.key.split(",")[0] in __import__("nbgrad_tui.app").app.HELP or b.key == "question_mark"


# --- groups, leaves, anomaly origin ------------------------------------------------------------

def test_mlp_nodes_grouped_by_module():
    async def script(app, pilot):
        keys = {app.group_of[id(n)][0] for n in app.bp.nodes if id(n) in app.group_of}
        assert {"model.0", "model.1", "model.2", "CrossEntropyLoss"} <= keys
        for n in app.bp.nodes:
            if n.name == "AccumulateGrad":
                assert app.group_of[id(n)][0] == app.leaf_name(n.variable).rsplit(".", 1)[0]
        assert app.group_of[id(_node(app, "ReluBackward0"))] == ("model.1", "model.1 (ReLU)")
        tree = app.query_one("#graph")
        gnodes = [c for c in tree.root.children if c.data[0] == "group"]
        assert [c.data[1] for c in gnodes] == ["CrossEntropyLoss", "model.2", "model.1", "model.0"]
        assert sum(len(m) for _, _, m in app._groups.values()) == app.bp.total
        g = gnodes[1]
        tree.move_cursor(g)
        await pilot.press("enter")  # collapses the group
        await pilot.pause()
        assert g.is_collapsed
        app.select(_node(app, "AccumulateGrad", "model.2.weight"))  # selecting inside expands it
        assert g.is_expanded
        await pilot.press("c")
        await pilot.pause()
        assert "3/3 done" in g.label.plain  # AddmmBackward0 and the two AccumulateGrads

    _drive("mlp", script)


def test_groups_without_tracking_use_parameter_names():
    from nbgrad_tui import groups

    ng.manual_seed(0)
    lin = ng.nn.Linear(3, 2)
    loss = lin(ng.randn(4, 3)).sum()  # built outside track_modules()
    bp = ng.autograd.backward_pass(loss, None, True)
    names = {id(p): f"lin.{k}" for k, p in lin.named_parameters()}
    got = groups.assign(bp.nodes, names)
    by_name = {}
    for n in bp.nodes:
        by_name.setdefault(n.name, set()).add(got.get(id(n), ("-",))[0])
    assert by_name["AccumulateGrad"] == {"lin"}
    assert by_name["SumBackward0"] == {"-"}


def test_leaves_panel_sparkline_and_highlight():
    async def script(app, pilot):
        await pilot.press("c", "r", "c")
        await pilot.pause()
        h = app.history[id(_leaf(app, "inp"))]
        assert len(h) == 4 and h[0] == 0.0 and h[1] == h[3] > 0 and h[2] == 0.0
        from rich.console import Console

        c = Console(width=200, file=open("/dev/null", "w"), record=True)
        c.print(app.leaves_table)
        text = c.export_text()
        assert "history" in text and "▁█▁█" in text

    _drive("vjp", script)


def test_nan_origin_is_the_forward_op_that_made_it():
    async def script(app, pilot):
        assert app.origin is not None and app.origin.name == "LogBackward0"
        assert any("nan/inf first appears in the output of" in e and "LogBackward0" in e for e in app.events)
        await pilot.press("c")
        await pilot.pause()
        assert app.state == "anomaly" and "LogBackward0" in app.events[-1]
        await pilot.press("o")
        await pilot.pause()
        assert app.selected_node() is app.origin

    _drive("nan", script)


def test_no_origin_without_nan():
    async def script(app, pilot):
        assert app.origin is None
        await pilot.press("o")
        assert "no nan/inf" in app.events[-1]

    _drive("seed", script)


# --- snapshots ---------------------------------------------------------------------------------

def _seed_app():
    root, grad, names = demos.build("seed")
    return DebuggerApp(root, grad, True, names=names)


@pytest.fixture
def in_demos_dir(monkeypatch):
    """Source paths on screen are relative to the working directory: make them the same everywhere."""
    monkeypatch.chdir(os.path.dirname(demos.__file__))


def test_snapshot_seed_first_screen(snap_compare, in_demos_dir):
    assert snap_compare(_seed_app(), terminal_size=SIZE)


def test_snapshot_seed_after_three_steps(snap_compare, in_demos_dir):
    assert snap_compare(_seed_app(), press=["n", "n", "n"], terminal_size=SIZE)


def test_diamond_graph_shows_shared_node_once():
    def build():
        a = ng.tensor([1.0, 2.0], requires_grad=True)
        b, c = a * 2.0, a * 3.0
        return (b * c).sum(), a

    async def script(app, pilot):
        acc = _node(app, "AccumulateGrad")
        tns = app._tree_nodes[id(acc)]
        assert [tn.data[1] for tn in tns] == [False, True]  # once in full, then a reference
        await pilot.press("c")
        await pilot.pause()
        assert app.state == "finished"

    root, a = build()
    app, _ = _drive_graph(root, None, {"a": a}, script)
    ref_root, ref_a = build()
    ref_root.backward()
    np.testing.assert_allclose(a.grad.numpy(), ref_a.grad.numpy())
    assert a.grad.numpy().tolist() == [12.0, 24.0]


def test_repeated_blocks_fold_into_one_group():
    from benches.bench_tui import chain_graph

    async def script(app, pilot):
        tree = app.query_one("#graph")
        folds = [c for c in tree.root.children if c.data[0] == "group" and c.data[1].startswith("×")]
        assert len(folds) == 1
        _, title, members = app._groups[id(folds[0])]
        assert title.endswith("× [AddBackward0 → MulBackward0]") and len(members) >= 3 * 2
        await pilot.press("n", "n", "n")
        await pilot.pause()
        done = [n for n in app.order if id(n) in set(members)]
        assert len(done) == 2  # Sum is outside; Add and Mul ran inside
        assert f"2/{len(members)} done" in folds[0].label.plain

    root, names = chain_graph(41)
    _drive_graph(root, None, names, script)


def test_bench_tui_runs_small():
    from benches import bench_tui

    for scalar in (False, True):
        r = asyncio.run(bench_tui.measure(300, 2, scalar=scalar))
        assert r["nodes"] >= 299 and r["open_s"] > 0 and r["step_cpu_ms"] > 0


@pytest.fixture
def apps(monkeypatch):
    """The apps that debug_backward opens during the test."""
    import nbgrad_tui

    opened = []
    real = nbgrad_tui.debug_backward

    def spy(*args, **kwargs):
        opened.append(real(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(nbgrad_tui, "debug_backward", spy)
    return opened


def test_run_script_sparkline_spans_backward_calls(tmp_path, apps, capsys):
    p = tmp_path / "twice.py"
    p.write_text(textwrap.dedent("""
        import nbgrad as ng
        w = ng.tensor([3.0, 4.0], requires_grad=True)
        for _ in range(3):
            (w * 1.0).sum().backward()
    """))
    assert cli.main(["run", "--auto", str(p)]) == 0
    assert len(apps) == 3 and apps[0].history is apps[2].history and apps[0].watches is apps[2].watches
    (w,) = apps[2].leaves
    np.testing.assert_allclose(apps[2].history[id(w)], [0.0, 2 ** 0.5, 2 * 2 ** 0.5, 3 * 2 ** 0.5], rtol=1e-6)


def test_run_script_groups_modules_and_keeps_user_sites(tmp_path, apps, capsys):
    p = tmp_path / "mod.py"
    p.write_text(textwrap.dedent("""
        import nbgrad as ng
        model = ng.nn.Sequential(ng.nn.Linear(3, 2), ng.nn.ReLU())
        loss = model(ng.randn(4, 3)).sum()
        loss.backward()
    """))
    assert cli.main(["run", "--auto", str(p)]) == 0
    (app,) = apps
    assert {g[0] for g in app.group_of.values()} >= {"model.0", "model.1"}
    assert {os.path.basename(n.site[0]) for n in app.bp.nodes if n.site} == {"mod.py"}


def test_scalar_nan_origin():
    from nbgrad.scalar import Value

    a = Value(1e308)
    h = a * 10.0  # overflows: inf is born here
    out = h * 0.5 + a  # the gradient into the constant 0.5 is h = inf

    async def script(app, pilot):
        assert app.origin is not None and app.origin.index == h._i
        await pilot.press("c")
        await pilot.pause()
        assert app.state == "anomaly"

    _drive_graph(out, None, {"a": a}, script)


def test_snapshot_neuron_after_seven_steps(snap_compare, in_demos_dir):
    root, grad, names = demos.build("neuron")
    assert snap_compare(DebuggerApp(root, grad, True, names=names), press=["n"] * 7, terminal_size=SIZE)


def test_wide_node_inspector_is_capped():
    w = ng.tensor([1.0, 2.0], requires_grad=True)
    root = ng.stack([w * float(i) for i in range(40)]).sum()

    async def script(app, pilot):
        await pilot.press("n", "n")  # Sum, then Stack: 40 nodes become ready at once
        await pilot.pause()
        assert len(app._ready_ids) == 40 and app.next_node() is app.bp.ready()[0]
        from rich.console import Console

        c = Console(width=200, file=open("/dev/null", "w"), record=True)
        c.print(app.inspector)
        assert "... 24 more gradients out" in c.export_text()
        await pilot.press("c")
        await pilot.pause()
        assert app.state == "finished"

    _drive_graph(root, None, {"w": w}, script)
    assert w.grad.numpy().tolist() == [780.0, 780.0]


def test_debug_backward_names_leaves_from_the_callers_variables():
    from nbgrad_tui import debug_backward

    ng.manual_seed(0)
    model = ng.nn.Linear(3, 2)
    bias = ng.tensor([0.5, 0.5], requires_grad=True)
    loss = (model(ng.randn(4, 3)) + bias).sum()
    app = debug_backward(loss, auto_continue=True, headless=True)
    assert {app.leaf_name(t) for t in app.leaves} == {"model.weight", "model.bias", "bias"}
    assert {g[0] for g in app.group_of.values()} == {"model"}  # by parameter name (no tracking here)
    assert bias.grad.numpy().tolist() == [4.0, 4.0]


def test_inspector_heatmap_for_larger_arrays():
    import numpy as np_

    from nbgrad_tui.stats import heatmap

    assert heatmap(np_.arange(10.0)) is None  # small: a value table instead
    big = heatmap(np_.random.default_rng(0).normal(size=(2, 30, 100)))
    assert big is not None and "slice [0, ..., :, :]: 8x48 sampled cells" in big.plain

    async def script(app, pilot):
        app.select(_node(app, "ReluBackward0"))  # saves its (6, 8) output: 48 values
        await pilot.pause()
        from rich.console import Console

        c = Console(width=200, file=open("/dev/null", "w"), record=True)
        c.print(app.inspector)
        assert "6x8 sampled cells" in c.export_text()

    _drive("mlp", script)


def test_nan_origin_uncertain_when_inputs_unknown():
    a = ng.tensor([2.0, -1.0], requires_grad=True)
    h = ng.log(a)  # nan born here; nobody saves h (Add saves nothing)
    loss = (h + 1.0).sum()

    async def script(app, pilot):
        assert app.origin is not None and not app.origin_certain  # only the root's output is known bad
        assert "first op known to output NaN" in app.tree_label(app._tree_nodes[id(app.origin)][0]).plain

    _drive_graph(loss, None, {"a": a}, script)
    assert DebuggerApp(*demos.build("nan")[:2], True).origin_certain  # there Mul saves log's output


def test_debugger_steps_a_cuda_graph():
    """A CUDA graph (the simulator in CI): summaries copy values to the host, grads stay on the device."""
    if not ng.cuda.is_available():
        pytest.skip("no CUDA device or simulator")
    ng.manual_seed(0)
    x = ng.ones(5, device="cuda")
    w = ng.randn(5, 3, device="cuda", requires_grad=True)
    b = ng.randn(3, device="cuda", requires_grad=True)
    loss = ng.nn.functional.binary_cross_entropy_with_logits(x @ w + b, ng.zeros(3, device="cuda"))
    ref = [t.detach().cpu() for t in (w, b)]
    wr, br = (t.clone().requires_grad_() for t in ref)
    ng.nn.functional.binary_cross_entropy_with_logits(ng.ones(5) @ wr + br, ng.zeros(3)).backward()

    async def script(app, pilot):
        await pilot.press("n", "n")
        await pilot.pause()
        from rich.console import Console

        c = Console(width=200, record=True, file=open(os.devnull, "w"))
        c.print(app.inspector)
        assert "nan=0" in c.export_text()
        await pilot.press("c")
        await pilot.pause()

    app, _ = _drive_graph(loss, None, {"w": w, "b": b}, script)
    assert app.state == "finished" and w.grad.is_cuda
    np.testing.assert_allclose(w.grad.cpu().numpy(), wr.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(b.grad.cpu().numpy(), br.grad.numpy(), rtol=1e-5)
