"""``docs=`` and docstrings: the TaskSpec description, against what flytekit 1.16 registers (golden/task_docs_*)."""

from __future__ import annotations

import os

import pytest
from flyteidl.admin import description_entity_pb2

from flytelite import Description, Documentation, SourceCode, task
from flytelite.model.documentation import description_of

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")


def _golden(name: str) -> description_entity_pb2.DescriptionEntity:
    with open(os.path.join(GOLDEN, f"{name}.pb"), "rb") as f:
        return description_entity_pb2.DescriptionEntity.FromString(f.read())


@task(
    docs=Documentation(
        short_description="Adds one.",
        long_description=Description(value="Adds one to a number.", icon_link="https://acme.io/icon.png"),
        source_code=SourceCode(link="https://github.com/acme/repo"),
    )
)
def documented(a: int) -> int:
    return a + 1


@task(docs=Documentation(short_description="Only short.", source_code=SourceCode(link="https://github.com/acme/repo")))
def briefly_documented(a: int) -> int:
    return a


@task
def docstringed(a: int) -> int:
    """Doubles a number.

    Longer text about
    doubling, in two lines.

    :param a: the number to double
    :return: twice a
    """
    return 2 * a


@pytest.mark.parametrize(
    "fn,golden",
    [(documented, "task_docs_documented"), (briefly_documented, "task_docs_brief"), (docstringed, "task_docs_docstring")],
)
def test_description_matches_flytekit(fn, golden):
    assert description_of(fn.documentation) == _golden(golden)


def test_google_sections_and_one_line_docstrings():
    def google(a: int) -> int:
        """Short one.

        Long part.

        Args:
            a: the number
        """
        return a

    def bare(a: int) -> int:
        return a

    # what flytekit 1.16 gives for the same functions (checked with it; see the README here)
    assert description_of(task(google).documentation) == description_entity_pb2.DescriptionEntity(
        short_description="Short one.", long_description=description_entity_pb2.Description(value="Long part.", format=3)
    )
    assert description_of(task(bare).documentation) == description_entity_pb2.DescriptionEntity(
        long_description=description_entity_pb2.Description(format=3)
    )


def test_docs_of_the_wrong_kind_fail_at_decoration():
    with pytest.raises(ValueError, match="docs takes a flytelite Documentation, not str"):
        task(docs="adds")(lambda a: a)
