"""Types of issue 20 items 4-11 and issue 18 bug 2, shared by generate_input_forms.py and test_golden_types.py.

``cases(kit)`` gives ``(name, type, value)`` built from ``kit``'s file, folder and table classes (flytekit's in
the generator, ours in the tests); ``NO_VALUE``: only the LiteralType is recorded.
"""

import datetime
import os
import typing
from dataclasses import dataclass, field, make_dataclass
from typing import Any, List, Optional, Union

from cases import Opaque, pydantic

NO_VALUE = object()
S3_FILE = "s3://my-bucket/data/report.csv"
S3_FOLDER = "s3://my-bucket/data/tables"
WHEN = datetime.datetime(2024, 5, 6, 7, 8, 9)


@dataclass
class UnionBox:
    """Item 4: a value that more than one variant "accepts" (True is an int to isinstance)."""

    flag: Union[int, bool]
    names: Union[List[int], List[str]]
    maybe: Optional[Union[int, str]] = None


@dataclass
class Times:
    """Item 10: date and time defaults (their JSON schema defaults)."""

    when: datetime.datetime = WHEN
    day: datetime.date = datetime.date(2024, 5, 6)
    span: datetime.timedelta = datetime.timedelta(minutes=5)


@dataclass
class Choice:
    """Item 5: typing.Literal inside a dataclass."""

    mode: typing.Literal["fast", "slow"] = "fast"
    level: int = 1


@dataclass
class AnyBox:
    """Issue 18 bug 2: ``typing.Any`` fields."""

    a: Any
    tags: List[str] = field(default_factory=list)


def _classes_with_files(kit: Any) -> dict:
    bundle = make_dataclass("Bundle", [("data", kit.File), ("folder", kit.Directory), ("name", str)])
    out = {"bundle": bundle}
    if pydantic is not None:
        out["model"] = pydantic.create_model("Report", data=(kit.File, ...), folder=(kit.Directory, ...), table=(kit.StructuredDataset, ...))
    return out


def cases(kit: Any) -> list:
    """``kit``: a namespace with File, Directory, StructuredDataset, kwtypes (flytekit's or ours)."""
    classes = _classes_with_files(kit)
    bundle = classes["bundle"]
    out = [
        ("union_in_dataclass", UnionBox, UnionBox(flag=True, names=["x", "y"], maybe="m")),
        ("union_in_dataclass_int", UnionBox, UnionBox(flag=3, names=[1], maybe=4)),
        ("literal_str", typing.Literal["fast", "slow"], "slow"),
        ("literal_in_dataclass", Choice, Choice(mode="slow", level=2)),
        ("list_annotated_dataset", List[typing.Annotated[kit.StructuredDataset, kit.kwtypes(a=int, b=str)]], NO_VALUE),
        ("pathlike", os.PathLike, S3_FILE),
        ("directory_csv", kit.Directory["csv"], kit.Directory["csv"](S3_FOLDER)),
        ("dataclass_time_defaults", Times, Times()),
        ("dataclass_files", bundle, bundle(data=kit.File(S3_FILE), folder=kit.Directory(S3_FOLDER), name="b")),
        ("any_int_in_dataclass", AnyBox, AnyBox(a=3, tags=["t"])),
        ("any_dict_in_dataclass", AnyBox, AnyBox(a={"k": [1, 2.5, "s"]})),
        ("any_object_in_dataclass", AnyBox, AnyBox(a=Opaque([1]))),
    ]
    if "model" in classes:
        out.append(("pydantic_files_schema", classes["model"], NO_VALUE))
    return out
