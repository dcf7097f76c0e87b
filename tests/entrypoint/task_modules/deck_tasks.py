"""Tasks with decks enabled, for the deck tests of the execute pipeline."""

from __future__ import annotations

from flytelite import Deck, DeckField, current_context, span, task


@task(enable_deck=True)
def report(values: list[float]) -> float:
    with span("sum the values"):
        total = sum(values)
    Deck("Summary", f"<p>the total is <b>{total}</b></p>")
    return total


@task(enable_deck=True)
def broken(values: list[float]) -> float:
    Deck("Partial", "<p>made before the failure</p>")
    raise ZeroDivisionError("no values to average")


@task
def plain(values: list[float]) -> float:
    Deck("Ignored", "<p>decks are off for this task</p>")
    return sum(values)


@task(enable_deck=True, deck_fields=(DeckField.OUTPUT, DeckField.SOURCE_CODE))
def chosen(values: list[float]) -> float:
    return max(values)  # the Source Code deck shows this line


@task(enable_deck=True, deck_fields=())
def rendered(values: list[float]) -> float:
    import pandas as pd

    from flytelite import MarkdownRenderer, TableRenderer, TopFrameRenderer

    frame = pd.DataFrame({"value": values})
    deck = current_context().default_deck
    deck.append(MarkdownRenderer().to_html("# Values\n\n*many* of them"))
    deck.append(TopFrameRenderer(max_rows=2).to_html(frame))
    current_context().default_deck.append(TableRenderer().to_html(frame, header_labels=["v"], table_width=300))
    return sum(values)
