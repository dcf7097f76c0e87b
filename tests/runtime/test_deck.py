"""Decks: rendering of values and pages, registration in the context, upload, and the page in a real browser."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from typing import Any, NamedTuple

import pytest

from flytelite.runtime import deck as deck_module
from flytelite.runtime.context import ExecutionContext, use_context
from flytelite.runtime.deck import Deck, Timeline, build_decks, render_page, render_value, span, timeline_span, write_deck

SCRIPT = "<script>window.__pwned = 1</script>"
IMG = '<img src=x onerror="window.__pwned = 1">'


@pytest.fixture
def ctx(tmp_path: Any) -> ExecutionContext:
    return ExecutionContext(working_directory=str(tmp_path / "wd"), enable_deck=True)


@dataclasses.dataclass
class Config:
    learning_rate: float
    layers: list[int]
    note: str


class Point(NamedTuple):
    x: int
    y: int


def _rows(html: str) -> int:
    return html.count("<tr>")


# --- values ---------------------------------------------------------------------------------------


def test_scalars_are_escaped() -> None:
    assert render_value(SCRIPT).count("<script>") == 0
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in render_value(SCRIPT)
    assert "<img" not in render_value(IMG)
    assert ">3<" in render_value(3) and ">None<" in render_value(None) and ">True<" in render_value(True)
    assert ">0.5<" in render_value(0.5)
    assert "(3 bytes)" in render_value(b"<a>") and "<a>" not in render_value(b"<a>")


def test_keys_and_field_values_are_escaped() -> None:
    html = render_value({SCRIPT: [IMG], "k": Config(0.1, [1], SCRIPT)})
    assert "<script>" not in html and "<img" not in html
    assert html.count("&lt;script&gt;") == 2


class CountedList(list):
    """A list that counts the items read from it, into a counter its nested lists share: the renderer's work, without a clock."""

    def __init__(self, items: Any, counter: list[int]) -> None:
        super().__init__(items)
        self.counter = counter

    def __iter__(self):
        for item in super().__iter__():
            self.counter[0] += 1
            yield item


def test_big_list_is_truncated_without_reading_it() -> None:
    read = [0]
    value = CountedList(range(200_000), read)
    html = render_value(value)
    assert read[0] <= deck_module.MAX_ROWS + 1
    assert "CountedList · 200,000 items" in html
    assert _rows(html) == 1 + 100 + 1  # header, first 100 rows, "… and N more"
    assert "… and 199,900 more" in html
    assert ">99<" in html and ">100<" not in html
    assert len(html) < 20_000


def test_huge_nested_value_stays_bounded() -> None:
    read = [0]
    value = CountedList((CountedList([i] * 1000, read) for i in range(1000)), read)
    read[0] = 0  # building it read the generator, not the lists
    html = render_value(value)
    # a million values: at most the cell budget is rendered, plus one row read past it per table
    assert read[0] <= deck_module.MAX_CELLS + 2 * deck_module.MAX_ROWS
    assert len(html) < 400_000
    assert "more" in html


def test_long_string_is_clipped() -> None:
    html = render_value("x" * 50_000)
    assert "… and 40,000 more characters" in html
    assert html.count("x") < 10_100


def test_dataclass_becomes_a_field_table() -> None:
    html = render_value(Config(0.001, [64, 32], "fast"))
    assert "Config · 3 fields" in html
    assert "<th>field</th>" in html
    for field in ("learning_rate", "layers", "note"):
        assert f'<td class="k">{field}</td>' in html
    assert ">0.001<" in html and ">fast<" in html
    assert "list · 2 items" in html and ">64<" in html and ">32<" in html


def test_named_tuple_becomes_a_field_table() -> None:
    html = render_value(Point(1, 2))
    assert "Point · 2 fields" in html and '<td class="k">x</td>' in html and '<td class="k">y</td>' in html


def test_nested_dict_renders_recursively() -> None:
    html = render_value({"model": {"name": "resnet", "layers": [1, 2, {"deep": "yes"}]}, "n": 3})
    assert html.count("<table") == 4  # outer dict, inner dict, list, dict in the list
    assert "dict · 2 items" in html and "list · 3 items" in html
    assert ">resnet<" in html and ">yes<" in html and ">3<" in html
    assert "<th>key</th>" in html and "<th>index</th>" in html


def test_deep_nesting_is_summarised() -> None:
    value: Any = "bottom"
    for _ in range(20):
        value = [value]
    html = render_value(value)
    assert "(not expanded)" in html
    assert "bottom" not in html
    recursive: list[Any] = [1]
    recursive.append(recursive)
    assert "(not expanded)" in render_value(recursive)


