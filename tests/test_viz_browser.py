"""The page `explain_backward` writes, opened in a real headless Chromium (Debian's `chromium`,
driven by Playwright with the system browser; no browser is downloaded).

Each test steps through every step of a recorded backward pass and checks what the page shows
against the trace: the step's title and text, the counter, the highlighted box and arrow, each
box's state, every gradient shown, the ready queue. Any console error or page error fails the
test, and so does any request for something other than the file itself.

Skipped, with the reason, when Playwright or /usr/bin/chromium is missing. CI installs them:
`apt-get install -y chromium graphviz` and `pip install playwright`.
"""

from __future__ import annotations

import os

import pytest

import hypergrad as hg
from hypergrad import viz

CHROMIUM = "/usr/bin/chromium"
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)

CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]

# Everything the page shows for the current step, read in one round trip.
READ_PAGE = """() => {
  const text = (selector) => document.querySelector(selector).textContent;
  const ids = (selector) => [...document.querySelectorAll(selector)].map((e) => e.id);
  const states = {};
  document.querySelectorAll('#graph g.node').forEach((g) => {
    states[g.id] = [...g.classList].filter((c) => c.startsWith('st-')).sort();
  });
  const sections = [...document.querySelectorAll('#step-sections > section')].map((s) => ({
    heading: s.querySelector('h3').textContent,
    text: s.querySelector('.section-text') ? s.querySelector('.section-text').textContent : null,
    code: s.querySelector('pre.formula') ? s.querySelector('pre.formula').textContent : null,
    labels: [...s.querySelectorAll('dt')].map((e) => e.textContent),
    values: [...s.querySelectorAll('dd')].map((dd) => {
      const pick = (sel) => dd.querySelector(sel) ? dd.querySelector(sel).textContent : null;
      return {values: pick('pre.values'), stats: pick('.stats'), meta: pick('.meta'),
              plain: dd.textContent};
    }),
  }));
  return {counter: text('#counter'), kind: text('#step-kind'), title: text('#step-title'),
          text: text('#step-text'), current: ids('#graph g.node.current'),
          target: ids('#graph g.node.target'), active: ids('#graph g.edge.active'),
          states: states, sections: sections,
          queue: [...document.querySelectorAll('#queue li')].map((e) => e.textContent),
          highlighted: ids('#steps li.current').length,
          step: document.body.getAttribute('data-step'),
          prevDisabled: document.querySelector('#prev').disabled,
          nextDisabled: document.querySelector('#next').disabled};
}"""


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    """One headless Chromium for the module, with a fresh profile (--user-data-dir)."""
    with playwright_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"), executable_path=CHROMIUM,
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
        yield context
        context.close()


@pytest.fixture
def open_page(browser_context):
    """Open a file in a new tab; the test fails on console errors and outside requests."""
    problems = []
    pages = []

    def open_(path):
        page = browser_context.new_page()
        pages.append(page)
        page.on("console", lambda message: problems.append(f"console {message.type}: "
                                                           f"{message.text}")
                if message.type in ("error", "warning") else None)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("request", lambda request: problems.append(f"request: {request.url}")
                if not request.url.startswith("file://") else None)
        page.goto(path.as_uri())
        return page

    yield open_
    for page in pages:
        page.close()
    assert problems == []


def expected_states(steps, last):
    """Each box's state classes after step `last`, by replaying the steps' changes."""
    status, freed = {}, set()
    for step in steps[:last + 1]:
        for box, change in step["changes"]:
            if change == "freed":
                freed.add(box)
            else:
                status[box] = change
    boxes = set(status) | freed
    return {box: sorted(([f"st-{status[box]}"] if box in status else [])
                        + (["st-freed"] if box in freed else [])) for box in boxes}


def check_step(shown, trace, index):
    step = trace.steps[index]
    assert shown["counter"] == f"step {index + 1} / {len(trace.steps)}"
    assert shown["step"] == str(index)
    assert (shown["kind"], shown["title"], shown["text"]) == (step["kind"], step["title"],
                                                               step["text"])
    assert shown["current"] == ([step["node"]] if step["node"] else [])
    assert shown["target"] == ([step["target"]] if step.get("target") else [])
    assert shown["active"] == ([step["edge"]] if step.get("edge") else [])
    labels = {info["id"]: info["label"] for info in trace.nodes}
    assert shown["queue"] == [labels[box] for box in step["queue"]]
    expected = expected_states(trace.steps, index)
    assert {box: classes for box, classes in shown["states"].items() if classes} == expected
    assert shown["highlighted"] == 1
    assert shown["prevDisabled"] == (index == 0)
    assert shown["nextDisabled"] == (index == len(trace.steps) - 1)
    assert len(shown["sections"]) == len(step["sections"])
    for seen, section in zip(shown["sections"], step["sections"]):
        assert seen["heading"] == section["heading"]
        assert seen["text"] == (section.get("text") or None)
        assert seen["code"] == (section.get("code") or None)
        items = section.get("items", [])
        assert seen["labels"] == [item["label"] for item in items]
        for value, item in zip(seen["values"], items):
            summary = item.get("summary")
            if summary is None:
                assert value["plain"] == item["text"]
            elif summary.get("none") or summary.get("empty"):
                assert value["plain"] == ("None" if summary.get("none") else "empty")
            else:
                assert value["values"] == summary["values"]
                assert value["stats"] == summary["stats"]
                assert value["meta"] == f"{summary['shape']} {summary['dtype']}".strip()


