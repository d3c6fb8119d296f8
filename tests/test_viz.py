"""hypergrad.viz: the graph picture, the recorded backward pass, module frames, training plots
and the `graph` / `explain` commands. Graphs and backward passes are compared with real torch.

The page itself is opened in a real browser in tests/test_viz_browser.py.
"""

from __future__ import annotations

import argparse
import re
import xml.etree.ElementTree as ET
from collections import deque
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import hypergrad as hg
from hypergrad import viz
from hypergrad.viz.cli import add_commands
from hypergrad.viz.describe import summarize
from hypergrad.viz.layout import graph_to_svg

needs_dot = pytest.mark.skipif(not viz.graphviz_available(),
                               reason="the Graphviz program `dot` is not installed "
                                      "(apt-get install graphviz)")


# ----------------------------------------------------------------------------------------------
# The same random expression in both libraries
# ----------------------------------------------------------------------------------------------
UNARY = ("tanh", "sin", "sigmoid")
BINARY = ("add", "mul", "sub")
programs = st.lists(st.tuples(st.sampled_from(UNARY + BINARY), st.integers(0, 20),
                              st.integers(0, 20)), min_size=1, max_size=7)


def run_program(lib, program, x, w, c):
    """Apply `program` to a pool that starts as [x, w, c] (c needs no gradient)."""
    pool = [x, w, c]
    for op, i, j in program:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        if op in UNARY:
            pool.append(getattr(a, op)())
        else:
            pool.append({"add": a + b, "mul": a * b, "sub": a - b}[op])
    return (pool[-1] + x).sum()


