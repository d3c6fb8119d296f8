"""The page `explain_backward` writes: HTML, its style and its script, all inline.

The page loads nothing: the graph is inline SVG, the trace is inline JSON
(`<script type="application/json" id="trace-data">`), and the script below renders step `i`
from `steps[i]` alone, plus the node states of steps 0..i (each step lists the states it
changes). Element ids the tests rely on: `step-title`, `step-text`, `step-kind`, `counter`,
`step-sections`, `queue`, the buttons `first`, `prev`, `play`, `next`, `last`, the `slider`,
and in the graph `n3` (a box) and `e5` (an arrow), which get the classes `current`, `target`
and `active` for the step shown and `st-ready`, `st-waiting`, `st-running`, `st-done`,
`st-freed` for their state.
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%%TITLE%%</title>
<style>%%STYLE%%</style>
</head>
<body>
<header>
  <h1>%%TITLE%%</h1>
  <p class="hint">What HyperGrad's autograd engine did, in its order. Keys: &larr; &rarr; step,
  Space plays, Home and End jump. Click a box to see it run.</p>
</header>
<nav id="controls" aria-label="step controls">
  <button id="first" type="button" title="First step (Home)">&#9664;&#9664; First</button>
  <button id="prev" type="button" title="Previous step (&larr;)">&#9664; Previous</button>
  <button id="play" type="button" title="Play or pause (Space)">&#9654; Play</button>
  <button id="next" type="button" title="Next step (&rarr;)">Next &#9654;</button>
  <button id="last" type="button" title="Last step (End)">Last &#9654;&#9654;</button>
  <input id="slider" type="range" min="0" max="0" value="0" aria-label="step">
  <span id="counter" aria-live="polite"></span>
  <label>speed <select id="speed">
    <option value="2000">slow</option>
    <option value="1000" selected>normal</option>
    <option value="400">fast</option>
    <option value="150">very fast</option>
  </select></label>
  <label><input id="fit" type="checkbox" checked> fit graph</label>
</nav>
<main>
  <section id="graph-pane" aria-label="the backward graph">
    <div id="graph" class="fit" data-layout="%%LAYOUT%%">%%SVG%%</div>
    <ul id="legend">
      <li><span class="swatch current"></span>running now</li>
      <li><span class="swatch target"></span>receiving a gradient</li>
      <li><span class="swatch waiting"></span>has some of its gradients</li>
      <li><span class="swatch ready"></span>in the ready queue</li>
      <li><span class="swatch done"></span>done</li>
      <li><span class="swatch freed"></span>saved tensors freed</li>
      <li><span class="swatch leaf"></span>leaf (AccumulateGrad)</li>
    </ul>
  </section>
  <section id="panel" aria-live="polite">
    <div id="step-kind"></div>
    <h2 id="step-title"></h2>
    <p id="step-text"></p>
    <div id="step-sections"></div>
    <section id="queue-box">
      <h3>Ready queue (next to run first)</h3>
      <ol id="queue"></ol>
    </section>
  </section>
</main>
<section id="timeline">
  <h2>All steps</h2>
  <ol id="steps"></ol>
</section>
<script type="application/json" id="trace-data">%%DATA%%</script>
<script>%%SCRIPT%%</script>
</body>
</html>
"""

