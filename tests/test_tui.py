"""nbgrad-tui: drive the debugger headless with Pilot and check it matches backward()."""

from __future__ import annotations

import asyncio
import textwrap

import numpy as np
import pytest

pytest.importorskip("textual")

import nbgrad as ng  # noqa: E402
from nbgrad_tui import cli, demos  # noqa: E402
from nbgrad_tui.app import DebuggerApp  # noqa: E402

SIZE = (150, 45)


def _reference(name: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """Node order of an undisturbed BackwardPass and the grads plain backward() gives."""
    root, grad, names = demos.build(name)
    bp = ng.autograd.backward_pass(root, grad, True)
    order = [s.node.name for s in bp]
    root, grad, names = demos.build(name)
    root.backward(grad)
    return order, {k: v.grad.numpy().copy() for k, v in names.items()}


def _drive(name: str, script):
    root, grad, names = demos.build(name)
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
    for name in ("seed", "vjp", "mlp", "nan"):
        assert name in out


def test_demo_auto(capsys):
    assert cli.main(["demo", "vjp", "--auto"]) == 0


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