def both(program, values=((0.5, -1.0, 2.0), (1.5, 0.25, -0.75), (0.3, 0.2, 0.1))):
    """(hg output, hg leaves), (torch output, torch leaves) for the same program."""
    results = []
    for lib in (hg, torch):
        x = lib.tensor(values[0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor(values[1], dtype=lib.float64, requires_grad=True)
        c = lib.tensor(values[2], dtype=lib.float64)
        results.append((run_program(lib, program, x, w, c), (x, w)))
    return results


def node_name(fn):
    """The Node's class name in either library (torch says torch::autograd::AccumulateGrad)."""
    return fn.name().rsplit("::", 1)[-1]


def walk(grad_fn):
    """Breadth-first walk of a graph through next_functions, in either library:
    `[(name, [(index of next node or None, input_nr), ...])]`."""
    order, index, queue = [], {grad_fn: 0}, deque([grad_fn])
    while queue:
        fn = queue.popleft()
        edges = []
        for next_fn, input_nr in fn.next_functions:
            if next_fn is None:
                edges.append((None, input_nr))
                continue
            if next_fn not in index:
                index[next_fn] = len(index)
                queue.append(next_fn)
            edges.append((index[next_fn], input_nr))
        order.append((node_name(fn), edges))
    return order


def torch_calls(output):
    """The nodes torch's engine runs, in its order, with the gradients each receives."""
    calls, seen, stack = [], set(), [output.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        fn.register_prehook(lambda grads, fn=fn: calls.append(
            (node_name(fn), [None if g is None else g.detach().numpy().copy() for g in grads])))
        stack.extend(next_fn for next_fn, _ in fn.next_functions)
    output.backward()
    return calls


# ----------------------------------------------------------------------------------------------
# draw_graph
# ----------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(programs)
@example([("mul", 0, 0)])                       # x * x: two edges into one AccumulateGrad
@example([("mul", 0, 1), ("tanh", 3, 0), ("add", 3, 4)])   # paths meet at a MulBackward0
def test_graph_has_torchs_nodes_and_edges(program):
    (out, _), (ref, _) = both(program)
    assert walk(out.grad_fn) == walk(ref.grad_fn)
    graph = viz.build_graph(out)
    boxes = [box for box in graph.nodes if box.kind in ("function", "leaf")]
    assert [box.lines[0] for box in boxes] == [name for name, _ in walk(ref.grad_fn)]
    for fn, edges in zip((box.node for box in boxes), (e for _, e in walk(ref.grad_fn))):
        drawn = [edge for edge in graph.edges if edge.tail == graph.ids[fn]]
        valid = [(i, edge) for i, edge in enumerate(edges) if edge[0] is not None]
        assert [edge.label for edge in drawn] == [str(i) for i, _ in valid]
        assert [edge.head for edge in drawn] == [boxes[target].id for _, (target, _) in valid]


def test_graph_labels_names_shapes_and_output():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    w = hg.ones(3, 2, dtype=hg.float64, requires_grad=True)
    h = (w.double() @ x.double()).tanh()
    loss = h.sum()
    source = viz.draw_graph({"loss": loss}, params={"x": x, "w": w, "h": h}).source
    assert "<B>loss</B>" in source and "() float64" in source            # the output box
    assert re.search(r"AccumulateGrad</B>.*>x<.*\(2,\) float32", source)
    assert re.search(r"AccumulateGrad</B>.*>w<.*\(3, 2\) float64", source)
    assert "makes h" in source                                           # a named non-leaf
    assert "TanhBackward0" in source and "MvBackward0" in source


def test_edge_labels_name_the_slot_of_a_multi_output_node():
    x = hg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    a, b = x.unbind(0)
    graph = viz.build_graph((a * b).sum())
    labels = sorted(edge.label for edge in graph.edges if edge.kind == "grad")
    assert labels == ["0", "0", "0 -> 0", "1 -> 1"]


def test_show_saved_and_show_attrs():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp().sum(0)
    source = viz.draw_graph(y, params={"x": x}, show_saved=True, show_attrs=True).source
    assert "saved[0]: output" in source                  # exp saves its result
    assert "sequence_nr = " in source and "needs_input_grad = (True,)" in source
    y.backward()
    after = viz.draw_graph(y, params={"x": x}, show_saved=True).source
    assert "freed after backward" in after               # released by backward


def test_a_tensor_without_graph_is_just_an_output_box():
    graph = viz.build_graph(hg.ones(2))
    assert [box.kind for box in graph.nodes] == ["output"] and not graph.edges
    assert "no graph" in graph.nodes[0].lines[-1]


def test_bad_arguments():
    with pytest.raises(TypeError, match="expected a Tensor"):
        viz.draw_graph(3.0)
    with pytest.raises(TypeError, match="params must be a dict"):
        viz.draw_graph(hg.ones(1, requires_grad=True), params=[1])


def test_render_dot_needs_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))          # no `dot` anywhere
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    graph = viz.draw_graph((x * x).sum())
    assert viz.render_graph(graph, tmp_path / "g.dot").read_text() == graph.source


def test_missing_graphviz_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not viz.graphviz_available()
    graph = viz.draw_graph((hg.ones(2, requires_grad=True) * 2).sum())
    with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz"):
        viz.render_graph(graph, tmp_path / "g.svg")
    with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz"):
        graph.pipe(format="svg")


@needs_dot
def test_render_svg_and_png(tmp_path):
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    graph = viz.draw_graph((x * x).sum(), params={"x": x})
    svg = viz.render_graph(graph, tmp_path / "g.svg").read_text()
    root = ET.fromstring(svg)
    ids = {element.get("id") for element in root.iter()}
    assert {"n0", "n1", "n2", "n3", "e0", "e1", "e2", "e3"} <= ids
    png = viz.render_graph(graph, tmp_path / "g.png").read_bytes()
    assert png.startswith(b"\x89PNG")


# ----------------------------------------------------------------------------------------------
# record_modules: frames by module
# ----------------------------------------------------------------------------------------------
def mlp():
    hg.manual_seed(0)
    return hg.nn.Sequential(hg.nn.Linear(3, 4), hg.nn.Tanh(), hg.nn.Linear(4, 2))


def test_nodes_are_framed_by_the_module_that_made_them():
    model, loss_fn = mlp(), hg.nn.MSELoss()
    x, target = hg.randn(5, 3), hg.randn(5, 2)
    with viz.record_modules(model, loss_fn) as modules:
        loss = loss_fn(model(x), target)
    graph = viz.build_graph(loss, params=dict(model.named_parameters()), modules=modules)
    frame = {box.lines[0] + (f" {box.lines[1]}" if box.kind == "leaf" else ""):
             graph.clusters[box.cluster].label if box.cluster is not None else None
             for box in graph.nodes if box.kind != "output"}
    assert frame["MseLossBackward0"] == "MSELoss"
    assert frame["TanhBackward0"] == "1: Tanh"
    assert frame["AccumulateGrad 0.weight"] == "0: Linear"
    assert frame["AccumulateGrad 2.bias"] == "2: Linear"
    nesting = {cluster.label: graph.clusters[cluster.parent].label
               if cluster.parent is not None else None for cluster in graph.clusters}
    assert nesting == {"MSELoss": None, "Sequential": None, "0: Linear": "Sequential",
                       "1: Tanh": "Sequential", "2: Linear": "Sequential"}
    addmm = [box for box in graph.nodes if box.lines[0] == "AddmmBackward0"]
    assert sorted(graph.clusters[box.cluster].label for box in addmm) == ["0: Linear",
                                                                           "2: Linear"]
    source = viz.to_graphviz(graph).source
    assert source.count("subgraph cluster_") == 5 and 'label="0: Linear"' in source


def test_hooks_are_removed_even_when_forward_raises():
    model = mlp()
    with pytest.raises(RuntimeError), viz.record_modules(model):
        model(hg.randn(2, 5))                       # wrong width: Linear raises
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    with viz.record_modules(model) as modules:
        model(hg.randn(2, 3))
    assert [call.label for call in modules.calls] == ["Sequential", "0: Linear", "1: Tanh",
                                                      "2: Linear"]
    assert all(call.end is not None for call in modules.calls)


# ----------------------------------------------------------------------------------------------
# explain_backward: the recorded backward pass
# ----------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(programs)
@example([("mul", 0, 0)])
@example([("mul", 0, 1), ("tanh", 3, 0), ("add", 3, 4), ("sub", 5, 2)])
def test_trace_follows_torchs_engine(program):
    (out, (x, w)), (ref, (tx, tw)) = both(program)
    trace = viz.explain_backward(out, path=None, params={"x": x, "w": w}, layout="builtin")
    expected = torch_calls(ref)
    calls = [(step, arrays) for step, arrays in zip(trace.steps, trace.arrays)
             if step["kind"] == "call" and step["node"] != "n0"]      # n0 is GraphRoot
    names = {info["id"]: info["name"] for info in trace.nodes}
    assert [names[step["node"]] for step, _ in calls] == [name for name, _ in expected]
    for (step, arrays), (name, grads) in zip(calls, expected):
        for ours, theirs in zip(arrays, grads):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, err_msg=step["title"])
    for leaf, reference in ((x, tx), (w, tw)):
        if reference.grad is None:
            assert leaf.grad is None
        else:
            np.testing.assert_allclose(leaf.grad.numpy(), reference.grad.numpy(), rtol=1e-12)
    check_trace_is_consistent(trace)


