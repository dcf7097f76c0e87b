"""Black-box: a StructuredDataset task run by the real command (column subset in, CSV out)."""

from __future__ import annotations

import os

import pandas as pd

from flytelite import StructuredDataset
from flytelite.types import BlobPaths, to_literal


def test_reads_the_declared_columns_and_writes_csv(ep):
    table = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [0.5, 1.0]})
    written = to_literal(StructuredDataset(dataframe=table), StructuredDataset, BlobPaths(str(ep.tmp_path / "in"), str(ep.tmp_path)))
    ep.write_inputs(ep.literal_map(table=written))
    result = ep.execute("dataset_tasks", "doubled")
    assert result.returncode == 0, result.describe()
    stored = result.outputs().literals["o0"].scalar.structured_dataset
    assert stored.metadata.structured_dataset_type.format == "csv" and stored.uri.startswith(str(ep.raw) + "/")
    assert os.listdir(stored.uri) == [".csv"]
    pd.testing.assert_frame_equal(pd.read_csv(os.path.join(stored.uri, ".csv")), pd.DataFrame({"a": [2, 4], "c": [1.0, 2.0]}))


def test_a_wrong_literal_for_a_dataset_input_is_a_user_error_naming_it(ep):
    ep.write_inputs(table=7)
    error = ep.execute("dataset_tasks", "doubled").error()
    assert error.kind == error.NON_RECOVERABLE
    assert "table" in error.message and "StructuredDataset" in error.message and "integer literal 7" in error.message, error.message
    assert "Traceback" not in error.message
