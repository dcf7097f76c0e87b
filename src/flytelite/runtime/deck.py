"""Decks: one self-contained HTML page per attempt, with a tab per deck.

A task makes its own decks with ``Deck("name", html)`` (each registers itself in the running
context, as flytekit's ``Deck`` does) and times its own phases with ``with span("load data"):``.
When decks are enabled, the entrypoint adds the standard ones the task's ``deck_fields`` name (all
five unless it says otherwise: Inputs, Outputs or Error, Timeline, Source Code, Dependencies) with
:func:`build_decks`, renders them all with :func:`render_page` and uploads the page with
:func:`write_deck` as ``<output prefix>/deck.html``.

The page needs nothing from the network: CSS and the few lines of script that switch tabs are
inline. ``page.html#tab=Outputs`` (a deck's name or its index) opens on that tab.

This module is imported only when decks are used, and imports nothing beyond the standard library
(not even ``html``; pandas only for values that already are pandas objects).
"""

from __future__ import annotations

import functools
import itertools
import sys
import time
from collections.abc import Collection, Mapping
from typing import Any, Callable, Iterable, Sequence, TypeVar

from .context import Deck, ExecutionContext, current_context

__all__ = [
    "Deck",
    "Timeline",
    "build_decks",
    "render_page",
    "render_value",
    "span",
    "timeline_span",
    "write_deck",
]

DECK_FILE = "deck.html"

MAX_ROWS = 100  # rows shown per list, dict or table
MAX_DEPTH = 4  # nesting levels rendered as tables; deeper values are summarised
MAX_CELLS = 3000  # values rendered in one render_value call, all levels together
MAX_CHARS = 10_000  # characters shown of one string or repr
MAX_ERROR_CHARS = 200_000  # characters shown of an error message

# What build_decks shows when its caller names no fields (three of the five): a task always names its
# own, all five by default (``model/metadata.py``'s ``ALL_DECK_FIELDS``, flytekit 1.16's default).
STANDARD_FIELDS = ("Input", "Output", "Timeline")

_F = TypeVar("_F", bound=Callable[..., Any])