def check_trace_is_consistent(trace):
    """What every step claims agrees with the steps before it and with the graph."""
    steps = trace.steps
    assert steps[0]["kind"] == "start" and steps[-1]["kind"] == "finish"
    incoming = {}
    for info in trace.nodes:
        incoming[info["id"]] = info["dependencies"]
    buffers = {}
    previous_queue = steps[0]["queue"]
    for step, arrays in zip(steps, trace.arrays):
        if step["kind"] == "call":
            assert previous_queue[0] == step["node"]            # the engine pops the front
            assert step["node"] not in step["queue"]
        if step["kind"] == "send":
            target = step["target"]
            incoming[target] -= 1
            assert step["remaining"] == incoming[target]
            grad, after = arrays
            before = buffers.get((target, step["slot"]))
            if before is not None and grad is not None:
                np.testing.assert_allclose(after, before + grad)   # InputBuffer adds
            buffers[(target, step["slot"])] = after
            assert (target in step["queue"]) == (step["remaining"] == 0)
        previous_queue = step["queue"]
    assert all(count == 0 for node, count in incoming.items() if node != "n0")


def test_trace_of_x_times_x_step_by_step():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    trace = viz.explain_backward((x * x).sum(), path=None, params={"x": x})
    assert [(s["kind"], s["title"]) for s in trace.steps] == [
        ("start", "backward() starts: GraphRoot and compute_dependencies"),
        ("call", "The engine pops GraphRoot from the ready queue"),
        ("return", "GraphRoot returns the root gradient"),
        ("send", "GraphRoot \u2192 SumBackward0"),
        ("call", "SumBackward0 runs"),
        ("return", "SumBackward0 returns 1 gradient"),
        ("send", "SumBackward0 \u2192 MulBackward0"),
        ("call", "MulBackward0 runs"),
        ("release", "MulBackward0 frees its saved tensors"),
        ("return", "MulBackward0 returns 2 gradients"),
        ("send", "MulBackward0 \u2192 AccumulateGrad of x"),
        ("send", "MulBackward0 \u2192 AccumulateGrad of x"),
        ("call", "AccumulateGrad of x runs"),
        ("accumulate", "AccumulateGrad writes x.grad"),
        ("finish", "Backward is done"),
    ]
    first, second = trace.steps[10], trace.steps[11]
    assert "moved into slot 0" in first["text"] and first["remaining"] == 1
    assert "the two are added" in second["text"] and second["remaining"] == 0
    assert second["sections"][0]["items"][2]["summary"]["values"] == "[2., 4.]"
    assert first["edge"] != second["edge"]                 # two arrows, one per factor
    mul = trace.steps[7]["sections"]
    assert mul[1]["code"] == "out = a * b;  d/da = grad * b;  d/db = grad * a"
    assert [item["label"] for item in mul[2]["items"]] == ["saved[0]: x", "saved[1]: x"]
    assert trace.steps[13]["sections"][0]["items"][1]["summary"]["values"] == "[2., 4.]"
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_retain_graph_frees_nothing_and_grads_accumulate():
    x = hg.tensor([3.0], requires_grad=True)
    y = (x * x).sum()
    first = viz.explain_backward(y, path=None, retain_graph=True, params={"x": x})
    assert "release" not in [step["kind"] for step in first.steps]
    second = viz.explain_backward(y, path=None, params={"x": x})
    accumulate = next(step for step in second.steps if step["kind"] == "accumulate")
    assert "already held a gradient" in accumulate["text"]
    assert [item["summary"]["values"] for item in accumulate["sections"][0]["items"]] == [
        "[6.]", "[12.]"]
    assert "release" in [step["kind"] for step in second.steps]


