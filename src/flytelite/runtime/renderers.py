"""flytekit's deck renderers: ``to_html`` of a value, for ``Deck(name, renderer.to_html(value))``.

``MarkdownRenderer`` uses markdown-it-py, as flytekit does (``pip install 'flytelite[deck]'``);
``TopFrameRenderer`` and ``TableRenderer`` (flytekitplugins-deck-standard's) take a pandas DataFrame.
Each library is imported when a renderer first runs.
"""

from __future__ import annotations

from typing import Any, Sequence

DEFAULT_MAX_ROWS = 10
DEFAULT_MAX_COLS = 100


def _frame(value: Any) -> Any:
    import pandas

    if not isinstance(value, pandas.DataFrame):
        raise TypeError(f"this renderer takes a pandas DataFrame, not {type(value).__name__}")
    return value


class MarkdownRenderer:
    """Markdown text as HTML."""

    def to_html(self, text: str) -> str:
        try:
            from markdown_it import MarkdownIt
        except ImportError:
            raise ImportError("MarkdownRenderer needs markdown-it-py: pip install 'flytelite[deck]'") from None
        return MarkdownIt().render(text)


class TopFrameRenderer:
    """The first rows and columns of a DataFrame as an HTML table."""

    def __init__(self, max_rows: int = DEFAULT_MAX_ROWS, max_cols: int = DEFAULT_MAX_COLS) -> None:
        self.max_rows, self.max_cols = max_rows, max_cols

    def to_html(self, df: Any) -> str:
        return _frame(df).to_html(max_rows=self.max_rows, max_cols=self.max_cols)


_TABLE_STYLE = (
    "<style>.table-class{{border-collapse:collapse;border:1px solid #ccc;font-family:Arial,sans-serif;color:#333;{width}}}"
    ".table-class th,.table-class td{{border:1px solid #ccc;padding:8px}}.table-class th{{text-align:center}}"
    ".table-class tr:nth-child(even){{background:#f2f2f2}}.table-class tr:hover{{background:#ddd}}</style>"
)


class TableRenderer:
    """A whole DataFrame as a styled HTML table without its index; ``header_labels`` rename the columns."""

    def to_html(self, df: Any, header_labels: Sequence[str] | None = None, table_width: int | None = None) -> str:
        frame = _frame(df)
        if header_labels is not None and len(header_labels) == len(frame.columns):
            frame = frame.copy()
            frame.columns = list(header_labels)
        width = f"width:{table_width}px;" if table_width is not None else ""
        return _TABLE_STYLE.format(width=width) + frame.to_html(classes="table-class", index=False)
