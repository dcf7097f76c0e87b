"""Decks written by the execute pipeline: deck.html beside the verdict, checked in a real browser."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from flytelite.types import encode_map

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/deck_browser.py

needs_chromium = pytest.mark.skipif(
    not os.path.exists("/usr/bin/chromium"),
    reason="/usr/bin/chromium is absent: install Debian's chromium (apt-get install -y chromium) to run the browser tests",
)


def _values(ep, values: list[float]) -> Path:
    return ep.write_inputs(encode_map({"values": values}, {"values": list[float]}, what="input"))


def _tabs(html: str) -> list[str]:
    return re.findall(r'<button [^>]*data-name="([^"]*)"', html)


def test_a_task_with_decks_writes_inputs_outputs_timeline_and_its_own(ep):
    result = ep.execute("deck_tasks", "report", inputs=_values(ep, [1.5, 2.5]))
    assert result.files() == ["deck.html", "outputs.pb"], result.describe()
    page = (ep.out / "deck.html").read_text()
    assert _tabs(page) == ["Inputs", "Outputs", "Timeline", "Source Code", "Dependencies", "Summary"]  # flytekit's default deck_fields
    assert "the total is <b>4.0</b>" in page and "sum the values" in page and "running the task" in page


def test_deck_fields_choose_the_standard_decks(ep):
    result = ep.execute("deck_tasks", "chosen", inputs=_values(ep, [1.5, 2.5]))
    assert result.files() == ["deck.html", "outputs.pb"], result.describe()
    page = (ep.out / "deck.html").read_text()
    assert _tabs(page) == ["Outputs", "Source Code"]
    assert "return max(values)  # the Source Code deck shows this line" in page


def test_the_dependencies_deck_lists_installed_distributions(ep):
    ep.execute("deck_tasks", "report", inputs=_values(ep, [1.0]))
    page = (ep.out / "deck.html").read_text()
    assert '<td class="k">protobuf</td>' in page and '<td class="k">flytelite</td>' in page


def test_renderers_write_into_the_default_deck(ep):
    result = ep.execute("deck_tasks", "rendered", inputs=_values(ep, [1.5, 2.5, 3.5]))
    assert result.files() == ["deck.html", "outputs.pb"], result.describe()
    page = (ep.out / "deck.html").read_text()
    assert _tabs(page) == ["default"]  # one deck, however often default_deck is asked for
    assert "<h1>Values</h1>" in page and "<em>many</em>" in page
    assert "<td>...</td>" in page  # TopFrameRenderer(max_rows=2) cut the three rows
    assert 'class="dataframe table-class"' in page and "width:300px" in page and "<th>v</th>" in page


def test_a_failing_task_still_gets_its_deck_with_the_error(ep):
    result = ep.execute("deck_tasks", "broken", inputs=_values(ep, [1.0]))
    assert result.files() == ["deck.html", "error.pb"], result.describe()
    page = (ep.out / "deck.html").read_text()
    assert _tabs(page)[0] == "Error" and "Partial" in _tabs(page)
    assert "ZeroDivisionError: no values to average" in page


def test_without_enable_deck_no_deck_is_written(ep):
    result = ep.execute("deck_tasks", "plain", inputs=_values(ep, [1.0]))
    assert result.files() == ["outputs.pb"]


@needs_chromium
def test_the_written_deck_switches_tabs_in_chromium(ep, tmp_path):
    from deck_browser import Browser

    ep.execute("deck_tasks", "report", inputs=_values(ep, [1.5, 2.5]))
    shown = "document.querySelector('[role=tabpanel]:not([hidden])').innerText"
    with Browser() as browser:
        browser.open(f"file://{ep.out / 'deck.html'}")
        assert "1.5" in browser.evaluate(shown)  # Inputs first
        browser.click('nav [data-name="Outputs"]')
        assert "4.0" in browser.evaluate(shown)
        browser.click('nav [data-name="Summary"]')
        assert "the total is 4.0" in browser.evaluate(shown)
        browser.click('nav [data-name="Timeline"]')
        assert "sum the values" in browser.evaluate(shown)
        browser.screenshot(str(tmp_path / "timeline.png"))
    assert (tmp_path / "timeline.png").stat().st_size > 1000