def _esc(text: str) -> str:
    """``html.escape(text)``, without importing ``html`` (its entity table costs a millisecond)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").replace("'", "&#x27;")


# --- decks --------------------------------------------------------------------------------------


class Timeline(Deck):
    """The user's named spans of one context: ``(name, start, end)`` in seconds since the epoch.

    It lives in ``ctx.decks`` like any deck (so it travels with the context and needs no global
    registry); :meth:`current` finds or creates the context's one. :func:`build_decks` merges its
    spans into the standard Timeline deck instead of giving it a tab of its own; rendered alone, it
    shows its spans.
    """

    __slots__ = ("spans",)

    def __init__(self, name: str = "Timeline", html: str = "") -> None:
        self.spans: list[tuple[str, float, float]] = []
        super().__init__(name, html)

    @classmethod
    def current(cls, ctx: ExecutionContext | None = None) -> Timeline:
        """The timeline of ``ctx`` (the current context by default), created on first use."""
        decks = (ctx or current_context()).decks
        for deck in decks:
            if isinstance(deck, Timeline):
                return deck
        timeline = cls.__new__(cls)
        timeline._init_detached("Timeline", "")
        timeline.spans = []
        decks.append(timeline)
        return timeline

    def add(self, name: str, start: float, end: float) -> None:
        self.spans.append((str(name), float(start), float(end)))

    def span(self, name: str) -> _Span:
        """A context manager (or decorator) recording a span named ``name`` in this timeline."""
        return _Span(name, self)

    @property
    def html(self) -> str:
        return "".join(self._parts) + _timeline_html([], self.spans)

    @html.setter
    def html(self, value: str) -> None:
        self._parts = [value] if value else []


class _Span:
    """``with span("load data"):`` or ``@span("load data")``: records the block's wall-clock time.

    The span is recorded also when the block raises. Without an explicit timeline, the context
    current when the block starts holds it.
    """

    __slots__ = ("name", "_timeline", "_start", "_target")

    def __init__(self, name: str, timeline: Timeline | None = None) -> None:
        self.name = str(name)
        self._timeline = timeline
        self._start = 0.0
        self._target: Timeline | None = None

    def __enter__(self) -> _Span:
        self._target = self._timeline or Timeline.current()
        self._start = time.time()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        end = time.time()
        target, self._target = self._target, None
        if target is not None:
            target.add(self.name, self._start, end)

    def __call__(self, fn: _F) -> _F:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with _Span(self.name, self._timeline):
                return fn(*args, **kwargs)

        return timed  # type: ignore[return-value]


def span(name: str) -> _Span:
    """Record a named span of the running task: ``with span("load data"): ...``.

    Usable as a decorator too (``@span("train")``); each call of the function is one span. The
    spans show on the deck's Timeline tab next to flytelite's own steps.
    """
    return _Span(name)


timeline_span = span


# --- values -------------------------------------------------------------------------------------


class _Renderer:
    __slots__ = ("max_rows", "max_depth", "cells")

    def __init__(self, max_rows: int, max_depth: int, max_cells: int) -> None:
        self.max_rows, self.max_depth, self.cells = max_rows, max_depth, max_cells

    def render(self, value: Any, depth: int) -> str:
        self.cells -= 1
        if value is None or isinstance(value, (bool, int, float, complex)):
            return f'<span class="v">{_esc(repr(value))}</span>'
        if isinstance(value, str):
            return f'<span class="v s">{_clip(value)}</span>'
        if isinstance(value, (bytes, bytearray)):
            return f'<span class="v">{_clip(repr(value[: MAX_CHARS + 1]))}</span> <span class="dim">({len(value):,} bytes)</span>'
        module = type(value).__module__ or ""
        if module.startswith("pandas"):
            return _pandas_html(value, self.max_rows)
        if depth >= self.max_depth or self.cells <= 0:
            return _summary(value)
        fields = _dataclass_fields(value)
        if fields is not None:
            rows = ((name, getattr(value, name, None)) for name in fields)
            return self._table(type(value).__name__, len(fields), rows, depth, "field")
        if isinstance(value, tuple) and hasattr(type(value), "_fields"):  # a NamedTuple
            return self._table(type(value).__name__, len(value), zip(type(value)._fields, value), depth, "field")
        if isinstance(value, Mapping):
            try:
                return self._table(type(value).__name__, len(value), value.items(), depth, "key")
            except Exception:  # noqa: BLE001 - an odd mapping: fall back to its repr
                return _summary(value)
        if isinstance(value, (list, tuple, set, frozenset, range)):
            return self._table(type(value).__name__, len(value), enumerate(value), depth, "index")
        return _repr_html(value)

    def _table(self, type_name: str, size: int, rows: Iterable[tuple[Any, Any]], depth: int, key_kind: str) -> str:
        noun = "fields" if key_kind == "field" else "items"
        caption = f'<div class="cap">{_esc(type_name)} · {size:,} {noun}</div>'
        if size == 0:
            return caption
        out = [caption, f'<table class="kv"><thead><tr><th>{key_kind}</th><th>value</th></tr></thead><tbody>']
        shown = 0
        for key, item in itertools.islice(rows, self.max_rows):
            if self.cells <= 0:
                break
            key_html = _esc(key) if isinstance(key, str) and key_kind == "field" else self.render(key, self.max_depth)
            out.append(f'<tr><td class="k">{key_html}</td><td>{self.render(item, depth + 1)}</td></tr>')
            shown += 1
        hidden = size - shown
        if hidden > 0:
            out.append(f'<tr><td class="more" colspan="2">… and {hidden:,} more</td></tr>')
        out.append("</tbody></table>")
        return "".join(out)


def _dataclass_fields(value: Any) -> list[str] | None:
    if isinstance(value, type) or not hasattr(type(value), "__dataclass_fields__"):
        return None
    dataclasses = sys.modules.get("dataclasses")  # loaded already: the value's class is a dataclass
    if dataclasses is None:
        return None
    try:
        return [f.name for f in dataclasses.fields(value)]
    except TypeError:
        return None


def _clip(text: str, limit: int = MAX_CHARS) -> str:
    if len(text) <= limit:
        return _esc(text)
    return f'{_esc(text[:limit])}<span class="more"> … and {len(text) - limit:,} more characters</span>'


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not break the deck
        return f"<{type(value).__name__} (repr failed: {type(exc).__name__})>"


def _repr_html(value: Any) -> str:
    caption = ""
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is not None and dtype is not None:  # numpy arrays, tensors: say what it is first
        caption = f'<div class="cap">{_esc(type(value).__name__)} · shape {_esc(str(tuple(shape)))} · {_esc(str(dtype))}</div>'
    return f'{caption}<span class="v">{_clip(_safe_repr(value))}</span>'


def _summary(value: Any) -> str:
    try:
        size = f" · {len(value):,} items"
    except Exception:  # noqa: BLE001
        size = ""
    return f'<span class="dim">{_esc(type(value).__name__)}{size} (not expanded)</span>'


def _pandas_html(value: Any, max_rows: int) -> str:
    try:
        frame = value.to_frame() if type(value).__name__ == "Series" else value
        if hasattr(frame, "to_html") and hasattr(frame, "shape"):
            rows, cols = frame.shape
            caption = f'<div class="cap">{_esc(type(value).__name__)} · {rows:,} rows × {cols:,} columns</div>'
            table = frame.to_html(max_rows=max_rows, max_cols=30, border=0, classes="df")
            return f'{caption}<div class="scroll">{table}</div>'
    except Exception:  # noqa: BLE001 - fall back to the repr
        pass
    return _repr_html(value)


def render_value(value: Any, max_rows: int = MAX_ROWS, max_depth: int = MAX_DEPTH) -> str:
    """Readable HTML of a Python value.

    Scalars are escaped; lists, tuples and sets become (index, value) tables, mappings key/value
    tables, dataclasses and named tuples field/value tables, nested values recursively up to
    ``max_depth`` levels. At most ``max_rows`` rows are shown per table (then "… and N more"), and
    at most a few thousand values overall, so a huge value renders quickly. pandas objects use their
    own ``to_html``; anything else shows its (clipped) repr.
    """
    return _Renderer(max_rows, max_depth, MAX_CELLS).render(value, 0)


# --- the standard decks -------------------------------------------------------------------------


def _named_values_html(values: Mapping[str, Any] | None, what: str) -> str:
    if values is None:
        return f'<p class="dim">The {what} are not known: the attempt stopped before they were ready.</p>'
    if not values:
        return f'<p class="dim">The task has no {what}.</p>'
    rows = "".join(f'<tr><td class="k">{_esc(str(name))}</td><td>{render_value(value)}</td></tr>' for name, value in values.items())
    return f'<table class="kv"><thead><tr><th>name</th><th>value</th></tr></thead><tbody>{rows}</tbody></table>'


def _dependencies_html() -> str:
    from importlib import metadata

    installed = sorted({(dist.metadata["Name"] or "?", dist.version) for dist in metadata.distributions()}, key=lambda d: d[0].lower())
    rows = "".join(f'<tr><td class="k">{_esc(name)}</td><td>{_esc(version)}</td></tr>' for name, version in installed)
    return f'<table class="kv"><thead><tr><th>package</th><th>version</th></tr></thead><tbody>{rows}</tbody></table>'


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 60:
        return f"{seconds:.3f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.1f} s"


def _timeline_html(steps: Sequence[tuple[str, float, float]], spans: Sequence[tuple[str, float, float]]) -> str:
    everything = [*steps, *spans]
    if not everything:
        return '<p class="dim">No steps or spans were recorded.</p>'
    t0 = min(start for _, start, _ in everything)
    total = max(max(end for _, _, end in everything) - t0, 1e-9)
    out = [f'<p class="cap">Total {_duration(total)}, from the first step to the end of the last.</p>']
    out.append('<table class="tl"><thead><tr><th>step</th><th>starts at</th><th>duration</th><th class="track-h"></th></tr></thead><tbody>')
    for group, items, css in (("flytelite", steps, "bar"), ("your spans", spans, "bar user")):
        if not items:
            continue
        out.append(f'<tr class="group"><td colspan="4">{group}</td></tr>')
        for name, start, end in sorted(items, key=lambda item: item[1]):
            left, width = (start - t0) / total * 100, max(end - start, 0.0) / total * 100
            out.append(
                f'<tr><td class="k">{_esc(name)}</td><td class="num">+{_duration(max(start - t0, 0.0))}</td>'
                f'<td class="num">{_duration(max(end - start, 0.0))}</td><td class="track">'
                f'<div class="{css}" style="margin-left:{left:.2f}%;width:{width:.2f}%"></div></td></tr>'
            )
    out.append("</tbody></table>")
    return "".join(out)


def build_decks(
    task_name: str,
    inputs: Mapping[str, Any] | None,
    outputs: Mapping[str, Any] | None,
    timings: Sequence[tuple[str, float, float]],
    user_decks: Iterable[Deck],
    error: str | None = None,
    fields: Collection[str] = STANDARD_FIELDS,
    source_code: str | None = None,
) -> list[Deck]:
    """The attempt's decks: the standard ones, then the user's, none of them registered anywhere.

    Of Inputs, Outputs, Timeline, Source Code (``source_code``) and Dependencies (the installed
    distributions), those ``fields`` names (flytekit's deck field names: "Input", "Output",
    "Timeline", "Source Code", "Dependencies"); when ``error`` is given (the task failed), an Error
    deck with the message comes first, in place of Outputs. ``timings`` are flytelite's steps as
    ``(step label, start, end)``; the spans of any :class:`Timeline` among ``user_decks`` are
    drawn on the same Timeline tab, and the other user decks follow in their order.
    """
    user_spans: list[tuple[str, float, float]] = []
    others: list[Deck] = []
    for deck in user_decks:
        if isinstance(deck, Timeline):
            user_spans.extend(deck.spans)
            if deck._parts:  # the user also wrote HTML into it: keep that as a tab
                others.append(Deck.detached(deck.name, "".join(deck._parts)))
        else:
            others.append(deck)
    decks = []
    if error is not None:
        message = error if len(error) <= MAX_ERROR_CHARS else error[:MAX_ERROR_CHARS] + f"\n… and {len(error) - MAX_ERROR_CHARS:,} more characters"
        decks.append(Deck.detached("Error", f'<p class="err-title">{_esc(task_name)} failed</p><pre class="err">{_esc(message)}</pre>'))
    if "Input" in fields:
        decks.append(Deck.detached("Inputs", _named_values_html(inputs, "inputs")))
    if error is None and "Output" in fields:
        decks.append(Deck.detached("Outputs", _named_values_html(outputs, "outputs")))
    if "Timeline" in fields:
        decks.append(Deck.detached("Timeline", _timeline_html(list(timings), user_spans)))
    if "Source Code" in fields:
        shown = f"<pre>{_esc(source_code)}</pre>" if source_code else '<p class="dim">The source code is not available.</p>'
        decks.append(Deck.detached("Source Code", shown))
    if "Dependencies" in fields:
        decks.append(Deck.detached("Dependencies", _dependencies_html()))
    decks.extend(others)
    return decks


# --- the page -----------------------------------------------------------------------------------

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:18px;font-weight:600;font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
header .sub{color:#afb8c1;font-size:12px}
nav{display:flex;gap:2px;padding:0 24px;background:#fff;border-bottom:1px solid #d0d7de;flex-wrap:wrap}
nav button{font:inherit;background:none;border:0;border-bottom:2px solid transparent;padding:10px 14px;cursor:pointer;color:#57606a}
nav button:hover{color:#1f2328;background:#f6f8fa}
nav button.active{color:#1f2328;border-bottom-color:#fd8c73;font-weight:600}
main{padding:18px 24px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:16px;overflow:auto}
section[hidden]{display:none}
table{border-collapse:collapse;margin:4px 0}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600;font-size:12px;color:#57606a}
td.k{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-weight:600;white-space:nowrap}
.v,pre,td.num,.df td{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px}
.s{white-space:pre-wrap;word-break:break-word}
.cap{color:#57606a;font-size:12px;margin:2px 0}
.dim{color:#6e7781;font-style:italic}
.more{color:#6e7781;font-style:italic}
.scroll{overflow:auto;max-height:70vh}
td.num{text-align:right;white-space:nowrap}
table.tl{width:100%}
table.tl td.track{width:55%;padding:6px 8px}
table.tl td.k{font-family:inherit;font-weight:500}
tr.group td{background:#f6f8fa;font-weight:600;font-size:12px;color:#57606a}
.bar{height:12px;min-width:2px;background:#54aeff;border-radius:2px}
.bar.user{background:#4ac26b}
.err-title{color:#cf222e;font-weight:600;margin:0 0 8px}
pre.err{background:#fff5f5;border:1px solid #ffcecb;border-radius:6px;padding:12px;white-space:pre-wrap;word-break:break-word;margin:0}
"""

