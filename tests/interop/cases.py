"""Interop cases shared by the golden generator (run with flytekit) and our tests.

Standard library only (pydantic is optional).  Each entry of ``CASES`` is
``(name, python_type, value)``.  Cases that need flytekit-specific types are
marked with a ``Special`` sentinel as their python type; the generator maps
them to ``FlyteFile`` / ``FlyteDirectory`` / the pickled class.
"""


import datetime
import enum
import typing
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Union

try:  # pydantic is optional: the pydantic_model case is skipped without it
    import pydantic
except ImportError:  # pragma: no cover
    pydantic = None


class Special(str):
    """Sentinel python type for cases that need flytekit types (or pickling)."""

    def __repr__(self):
        return f"Special({str(self)!r})"


FILE = Special("file")  # value: remote URI string -> FlyteFile
FILE_CSV = Special("file_csv")  # value: remote URI string -> FlyteFile["csv"]
DIRECTORY = Special("directory")  # value: remote URI string -> FlyteDirectory
PICKLE = Special("pickle")  # value: an object of a class no transformer handles


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class Point:
    x: int
    y: float
    label: str
    ok: bool
    tags: List[str]
    counts: Dict[str, int]
    maybe: Optional[int] = None


@dataclass
class Shape:
    name: str
    origin: Point
    points: List[Point]
    when: datetime.datetime
    extra: Optional[Point] = None


@dataclass
class Histogram:
    """A dataclass with non-string keys: flytekit sends it as msgpack like any dataclass."""

    counts: Dict[int, str]
    weights: Dict[float, List[int]]


class Opaque:
    """A plain class: flytekit falls back to pickling it."""

    def __init__(self, payload):
        self.payload = payload

    def __eq__(self, other):
        return type(other) is type(self) and other.payload == self.payload

    def __repr__(self):
        return f"Opaque({self.payload!r})"


if pydantic is not None:

    class Config(pydantic.BaseModel):
        lr: float
        layers: List[int]
        name: str

    class Ranking(pydantic.BaseModel):
        by_rank: Dict[int, str]

else:  # pragma: no cover
    Config = Ranking = None


UTC = datetime.timezone.utc

POINT_A = Point(x=1, y=2.5, label="a", ok=True, tags=["t1", "t2"], counts={"k": 3}, maybe=None)
POINT_B = Point(x=-4, y=0.25, label="b", ok=False, tags=[], counts={}, maybe=7)

SHAPE = Shape(
    name="tri",
    origin=POINT_A,
    points=[POINT_A, POINT_B],
    when=datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
    extra=None,
)

CASES: list = [
    ("int_pos", int, 42),
    ("int_neg", int, -7),
    ("float", float, 3.5),
    ("str", str, "héllo"),
    ("bool", bool, True),
    ("datetime", datetime.datetime, datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)),
    ("date", datetime.date, datetime.date(2024, 5, 6)),
    ("timedelta", datetime.timedelta, datetime.timedelta(days=1, seconds=3, microseconds=5)),
    ("none", type(None), None),
    ("list_int", List[int], [1, 2, 3]),
    ("list_str", List[str], ["a", "b"]),
    ("list_list_int", List[List[int]], [[1], [2, 3]]),
    ("dict_str_int", Dict[str, int], {"a": 1, "b": 2}),
    ("dict_str_list_float", Dict[str, List[float]], {"x": [1.0, 2.5]}),
    ("untyped_dict", dict, {"a": 1, "b": [1, 2], "c": {"d": "e"}}),
    ("optional_int_some", Optional[int], 5),
    ("optional_int_none", Optional[int], None),
    ("union_int_str", Union[int, str], "x"),
    ("enum", Color, Color.GREEN),
    ("dataclass_simple", Point, POINT_A),
    ("dataclass_nested", Shape, SHAPE),
    ("list_dataclass", List[Point], [POINT_A, POINT_B]),
    ("optional_dataclass", Optional[Point], POINT_B),
    ("dict_int_str", Dict[int, str], {1: "a", -2: "b"}),
    ("dict_bool_list_float", Dict[bool, List[float]], {True: [1.5], False: []}),
    ("dataclass_int_keys", Histogram, Histogram(counts={3: "x"}, weights={0.5: [1, 2]})),
    ("union_list_int_list_str", Union[List[int], List[str]], ["a", "b"]),
]

if Config is not None:
    CASES.append(("pydantic_model", Config, Config(lr=0.01, layers=[64, 32], name="mlp")))
    CASES.append(("pydantic_int_keys", Ranking, Ranking(by_rank={1: "gold", 2: "silver"})))

CASES += [
    ("file_remote", FILE, "s3://my-bucket/data/report.csv"),
    ("file_csv_remote", FILE_CSV, "s3://my-bucket/data/report.csv"),
    ("dir_remote", DIRECTORY, "s3://my-bucket/data/images"),
    ("pickle", PICKLE, Opaque({"k": [1, 2]})),
]

# A pandas DataFrame (pandas and pyarrow are optional, so it is not one of CASES): its columns as plain
# lists. flytekit writes it as parquet under <raw prefix>/<random hex>/00000; the golden files keep that
# parquet file as dataframe.00000.parquet, beside dataframe.literal_type.pb and dataframe.literal.pb.
DATAFRAME_COLUMNS = {
    "i": [1, -2, 3],
    "f": [0.5, 1.5, -2.25],
    "s": ["x", "héllo", ""],
    "b": [True, False, True],
    "t": [datetime.datetime(2024, 5, 6, 7, 8, 9, 123456) + datetime.timedelta(days=d) for d in range(3)],
}

# StructuredDataset cases (pandas and pyarrow are optional, so not in CASES; the generator's dataset_cases()
# names them): a frame of these columns, the annotated ones declaring the subset DATASET_SUBSET.
DATASET_COLUMNS = {"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, 1.5, 2.5]}
DATASET_COLUMN_TYPES = {"a": int, "b": str, "c": float}
DATASET_SUBSET = ("a", "c")

# torch and numpy values (optional, so not in CASES): name -> what the generator builds. Each blob is kept as
# golden/<name>.blob beside its .literal_type.pb and .literal.pb (whose uri is a random path, so compared by shape).
ARRAY_CASES = {
    "torch_tensor": "torch.arange(12, dtype=torch.float32).reshape(3, 4)",
    "torch_module": "torch.nn.Linear(3, 2) after torch.manual_seed(0)",
    "numpy_array": "numpy.arange(12, dtype=numpy.float32).reshape(3, 4)",
}

# Cases whose Literal contains freshly generated (random) URIs: compare structure only.
RANDOM_URI_CASES = {"pickle"}

# Cases for which the pre-1.14 "generic Struct" shape is also recorded (<name>.old.literal.pb).
OLD_FORMAT_CASES = ("dataclass_simple", "dataclass_nested", "untyped_dict")

CASES_BY_NAME = {name: (tp, value) for name, tp, value in CASES}
