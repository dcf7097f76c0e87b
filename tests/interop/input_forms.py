"""Inputs in the forms the backend hands a task besides a task's own output literal (issue 20, items 1-3).

Shared by ``generate_input_forms.py`` (run with flytekit; writes ``golden_forms/``) and
``test_golden_forms.py``. Standard library only (pydantic optional), as ``cases.py``; the cases that hold
files are functions of the file and folder classes (flytekit's ``FlyteFile`` / ``FlyteDirectory``, or ours).

- ``ATTRIBUTE_CASES``: a workflow passes ``holder.v`` of a dataclass (or pydantic) output to the next task.
  The backend resolves the path inside the msgpack literal and hands over a ``Binary`` tagged msgpack
  holding only that value (Flyte RFC 5741; flytekit's ``resolve_attr_path_in_promise`` does the same).
- ``STRUCT_CASES``: what FlyteConsole sends: a file or folder as ``Struct {"path": uri}``.
- ``OLD_FORMAT_CASES``: values written with ``FLYTE_USE_OLD_DC_FORMAT=true`` (the JSON ``Struct``).
- ``BARE_UNION_CASES``: a ``Union`` input given the plain literal of one variant (no ``scalar.union``).
"""

import datetime
import enum
from dataclasses import dataclass, field, make_dataclass
from typing import Dict, List, Optional, Union

from cases import POINT_A, POINT_B, SHAPE, Color, Point, Shape, pydantic

UTC = datetime.timezone.utc
S3_FILE = "s3://my-bucket/data/report.csv"
S3_FOLDER = "s3://my-bucket/data/images"


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


def attribute_cases(file_type: type, directory_type: type) -> list:
    """(name, field type, value): the value sits in field ``v`` of a one-field dataclass, read as ``holder.v``.

    ``file_type`` / ``directory_type``: flytekit's FlyteFile / FlyteDirectory in the generator, ours in the tests."""
    return [
        ("int", int, 42),
        ("float", float, 2.5),
        ("float_holding_int", float, 3),
        ("str", str, "héllo"),
        ("bool", bool, True),
        ("datetime", datetime.datetime, datetime.datetime(2024, 5, 6, 7, 8, 9, 123456)),
        ("date", datetime.date, datetime.date(2024, 5, 6)),
        ("timedelta", datetime.timedelta, datetime.timedelta(seconds=90, microseconds=5)),
        ("optional_int_some", Optional[int], 5),
        ("optional_int_none", Optional[int], None),
        ("union_int_str", Union[int, str], "x"),
        ("union_int_bool", Union[int, bool], True),
        ("list_int", List[int], [1, 2, 3]),
        ("list_list_int", List[List[int]], [[1], [2, 3]]),
        ("dict_str_int", Dict[str, int], {"a": 1, "b": 2}),
        ("dict_int_str", Dict[int, str], {1: "a", 2: "b"}),
        ("untyped_dict", dict, {"a": 1, "b": [1, 2]}),
        ("enum", Mode, Mode.SLOW),
        ("file", file_type, file_type(S3_FILE)),
        ("directory", directory_type, directory_type(S3_FOLDER)),
        ("optional_file", Optional[file_type], file_type(S3_FILE)),
        ("dataclass", Point, POINT_A),
        ("list_dataclass", List[Point], [POINT_A, POINT_B]),
        ("optional_dataclass", Optional[Point], POINT_B),
    ]


# The cases also read through a pydantic model's attribute (pydantic is optional).
PYDANTIC_ATTRIBUTE_NAMES = ("int", "float", "str", "list_int", "dict_str_int", "enum", "file", "dataclass")


def holder(name: str, field_type: object) -> type:
    """The one-field dataclass of an attribute case."""
    return make_dataclass(f"Holder_{name}", [("v", field_type)])


def pydantic_holder(name: str, field_type: object) -> type:
    return pydantic.create_model(f"Model_{name}", v=(field_type, ...))


def struct_cases(file_type: type, directory_type: type) -> list:
    """FlyteConsole's forms: (name, type, the Struct it sends as a dict, the value it stands for)."""
    return [
        ("file", file_type, {"path": S3_FILE}, file_type(S3_FILE)),
        ("directory", directory_type, {"path": S3_FOLDER}, directory_type(S3_FOLDER)),
        ("optional_file", Optional[file_type], {"path": S3_FILE}, file_type(S3_FILE)),
    ]


def record_class(file_type: type) -> type:
    """A dataclass whose fields' JSON forms differ from their literals: enum, datetime, file, nested, optional."""

    @dataclass
    class Record:
        mode: Mode
        when: datetime.datetime
        data: file_type  # type: ignore[valid-type]
        points: List[Point] = field(default_factory=list)
        note: Optional[str] = None

    return Record


def old_format_cases(file_type: type) -> list:
    """(name, type, value) written with FLYTE_USE_OLD_DC_FORMAT=true."""
    record = record_class(file_type)
    return [
        ("point", Point, POINT_A),
        ("shape", Shape, SHAPE),
        ("list_point", List[Point], [POINT_A, POINT_B]),
        ("dict_str_point", Dict[str, Point], {"a": POINT_A}),
        ("optional_point", Optional[Point], POINT_B),
        ("record", record, record(Mode.FAST, datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC), file_type(S3_FILE), [POINT_B])),
        ("untyped_dict", dict, {"a": 1, "b": [1, 2], "c": {"d": "e"}}),
        ("untyped_dict_floats", dict, {"x": 1.5, "n": None, "t": True}),
    ]


def bare_union_cases(file_type: type) -> list:
    """A bare literal of one variant given to a Union input: (name, union type, variant type, value)."""
    return [
        ("int_to_union_int_str", Union[int, str], int, 7),
        ("str_to_union_int_str", Union[int, str], str, "seven"),
        ("int_to_optional_int", Optional[int], int, 7),
        ("none_to_optional_int", Optional[int], type(None), None),
        ("float_to_union_int_float", Union[int, float], float, 2.5),
        ("int_to_union_int_float", Union[int, float], int, 2),
        ("list_to_union_list_str", Union[List[int], str], List[int], [1, 2]),
        ("file_to_optional_file", Optional[file_type], file_type, file_type(S3_FILE)),
        ("dataclass_to_optional_dataclass", Optional[Point], Point, POINT_A),
        ("enum_to_optional_enum", Optional[Color], Color, Color.RED),
    ]
