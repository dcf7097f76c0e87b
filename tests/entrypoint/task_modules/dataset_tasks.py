"""StructuredDataset tasks written as flytekit users write them (flytesnacks' structured dataset examples)."""

from __future__ import annotations

from typing import Annotated

import pandas as pd

from flytelite import StructuredDataset, kwtypes, task

Subset = kwtypes(a=int, c=float)


@task
def doubled(table: Annotated[StructuredDataset, Subset]) -> Annotated[StructuredDataset, "csv"]:
    frame = table.open(pd.DataFrame).all()
    return StructuredDataset(dataframe=frame * 2)