def test_a_backward_inside_a_hook_is_not_mixed_in():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    inner = []

    def hook(grad):
        a = hg.tensor([2.0], requires_grad=True)
        with hg.enable_grad():          # backward runs with grad mode off
            inner.append(hg.autograd.grad((a * a).sum(), a)[0])

    y.register_hook(hook)
    trace = viz.explain_backward(y.sum(), path=None, params={"x": x})
    assert inner[0].tolist() == [4.0]
    assert [info["name"] for info in trace.nodes] == ["GraphRoot", "SumBackward0",
                                                      "MulBackward0", "AccumulateGrad"]
    assert len([step for step in trace.steps if step["kind"] == "call"]) == 4
    check_trace_is_consistent(trace)


def test_observer_is_removed_even_when_backward_raises():
    engine = hg.autograd.get_default_engine()
    x = hg.tensor([1.0], requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        viz.explain_backward(y * 1 + (x.exp() * 0).sum() + y, path=None)
    assert engine.observers == []


def test_large_tensors_are_summarized():
    x = hg.arange(100, dtype=hg.float64).reshape(10, 10).requires_grad_()
    trace = viz.explain_backward((x * 3).sum(), path=None, max_values=24)
    finish = trace.steps[-1]["sections"][0]["items"][0]["summary"]
    assert finish["values"] is None and finish["shape"] == "(10, 10)"
    assert finish["stats"] == "mean 3  std 0  min 3  max 3"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False, width=32), min_size=1, max_size=60))