_JS = """
(function(){
var tabs=document.querySelectorAll('nav [role=tab]'),panels=document.querySelectorAll('main [role=tabpanel]');
function show(i){for(var j=0;j<tabs.length;j++){var on=j===i;tabs[j].classList.toggle('active',on);
tabs[j].setAttribute('aria-selected',on?'true':'false');panels[j].hidden=!on;}}
tabs.forEach(function(tab,i){tab.addEventListener('click',function(){show(i);
try{history.replaceState(null,'','#tab='+encodeURIComponent(tab.dataset.name));}catch(e){}});});
function fromHash(){var m=/(?:^#|&)tab=([^&]*)/.exec(location.hash);if(!m)return;
var want=decodeURIComponent(m[1]);for(var k=0;k<tabs.length;k++){
if(tabs[k].dataset.name===want||String(k)===want){show(k);return;}}}
fromHash();window.addEventListener('hashchange',fromHash);
})();
"""


def render_page(decks: Sequence[Deck], title: str) -> str:
    """One self-contained HTML5 page with a tab per deck; the first tab is shown first.

    ``#tab=<deck name>`` (or ``#tab=<index>``) in the page's address opens another tab.
    """
    buttons, panels = [], []
    for i, deck in enumerate(decks):
        name = _esc(deck.name)
        selected, active, hidden = ("true", ' class="active"', "") if i == 0 else ("false", "", " hidden")
        buttons.append(
            f'<button type="button" role="tab" id="tab-{i}" data-name="{name}" aria-controls="deck-{i}" '
            f'aria-selected="{selected}"{active}>{name}</button>'
        )
        panels.append(f'<section role="tabpanel" id="deck-{i}" data-name="{name}" aria-labelledby="tab-{i}"{hidden}>\n{deck.html}\n</section>')
    if not decks:
        panels.append('<p class="dim">No decks.</p>')
    title_html = _esc(title)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title_html} · deck</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<header><h1>{title_html}</h1><div class="sub">flytelite deck</div></header>\n'
        f'<nav role="tablist">{"".join(buttons)}</nav>\n'
        f"<main>\n{chr(10).join(panels)}\n</main>\n"
        f"<script>{_JS}</script>\n</body>\n</html>\n"
    )


def write_deck(output_prefix: str, page: str) -> str:
    """Upload ``page`` as ``<output_prefix>/deck.html`` (content type ``text/html``); returns its URI."""
    from .. import io

    uri = io.join(output_prefix, DECK_FILE)
    io.write_bytes(uri, page.encode("utf-8"), content_type="text/html")
    return uri