def step_through(page, trace):
    """Press the right arrow through every step, checking each; then go back with the left."""
    for index in range(len(trace.steps)):
        if index:
            page.keyboard.press("ArrowRight")
        check_step(page.evaluate(READ_PAGE), trace, index)
    page.keyboard.press("ArrowRight")                  # past the end: stays on the last step
    check_step(page.evaluate(READ_PAGE), trace, len(trace.steps) - 1)
    for index in range(len(trace.steps) - 2, len(trace.steps) - 5, -1):
        page.keyboard.press("ArrowLeft")
        check_step(page.evaluate(READ_PAGE), trace, index)


def test_every_step_of_a_meeting_of_paths(tmp_path, open_page):
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    w = hg.tensor([0.5, -1.0], requires_grad=True)
    h = x * w
    loss = (h * x + h.exp()).sum()          # paths meet at h's node and at x's AccumulateGrad
    trace = viz.explain_backward(loss, tmp_path / "b.html", params={"x": x, "w": w},
                                 layout="builtin")
    assert any(step["kind"] == "send" and "the two are added" in step["text"]
               for step in trace.steps)
    step_through(open_page(trace.path), trace)


@pytest.mark.skipif(not viz.graphviz_available(), reason="the Graphviz program `dot` is not "
                    "installed (apt-get install graphviz)")
def test_every_step_of_a_model_drawn_by_graphviz(tmp_path, open_page):
    hg.manual_seed(0)
    model = hg.nn.Sequential(hg.nn.Linear(3, 8), hg.nn.ReLU(), hg.nn.Linear(8, 2))
    with viz.record_modules(model) as modules:
        loss = hg.nn.functional.cross_entropy(model(hg.randn(6, 3)),
                                              hg.tensor([0, 1, 1, 0, 1, 0]))
    trace = viz.explain_backward(loss, tmp_path / "b.html", modules=modules,
                                 params=dict(model.named_parameters()), layout="graphviz")
    assert any(item.get("summary", {}).get("stats")          # large tensors: statistics
               for step in trace.steps for section in step["sections"]
               for item in section.get("items", []))
    step_through(open_page(trace.path), trace)


def test_buttons_slider_play_and_clicking_a_box(tmp_path, open_page):
    x = hg.tensor([3.0], requires_grad=True)
    trace = viz.explain_backward((x.sin() * x).sum(), tmp_path / "b.html", layout="builtin")
    page = open_page(trace.path)
    last = len(trace.steps) - 1
    page.click("#last")
    check_step(page.evaluate(READ_PAGE), trace, last)
    page.click("#prev")
    check_step(page.evaluate(READ_PAGE), trace, last - 1)
    page.click("#first")
    check_step(page.evaluate(READ_PAGE), trace, 0)
    page.click("#next")
    check_step(page.evaluate(READ_PAGE), trace, 1)
    page.keyboard.press("End")
    check_step(page.evaluate(READ_PAGE), trace, last)
    page.keyboard.press("Home")
    check_step(page.evaluate(READ_PAGE), trace, 0)
    page.fill("#slider", "5")
    check_step(page.evaluate(READ_PAGE), trace, 5)
    sin_call = next(i for i, step in enumerate(trace.steps)
                    if step["kind"] == "call" and step["title"] == "SinBackward0 runs")
    page.click(f"#{trace.steps[sin_call]['node']}")
    check_step(page.evaluate(READ_PAGE), trace, sin_call)
    # Play runs to the end by itself, then the button offers to play again.
    page.select_option("#speed", "150")
    page.click("#first")
    page.click("#play")
    assert "Pause" in page.text_content("#play")
    page.wait_for_function(f"document.body.getAttribute('data-step') === '{last}'",
                           timeout=60_000)
    page.wait_for_function("document.querySelector('#play').textContent.includes('Play')",
                           timeout=10_000)
    check_step(page.evaluate(READ_PAGE), trace, last)
    # Space pauses a running play.
    page.click("#first")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press(" ")
    page.wait_for_function("document.body.getAttribute('data-step') !== '0'", timeout=10_000)
    page.keyboard.press(" ")
    assert "Play" in page.text_content("#play")