STYLE = """
:root { --accent: #e4572e; --target: #1f6fc5; --ready: #2a9d3a; --waiting: #e09b00;
        --ink: #222; --muted: #666; --line: #ddd; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: var(--ink); background: #fafafa; }
header { padding: 10px 18px 4px; }
h1 { font-size: 20px; margin: 0 0 2px; }
.hint { margin: 0; color: var(--muted); font-size: 13px; }
#controls { position: sticky; top: 0; z-index: 2; display: flex; flex-wrap: wrap; gap: 8px;
            align-items: center; padding: 8px 18px; background: #fff;
            border-bottom: 1px solid var(--line); }
#controls button { font: inherit; padding: 4px 10px; border: 1px solid #bbb;
                   border-radius: 5px; background: #f4f4f4; cursor: pointer; }
#controls button:hover:not(:disabled) { background: #e8e8e8; }
#controls button:disabled { opacity: .45; cursor: default; }
#play.playing { background: #ffe7de; border-color: var(--accent); }
#slider { flex: 1 1 180px; min-width: 120px; }
#counter { font-variant-numeric: tabular-nums; min-width: 90px; }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(320px, 2fr); gap: 14px;
       padding: 12px 18px; align-items: start; }
#graph-pane { background: #fff; border: 1px solid var(--line); border-radius: 8px;
              padding: 8px; position: sticky; top: 58px; }
#graph { overflow: auto; max-height: calc(100vh - 150px); }
#graph.fit svg { max-width: 100%; height: auto; }
#graph svg { display: block; margin: 0 auto; }
#graph g.node { cursor: pointer; }
#graph g.node.st-done { opacity: .5; }
#graph g.node.st-waiting path, #graph g.node.st-waiting polygon,
#graph g.node.st-waiting rect { stroke: var(--waiting); stroke-width: 3px; }
#graph g.node.st-ready path, #graph g.node.st-ready polygon,
#graph g.node.st-ready rect { stroke: var(--ready); stroke-width: 3px; }
#graph g.node.st-freed path, #graph g.node.st-freed polygon,
#graph g.node.st-freed rect { stroke-dasharray: 6 3; }
#graph g.node.target { opacity: 1; }
#graph g.node.target path, #graph g.node.target polygon,
#graph g.node.target rect { stroke: var(--target); stroke-width: 4px; }
#graph g.node.current { opacity: 1; }
#graph g.node.current path, #graph g.node.current polygon,
#graph g.node.current rect { stroke: var(--accent); stroke-width: 4px; fill: #fff1a8; }
#graph g.edge.active path { stroke: var(--accent); stroke-width: 3.5px; }
#graph g.edge.active polygon { stroke: var(--accent); fill: var(--accent); }
#graph g.edge.active text { fill: var(--accent); font-weight: bold; }
#legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 8px 0 0;
          padding: 0; font-size: 12px; color: var(--muted); }
.swatch { display: inline-block; width: 16px; height: 11px; border-radius: 3px;
          margin-right: 5px; vertical-align: -1px; border: 2px solid #999; background: #eee; }
.swatch.current { border-color: var(--accent); background: #fff1a8; }
.swatch.target { border-color: var(--target); }
.swatch.waiting { border-color: var(--waiting); }
.swatch.ready { border-color: var(--ready); }
.swatch.done { opacity: .45; }
.swatch.freed { border-style: dashed; }
.swatch.leaf { border-color: #2f6db5; background: #cfe4ff; }
#panel { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
#step-kind { display: inline-block; font-size: 11px; text-transform: uppercase;
             letter-spacing: .06em; color: #fff; background: var(--muted); border-radius: 4px;
             padding: 1px 7px; }
#step-kind.call { background: var(--accent); }
#step-kind.send { background: var(--target); }
#step-kind.release { background: #8c6d1f; }
#step-kind.accumulate { background: #2f6db5; }
#step-kind.return { background: #7b4fa6; }
#step-title { font-size: 18px; margin: 6px 0 4px; }
#step-text { margin: 0 0 8px; }
.step-section h3, #queue-box h3 { font-size: 13px; margin: 12px 0 4px; color: #444; }
.section-text { margin: 0 0 4px; color: #444; }
pre { margin: 0; font: 12px/1.35 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
      white-space: pre-wrap; }
pre.formula { background: #f5f2ff; border-left: 3px solid #8a7ad6; padding: 5px 8px; }
dl.items { margin: 0; }
dl.items dt { color: #444; font-size: 13px; margin-top: 6px; }
dl.items dd { margin: 1px 0 0 12px; }
.tensor { background: #f6f8fa; border-radius: 4px; padding: 3px 7px; display: inline-block;
          max-width: 100%; overflow-x: auto; vertical-align: top; }
.tensor pre.values { white-space: pre; }
.tensor .meta { color: var(--muted); font-size: 11px; }
.tensor .stats { font-size: 12px; }
.tensor.none, .tensor.empty { color: var(--muted); font-style: italic; }
#queue { margin: 0; padding-left: 22px; }
#queue:empty::before { content: "empty"; color: var(--muted); font-style: italic;
                       margin-left: -22px; }
#timeline { padding: 0 18px 24px; }
#timeline h2 { font-size: 15px; }
#steps { columns: 2 340px; font-size: 13px; padding-left: 34px; margin: 0; }
#steps li { cursor: pointer; padding: 1px 4px; border-radius: 3px; break-inside: avoid; }
#steps li:hover { background: #eee; }
#steps li.current { background: #ffe7de; font-weight: 600; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; }
                            #graph-pane { position: static; } }
"""

SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("trace-data").textContent);
  var steps = data.steps;
  var nodes = {};
  data.nodes.forEach(function (node) { nodes[node.id] = node; });
  var graph = document.getElementById("graph");
  var STATE_CLASSES = ["st-ready", "st-waiting", "st-running", "st-done", "st-freed",
                       "current", "target"];
  var index = 0;
  var timer = null;

  function byId(id) { return document.getElementById(id); }

  function make(tag, className, text) {
    var element = document.createElement(tag);
    if (className) { element.className = className; }
    if (text !== undefined && text !== null) { element.textContent = text; }
    return element;
  }

  // A gradient or tensor: its values when small, else summary statistics; then shape, dtype.
  function tensorView(summary) {
    if (summary.empty) { return make("span", "tensor empty", "empty"); }
    if (summary.none) { return make("span", "tensor none", "None"); }
    var box = make("div", "tensor");
    if (summary.values !== null && summary.values !== undefined) {
      box.appendChild(make("pre", "values", summary.values));
    }
    if (summary.stats) { box.appendChild(make("div", "stats", summary.stats)); }
    var meta = (summary.shape + " " + summary.dtype).trim();
    if (meta) { box.appendChild(make("div", "meta", meta)); }
    return box;
  }

  function renderSections(step) {
    var root = byId("step-sections");
    root.textContent = "";
    step.sections.forEach(function (section) {
      var box = make("section", "step-section");
      box.appendChild(make("h3", null, section.heading));
      if (section.text) { box.appendChild(make("p", "section-text", section.text)); }
      if (section.code) { box.appendChild(make("pre", "formula", section.code)); }
      if (section.items) {
        var list = make("dl", "items");
        section.items.forEach(function (item) {
          list.appendChild(make("dt", null, item.label));
          var value = make("dd");
          value.appendChild(item.summary ? tensorView(item.summary)
                                         : make("span", "item-text", item.text));
          list.appendChild(value);
        });
        box.appendChild(list);
      }
      root.appendChild(box);
    });
  }

  // The state of every box after step `last`: replay the changes of steps 0..last.
  function statesAfter(last) {
    var states = {};
    for (var i = 0; i <= last; i++) {
      steps[i].changes.forEach(function (change) {
        var state = states[change[0]] || (states[change[0]] = {status: null, freed: false});
        if (change[1] === "freed") { state.freed = true; } else { state.status = change[1]; }
      });
    }
    return states;
  }

  function renderGraph(step) {
    var states = statesAfter(index);
    graph.querySelectorAll("g.node").forEach(function (box) {
      STATE_CLASSES.forEach(function (name) { box.classList.remove(name); });
      var state = states[box.id];
      if (state) {
        if (state.status) { box.classList.add("st-" + state.status); }
        if (state.freed) { box.classList.add("st-freed"); }
      }
    });
    graph.querySelectorAll("g.edge.active").forEach(function (edge) {
      edge.classList.remove("active");
    });
    var current = step.node ? byId(step.node) : null;
    if (current) { current.classList.add("current"); }
    if (step.target && byId(step.target)) { byId(step.target).classList.add("target"); }
    if (step.edge && byId(step.edge)) { byId(step.edge).classList.add("active"); }
    if (current) { keepInView(current); }
  }

  // Scroll the graph pane (only it, not the page) so the current box is visible.
  function keepInView(element) {
    var pane = graph.getBoundingClientRect();
    var box = element.getBoundingClientRect();
    if (box.top < pane.top) { graph.scrollTop -= pane.top - box.top + 20; }
    else if (box.bottom > pane.bottom) { graph.scrollTop += box.bottom - pane.bottom + 20; }
    if (box.left < pane.left) { graph.scrollLeft -= pane.left - box.left + 20; }
    else if (box.right > pane.right) { graph.scrollLeft += box.right - pane.right + 20; }
  }

  function renderQueue(step) {
    var queue = byId("queue");
    queue.textContent = "";
    step.queue.forEach(function (id) { queue.appendChild(make("li", null, nodes[id].label)); });
  }

  function show(target) {
    index = Math.max(0, Math.min(steps.length - 1, target));
    var step = steps[index];
    byId("counter").textContent = "step " + (index + 1) + " / " + steps.length;
    byId("slider").value = String(index);
    var kind = byId("step-kind");
    kind.textContent = step.kind;
    kind.className = step.kind;
    byId("step-title").textContent = step.title;
    byId("step-text").textContent = step.text;
    renderSections(step);
    renderQueue(step);
    renderGraph(step);
    byId("first").disabled = byId("prev").disabled = index === 0;
    byId("next").disabled = byId("last").disabled = index === steps.length - 1;
    var items = byId("steps").children;
    for (var i = 0; i < items.length; i++) { items[i].classList.toggle("current", i === index); }
    document.body.setAttribute("data-step", String(index));
  }

  function play() {
    if (timer !== null) { stop(); return; }
    if (index === steps.length - 1) { show(0); }
    byId("play").classList.add("playing");
    byId("play").textContent = "\u2016 Pause";
    timer = setInterval(function () {
      if (index >= steps.length - 1) { stop(); } else { show(index + 1); }
    }, Number(byId("speed").value));
  }

  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    byId("play").classList.remove("playing");
    byId("play").textContent = "\u25b6 Play";
  }

  function build() {
    var list = byId("steps");
    steps.forEach(function (step, i) {
      var item = make("li", null, step.title);
      item.addEventListener("click", function () { stop(); show(i); });
      list.appendChild(item);
    });
    byId("slider").max = String(steps.length - 1);
    byId("slider").addEventListener("input", function (event) {
      stop(); show(Number(event.target.value));
    });
    byId("first").addEventListener("click", function () { stop(); show(0); });
    byId("prev").addEventListener("click", function () { stop(); show(index - 1); });
    byId("next").addEventListener("click", function () { stop(); show(index + 1); });
    byId("last").addEventListener("click", function () { stop(); show(steps.length - 1); });
    byId("play").addEventListener("click", play);
    byId("speed").addEventListener("change", function () {
      if (timer !== null) { stop(); play(); }
    });
    byId("fit").addEventListener("change", function (event) {
      graph.classList.toggle("fit", event.target.checked);
    });
    // Clicking a box jumps to the step where it runs.
    graph.querySelectorAll("g.node").forEach(function (box) {
      box.addEventListener("click", function () {
        for (var i = 0; i < steps.length; i++) {
          if (steps[i].kind === "call" && steps[i].node === box.id) { stop(); show(i); return; }
        }
      });
    });
    document.addEventListener("keydown", function (event) {
      // A focused button or select handles Space and Enter itself.
      var tag = event.target.tagName;
      if ((tag === "BUTTON" || tag === "SELECT") && (event.key === " " || event.key === "Enter")) {
        return;
      }
      if (tag === "SELECT") { return; }
      var keys = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1};
      if (event.key in keys) { stop(); show(index + keys[event.key]); }
      else if (event.key === " ") { play(); }
      else if (event.key === "Home") { stop(); show(0); }
      else if (event.key === "End") { stop(); show(steps.length - 1); }
      else { return; }
      event.preventDefault();
    });
    show(0);
  }

  build();
})();
"""