def test_empty_containers_and_sets() -> None:
    assert "list · 0 items" in render_value([])
    assert "dict · 0 items" in render_value({})
    assert "set · 1 items" in render_value({"a"})


def test_broken_repr_does_not_break_rendering() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise ValueError("no")

    assert "repr failed: ValueError" in render_value(Broken())


def test_other_objects_show_their_clipped_repr() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "<Thing " + "y" * 20_000 + ">"

    html = render_value(Thing())
    assert "&lt;Thing" in html and "more characters" in html


def test_pandas_like_values_use_to_html_without_importing_pandas() -> None:
    calls = []

    class DataFrame:
        shape = (5000, 2)

        def to_html(self, **kwargs: Any) -> str:
            calls.append(kwargs)
            return "<table class='df'><tr><td>cell</td></tr></table>"

    DataFrame.__module__ = "pandas.core.frame"
    html = render_value(DataFrame())
    assert "DataFrame · 5,000 rows × 2 columns" in html
    assert "<td>cell</td>" in html
    assert calls and calls[0]["max_rows"] == 100


def test_real_pandas_dataframe() -> None:
    pd = pytest.importorskip("pandas")
    html = render_value(pd.DataFrame({"a": range(1000), "b": ["<x>"] * 1000}))
    assert "DataFrame · 1,000 rows × 2 columns" in html
    assert "&lt;x&gt;" in html and "<x>" not in html
    assert html.count("<tr>") < 120


