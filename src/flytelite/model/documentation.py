"""``@task(docs=Documentation(...))``: the description flytekit registers in the TaskSpec, not the template.

As in flytekit 1.16 every function task has one: its docstring's first line is the short description
and the text after it, up to the parameter sections, the long one (both replace what ``docs`` gives
when the docstring has them). ``description_of`` builds flyteidl's ``admin.DescriptionEntity``.
"""

from __future__ import annotations

import enum
import inspect
import re
from typing import Any, Callable

from ..support.records import Record


class DescriptionFormat(enum.IntEnum):
    UNKNOWN = 0
    MARKDOWN = 1
    HTML = 2
    RST = 3


class Description(Record):
    """A long description: the text (``value``) or where it is (``uri``), as flytekit's."""

    __slots__ = ("value", "uri", "icon_link", "format")

    def __init__(
        self, value: str | None = None, uri: str | None = None, icon_link: str | None = None, format: DescriptionFormat = DescriptionFormat.RST
    ) -> None:
        self.value, self.uri, self.icon_link, self.format = value, uri, icon_link, DescriptionFormat(format)


class SourceCode(Record):
    __slots__ = ("link",)

    def __init__(self, link: str | None = None) -> None:
        self.link = link


class Documentation(Record):
    __slots__ = ("short_description", "long_description", "source_code")

    def __init__(
        self, short_description: str | None = None, long_description: Description | None = None, source_code: SourceCode | None = None
    ) -> None:
        self.short_description, self.long_description, self.source_code = short_description, long_description, source_code


# Where a docstring's parameter sections begin: reST fields (":param a:") and Google / NumPy headers.
_SECTION = re.compile(r"^(:\w|(Args|Arguments|Parameters|Params|Returns?|Yields?|Raises?|Examples?|Attributes|Notes?)\s*:?\s*$)")


def _docstring_parts(fn: Callable[..., Any]) -> tuple[str | None, str | None]:
    text = inspect.getdoc(fn) or ""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if _SECTION.match(line.strip()):
            lines = lines[:index]
            break
    if not lines:
        return None, None
    return lines[0] or None, "\n".join(lines[1:]).strip() or None


def documentation_of(fn: Callable[..., Any], docs: Documentation | None) -> Documentation:
    """``docs`` completed from the function's docstring, as flytekit's task does it."""
    short, long = _docstring_parts(fn)
    if docs is None:
        return Documentation(short, Description(value=long))
    return Documentation(
        short or docs.short_description,
        Description(value=long) if long else docs.long_description,
        docs.source_code,
    )


def description_of(docs: Documentation) -> Any:
    """flyteidl's ``admin.DescriptionEntity`` of ``docs``."""
    from flyteidl.admin import description_entity_pb2

    entity = description_entity_pb2.DescriptionEntity(short_description=docs.short_description or "")
    long = docs.long_description
    if long is not None:
        entity.long_description.CopyFrom(
            description_entity_pb2.Description(value=long.value, uri=long.uri, icon_link=long.icon_link, format=int(long.format))
        )
    if docs.source_code is not None:
        entity.source_code.link = docs.source_code.link or ""
    return entity