def test_summarize_shows_values_or_statistics(values):
    array = np.array(values, dtype=np.float32)
    summary = summarize(array, max_values=24)
    assert summary["shape"] == f"({len(values)},)" and summary["dtype"] == "float32"
    if len(values) <= 24:
        shown = np.array(eval(summary["values"]) if len(values) > 1
                         else [float(summary["values"].strip("[]"))])
        np.testing.assert_allclose(shown, array, rtol=1e-3, atol=1e-3)
    else:
        stats = dict(zip(*[iter(summary["stats"].split())] * 2))
        np.testing.assert_allclose(float(stats["mean"]), array.astype(np.float64).mean(),
                                   rtol=1e-3, atol=1e-3)
        assert float(stats["max"]) == pytest.approx(float(array.max()), rel=1e-3, abs=1e-3)


def test_page_is_self_contained(tmp_path):
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    trace = viz.explain_backward((x.sin() * x).sum(), tmp_path / "b.html", layout="builtin")
    page = trace.path.read_text()
    assert not re.search(r"<(link|img|iframe)\b|\bsrc\s*=|\bhref\s*=|url\(|@import", page)
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) <= {"http://www.w3.org/2000/svg"}
    assert '<script type="application/json" id="trace-data">' in page


def test_builtin_layout_draws_every_box_and_arrow():
    model = mlp()
    loss = model(hg.randn(4, 3)).pow(2).mean()
    graph = viz.build_graph(loss, params=dict(model.named_parameters()), show_saved=True)
    root = ET.fromstring(graph_to_svg(graph))
    groups = {g.get("id"): g for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert {box.id for box in graph.nodes} | {edge.id for edge in graph.edges} <= set(groups)
    rects = []
    for box in graph.nodes:
        rect = groups[box.id].find("{http://www.w3.org/2000/svg}rect")
        rects.append([float(rect.get(k)) for k in ("x", "y", "width", "height")])
    for i, (x1, y1, w1, h1) in enumerate(rects):                  # no two boxes overlap
        for x2, y2, w2, h2 in rects[i + 1:]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1


@needs_dot
def test_explain_with_graphviz_keeps_the_ids(tmp_path):
    model = mlp()
    with viz.record_modules(model) as modules:
        loss = model(hg.randn(4, 3)).sum()
    trace = viz.explain_backward(loss, tmp_path / "b.html", modules=modules, layout="graphviz")
    assert trace.layout == "graphviz"
    root = ET.fromstring(trace.svg)
    ids = {element.get("id") for element in root.iter()}
    assert {info["id"] for info in trace.nodes} <= ids
    assert {step["edge"] for step in trace.steps if step["kind"] == "send"} <= ids


# ----------------------------------------------------------------------------------------------
# plot_history
# ----------------------------------------------------------------------------------------------
def test_plot_history_draws_every_series(tmp_path):
    history = {"train_loss": [1.0, 0.6, 0.4, 0.3], "val_loss": [1.1, 0.8, 0.7, 0.65],
               "train_acc": [0.5, 0.7, 0.8, 0.85], "val_accuracy": [0.45, 0.6, 0.7, 0.72]}
    figure = viz.plot_history(history, tmp_path / "h.png")
    assert (tmp_path / "h.png").read_bytes().startswith(b"\x89PNG")
    loss_axes, acc_axes = figure.axes
    assert [line.get_label() for line in loss_axes.lines] == ["train", "validation"]
    np.testing.assert_array_equal(loss_axes.lines[1].get_ydata(), history["val_loss"])
    np.testing.assert_array_equal(acc_axes.lines[1].get_ydata(), history["val_accuracy"])
    np.testing.assert_array_equal(acc_axes.lines[0].get_xdata(), [1, 2, 3, 4])
    viz.plot_history({"loss": [3, 2, 1]}, tmp_path / "h.svg")
    assert "<svg" in (tmp_path / "h.svg").read_text()


def test_plot_history_aligns_short_validation_and_rejects_unknown_keys(tmp_path):
    figure = viz.plot_history({"train_loss": [4, 3, 2, 1], "val_loss": [2.5, 1.5]},
                              tmp_path / "h.png")
    np.testing.assert_array_equal(figure.axes[0].lines[1].get_xdata(), [3, 4])
    assert len(figure.axes) == 1
    with pytest.raises(ValueError, match="unknown key 'trian_loss'.*train_loss"):
        viz.plot_history({"trian_loss": [1.0]}, tmp_path / "h.png")
    with pytest.raises(ValueError, match="both mean 'train_loss'"):
        viz.plot_history({"loss": [1.0], "train_loss": [1.0]}, tmp_path / "h.png")


# ----------------------------------------------------------------------------------------------
# The commands
# ----------------------------------------------------------------------------------------------
def run(*argv):
    parser = argparse.ArgumentParser(prog="hypergrad")
    add_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_graph_command_prints_dot(capsys):
    assert run("graph", "(x * x).sum()", "--input", "x=[1., 2.]") == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph") and "MulBackward0" in out and ">x<" in out


def test_graph_command_writes_dot_and_svg(tmp_path, capsys):
    assert run("graph", "tanh(w * x).sum()", "-i", "x=[1., 2.]", "-i", "w=randn(2)",
               "-o", str(tmp_path / "g.dot")) == 0
    assert "TanhBackward0" in (tmp_path / "g.dot").read_text()
    code = run("graph", "(x * x).sum()", "-i", "x=[1., 2.]", "-o", str(tmp_path / "g.svg"))
    if viz.graphviz_available():
        assert code == 0 and "<svg" in (tmp_path / "g.svg").read_text()
    else:
        assert code == 1 and "apt-get install graphviz" in capsys.readouterr().err


def test_explain_command_writes_the_page(tmp_path, capsys):
    page = tmp_path / "b.html"
    assert run("explain", "(x * x).sum()", "--input", "x=[1., 2.]", "-o", str(page)) == 0
    assert "15 steps" in capsys.readouterr().out and "MulBackward0" in page.read_text()
    assert run("explain", "x * x", "--input", "x=[1., 2.]", "-o", str(page),
               "--gradient", "[1., 0.5]") == 0
    assert "x.grad = [2., 2.]" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (("graph", "(x * ", "-i", "x=[1.]"), "not a Python expression"),
    (("graph", "y.sum()", "-i", "x=[1.]"), "NameError"),
    (("graph", "x", "-i", "x"), "expected NAME=VALUE"),
    (("graph", "x", "-i", "x=nonsense(3)"), "cannot read"),
    (("explain", "x * x", "-i", "x=[1., 2.]"), "needs a scalar"),
    (("explain", "c.sum()", "-i", "c=[1, 2]"), "no backward pass"),
])
def test_commands_explain_bad_input(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(*argv) == 2
    assert message in capsys.readouterr().err


def test_the_docs_pictures_exist():
    page = Path(__file__).resolve().parent.parent / "docs" / "visualize.md"
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text())
    assert len(images) == 5
    for image in images:
        assert (page.parent / image).is_file(), f"{image}: run python docs/make_images.py"