def test_importing_and_rendering_loads_no_extra_modules() -> None:
    code = (
        "import sys, flytelite.runtime.deck as d\n"
        "d.render_page(d.build_decks('t', {'a': [1, {'b': 2}]}, {'o': 1.5}, [('run_task', 0.0, 1.0)], [], None), 't')\n"
        "bad = [m for m in ('pandas', 'jinja2', 'html', 'dataclasses', 'urllib.request', 'flytelite.io') if m in sys.modules]\n"
        "print(bad)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- decks and spans ------------------------------------------------------------------------------


def test_deck_registers_itself_in_the_current_context(ctx: ExecutionContext) -> None:
    with use_context(ctx):
        report = Deck("Report", "<p>one</p>")
        assert report.append("<p>two</p>") is report
        other = Deck("Other")
    assert ctx.decks == [report, other]
    assert report.name == "Report"
    assert report.html == "<p>one</p><p>two</p>"
    assert other.html == ""
    other.html = "<b>set</b>"
    assert other.html == "<b>set</b>"


def test_detached_deck_is_not_registered(ctx: ExecutionContext) -> None:
    with use_context(ctx):
        detached = Deck.detached("Loose", "<p>x</p>")
    assert ctx.decks == []
    assert detached.name == "Loose" and detached.html == "<p>x</p>"


def test_spans_are_recorded_in_the_context_timeline(ctx: ExecutionContext) -> None:
    with use_context(ctx):
        before = time.time()
        with span("load data"):
            time.sleep(0.01)
        with pytest.raises(RuntimeError):
            with timeline_span("fails"):
                raise RuntimeError("boom")

        @span("decorated")
        def work(x: int) -> int:
            return x * 2

        assert work(2) == 4 and work(3) == 6
    timelines = [d for d in ctx.decks if isinstance(d, Timeline)]
    assert len(timelines) == 1
    spans = timelines[0].spans
    assert [name for name, _, _ in spans] == ["load data", "fails", "decorated", "decorated"]
    name, start, end = spans[0]
    assert before <= start and end - start >= 0.009
    assert Timeline.current(ctx) is timelines[0]


def test_spans_go_to_the_context_current_at_their_start(tmp_path: Any) -> None:
    first = ExecutionContext(working_directory=str(tmp_path / "a"))
    second = ExecutionContext(working_directory=str(tmp_path / "b"))
    with use_context(first):
        with span("one"):
            pass
    with use_context(second):
        with span("two"):
            pass
    assert [s[0] for s in Timeline.current(first).spans] == ["one"]
    assert [s[0] for s in Timeline.current(second).spans] == ["two"]


def test_timeline_rendered_alone_shows_its_spans(ctx: ExecutionContext) -> None:
    with use_context(ctx):
        with span("<alone>"):
            pass
    assert "&lt;alone&gt;" in Timeline.current(ctx).html


# --- the standard decks ---------------------------------------------------------------------------

TIMINGS = [
    ("preparing the context", 100.0, 100.01),
    ("loading the task", 100.01, 100.05),
    ("reading inputs", 100.05, 100.1),
    ("decoding inputs", 100.1, 100.11),
    ("running the task", 100.11, 100.3),
    ("encoding outputs", 100.3, 100.31),
    ("writing outputs", 100.31, 100.32),
]


def _standard_decks(ctx: ExecutionContext, error: str | None = None) -> list[Deck]:
    with use_context(ctx):
        Deck("Report", "<h2>My report</h2><p>accuracy 0.93</p>")
        Timeline.current().add("train <model>", 100.12, 100.28)
        before = list(ctx.decks)
        decks = build_decks(
            "wf.train",
            {"n": 3, "cfg": Config(0.01, [64, 32], SCRIPT), "xs": list(range(1000))},
            None if error else {"o0": 0.93, "o1": IMG},
            TIMINGS,
            ctx.decks,
            error,
        )
        assert ctx.decks == before  # nothing registered
    return decks


def test_build_decks_on_success(ctx: ExecutionContext) -> None:
    decks = _standard_decks(ctx)
    assert [d.name for d in decks] == ["Inputs", "Outputs", "Timeline", "Report"]
    inputs, outputs, timeline, report = decks
    assert "Config · 3 fields" in inputs.html and '<td class="k">cfg</td>' in inputs.html
    assert "<script>" not in inputs.html
    assert ">0.93<" in outputs.html and "<img" not in outputs.html
    for label in ("reading inputs", "loading the task", "running the task", "writing outputs", "train &lt;model&gt;"):
        assert label in timeline.html
    assert "your spans" in timeline.html
    assert "width:" in timeline.html and 'class="bar user"' in timeline.html
    assert ">+10.0 ms<" in timeline.html and ">190.0 ms<" in timeline.html
    assert report.html == "<h2>My report</h2><p>accuracy 0.93</p>"


def test_build_decks_on_failure_shows_the_error_first(ctx: ExecutionContext) -> None:
    decks = _standard_decks(ctx, error="ValueError: bad <input>\n  traceback line")
    assert [d.name for d in decks] == ["Error", "Inputs", "Timeline", "Report"]
    assert "wf.train failed" in decks[0].html
    assert "ValueError: bad &lt;input&gt;\n  traceback line" in decks[0].html


def test_build_decks_before_the_inputs_were_read() -> None:
    decks = build_decks("t", None, None, [], [], error="could not load the task")
    assert [d.name for d in decks] == ["Error", "Inputs", "Timeline"]
    assert "not known" in decks[1].html
    assert "No steps or spans" in decks[2].html
    empty = build_decks("t", {}, {}, [("run_task", 1.0, 1.0)], [], None)
    assert "no inputs" in empty[0].html and "no outputs" in empty[1].html


def test_a_timeline_with_html_of_its_own_keeps_it(ctx: ExecutionContext) -> None:
    with use_context(ctx):
        Timeline.current().append("<p>notes</p>")
    decks = build_decks("t", {}, {}, [], ctx.decks, None)
    assert [d.name for d in decks] == ["Inputs", "Outputs", "Timeline", "Timeline"]
    assert decks[3].html == "<p>notes</p>"


# --- the page -------------------------------------------------------------------------------------


class _Checker(HTMLParser):
    VOID = {"meta", "br", "img", "hr", "input", "link", "col", "wbr", "area", "base", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.sections: list[dict[str, str | None]] = []
        self.buttons: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(attributes["id"] or "")
        if tag == "section":
            self.sections.append(attributes)
        if tag == "button":
            self.buttons.append(attributes)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()


def test_render_page_is_one_tidy_self_contained_page(ctx: ExecutionContext) -> None:
    decks = _standard_decks(ctx) + [Deck.detached(SCRIPT, "<p>odd name</p>")]
    page = render_page(decks, "wf.train <" + "script>")
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert '<meta charset="utf-8">' in page
    assert "<title>wf.train &lt;script&gt; · deck</title>" in page
    assert "<h1>wf.train &lt;script&gt;</h1>" in page
    assert page.count("<script>") == 1  # only the tab switcher; names and values are escaped
    assert not re.search(r"<[a-z]+\s[^>]*\b(src|href)\s*=|@import|url\(|https?://", page)  # nothing fetched
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert len(checker.ids) == len(set(checker.ids))
    assert [b["data-name"] for b in checker.buttons] == ["Inputs", "Outputs", "Timeline", "Report", SCRIPT]
    assert [s["data-name"] for s in checker.sections] == ["Inputs", "Outputs", "Timeline", "Report", SCRIPT]
    assert ["hidden" in s for s in checker.sections] == [False, True, True, True, True]
    assert checker.buttons[0]["aria-selected"] == "true" and checker.buttons[0]["class"] == "active"


def test_render_page_without_decks() -> None:
    page = render_page([], "t")
    assert "No decks." in page and page.rstrip().endswith("</html>")


def test_write_deck_writes_the_page_beside_the_verdict(tmp_path: Any) -> None:
    # the upload to S3, with its text/html content type, is checked in tests/storage
    page = render_page([Deck.detached("A", "<p>é ✓</p>")], "t")
    uri = write_deck(str(tmp_path / "out"), page)
    assert uri == str(tmp_path / "out" / "deck.html")
    assert (tmp_path / "out" / "deck.html").read_text(encoding="utf-8") == page


# --- in a real browser ----------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    not os.path.exists("/usr/bin/chromium"),
    reason="/usr/bin/chromium is absent: install Debian's chromium (apt-get install -y chromium) to run the browser tests",
)


def _panels(dom: str) -> dict[str, bool]:
    """``{deck name: visible}`` from a dumped DOM."""
    found = {}
    for tag in re.findall(r"<section [^>]*>", dom):
        name = re.search(r'data-name="([^"]*)"', tag)
        assert name is not None
        found[name.group(1)] = " hidden" not in tag
    return found


@pytest.fixture
def page_file(tmp_path: Any, ctx: ExecutionContext) -> str:
    path = tmp_path / "deck.html"
    path.write_text(render_page(_standard_decks(ctx), "wf.train"), encoding="utf-8")
    return str(path)


@needs_chromium
def test_browser_shows_the_first_tab_then_the_one_in_the_address(page_file: str) -> None:
    from deck_browser import dump_dom

    assert _panels(dump_dom(f"file://{page_file}")) == {"Inputs": True, "Outputs": False, "Timeline": False, "Report": False}
    dom = dump_dom(f"file://{page_file}#tab=Outputs")
    assert _panels(dom) == {"Inputs": False, "Outputs": True, "Timeline": False, "Report": False}
    assert re.search(r'<button [^>]*data-name="Outputs"[^>]*aria-selected="true"', dom)
    assert _panels(dump_dom(f"file://{page_file}#tab=3")) == {"Inputs": False, "Outputs": False, "Timeline": False, "Report": True}


@needs_chromium
def test_browser_switches_tabs_on_mouse_clicks(page_file: str, tmp_path: Any) -> None:
    from deck_browser import Browser

    visible = "[...document.querySelectorAll('[role=tabpanel]')].filter(p => !p.hidden && p.offsetHeight > 0).map(p => p.dataset.name)"
    shown_text = "document.querySelector('[role=tabpanel]:not([hidden])').innerText"
    expected = {"Outputs": "0.93", "Timeline": "running the task", "Report": "My report", "Inputs": "learning_rate"}
    with Browser() as browser:
        browser.open(f"file://{page_file}")
        assert browser.evaluate(visible) == ["Inputs"]
        for name, text in expected.items():
            browser.click(f'nav [data-name="{name}"]')
            assert browser.evaluate(visible) == [name]
            assert text in browser.evaluate(shown_text)
            assert browser.evaluate("location.hash") == f"#tab={name}"
            assert browser.evaluate("document.querySelector('[aria-selected=true]').dataset.name") == name
        browser.open(f"file://{page_file}#tab=Outputs")  # a jump within the page: the hashchange handler
        deadline = time.time() + 5  # the handler runs after the navigation settles
        while browser.evaluate(visible) != ["Outputs"] and time.time() < deadline:
            time.sleep(0.05)
        assert browser.evaluate(visible) == ["Outputs"]
        assert "train <model>" in browser.evaluate("document.getElementById('deck-2').innerText")
        assert browser.evaluate("window.__pwned === undefined")  # escaped values never ran
        assert browser.evaluate("document.title") == "wf.train · deck"
        browser.click('nav [data-name="Timeline"]')
        png = browser.screenshot(str(tmp_path / "timeline.png"))
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


@needs_chromium
@pytest.mark.slow  # a real browser (conftest marks the others through their page_file fixture)
def test_browser_opens_a_failed_task_on_its_error(tmp_path: Any, ctx: ExecutionContext) -> None:
    from deck_browser import dump_dom, screenshot

    path = tmp_path / "deck.html"
    path.write_text(render_page(_standard_decks(ctx, error="ZeroDivisionError: division by zero"), "wf.train"), encoding="utf-8")
    dom = dump_dom(f"file://{path}")
    assert _panels(dom) == {"Error": True, "Inputs": False, "Timeline": False, "Report": False}
    assert "ZeroDivisionError: division by zero" in dom
    png = screenshot(f"file://{path}", str(tmp_path / "error.png"))
    assert os.path.getsize(png) > 1000


def test_module_constants_are_sane() -> None:
    assert deck_module.DECK_FILE == "deck.html"
