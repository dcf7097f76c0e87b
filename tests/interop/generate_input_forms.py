"""Regenerate tests/interop/golden_forms/: the input forms of input_forms.py, written and read by flytekit.

Run ONLY under a flytekit virtual environment (see README.md here), from the repository root:

    /work/venv-flytekit/bin/python tests/interop/generate_input_forms.py

For each case it writes ``<kind>.<name>.literal.pb`` (and ``.txt``) and records in ``manifest.json`` what
flytekit reads the literal back as (``flytekit_reads``: the value's repr) or the error it raises
(``flytekit_error``). Our tests read every literal flytekit reads, and refuse the others.
"""

from __future__ import annotations

import asyncio
import json
import os
import pprint
import re
import shutil
import sys
import tempfile
import traceback
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden_forms"
sys.path.insert(0, str(HERE))

import generate_golden  # noqa: E402  (its fresh_to_literal)
import input_forms  # noqa: E402
import type_cases  # noqa: E402

import flytekit  # noqa: E402
from flyteidl.core import literals_pb2  # noqa: E402
from flytekit.core.context_manager import FlyteContextManager  # noqa: E402
from flytekit.core.data_persistence import FileAccessProvider  # noqa: E402
from flytekit.core.promise import Promise, resolve_attr_path_in_promise  # noqa: E402
from flytekit.core.type_engine import TypeEngine  # noqa: E402
from flytekit.models.literals import Literal  # noqa: E402
from flytekit.types.directory import FlyteDirectory  # noqa: E402
from flytekit.types.file import FlyteFile  # noqa: E402
from google.protobuf import json_format, text_format  # noqa: E402

OLD_ENV = "FLYTE_USE_OLD_DC_FORMAT"


def fresh_to_literal(ctx, value, t):
    """TypeEngine.to_literal past flytekit's literal cache (which ignores FLYTE_USE_OLD_DC_FORMAT)."""
    return generate_golden.fresh_to_literal(ctx, value, t, TypeEngine.to_literal_type(t))


def write_pb(name: str, msg) -> str:
    path = GOLDEN / f"{name}.pb"
    path.write_bytes(msg.SerializeToString(deterministic=True))
    path.with_suffix(".txt").write_text(text_format.MessageToString(msg, as_utf8=True))
    return path.name


def reread(name: str) -> Literal:
    msg = literals_pb2.Literal()
    msg.ParseFromString((GOLDEN / f"{name}.pb").read_bytes())
    return Literal.from_flyte_idl(msg)


def shown(value) -> str:
    """The value's repr, the same on every run: dict keys sorted, flytekit's random download folders named."""
    if isinstance(value, (FlyteFile, FlyteDirectory)):
        return f"{type(value).__name__}({value.remote_source or value.path!r})"
    if value is type_cases.NO_VALUE:
        return "(no value: the LiteralType only)"
    return re.sub(r"/[^\s,]*/local_flytekit/[0-9a-f]+", "<download folder>", pprint.pformat(value, width=1000))


def read_back(ctx, name: str, t) -> dict:
    """What flytekit makes of the golden literal as ``t``: the value, or the error it raises."""
    try:
        value = TypeEngine.to_python_value(ctx, reread(name), t)
    except Exception as exc:  # flytekit refusing a form is a finding, recorded as such
        return {"flytekit_reads": False, "flytekit_error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:400]}
    return {"flytekit_reads": True, "flytekit_value": shown(value), "flytekit_value_type": type(value).__name__}


def attribute_literal(ctx, holder_type, value) -> Literal:
    """The literal of ``holder.v`` as flytekit resolves it locally (the backend does the same remotely)."""
    whole = fresh_to_literal(ctx, holder_type(v=value), holder_type)
    promise = Promise(var="o0", val=whole)
    promise._attr_path = ["v"]  # what `holder.v` on a promise records
    return asyncio.run(resolve_attr_path_in_promise(promise)).val


def write_attribute_cases(ctx, manifest) -> None:
    section = manifest["attribute"] = {}
    for name, t, value in input_forms.attribute_cases(FlyteFile, FlyteDirectory):
        holder = input_forms.holder(name, t)
        file_name = write_pb(f"attribute.{name}.literal", attribute_literal(ctx, holder, value).to_flyte_idl())
        section[name] = {"file": file_name, "python_type": repr(t), "value": shown(value), **read_back(ctx, file_name[:-3], t)}
    by_name = {name: (t, value) for name, t, value in input_forms.attribute_cases(FlyteFile, FlyteDirectory)}
    section = manifest["pydantic_attribute"] = {}
    for name in input_forms.PYDANTIC_ATTRIBUTE_NAMES:
        t, value = by_name[name]
        model = input_forms.pydantic_holder(name, t)
        file_name = write_pb(f"pydantic_attribute.{name}.literal", attribute_literal(ctx, model, value).to_flyte_idl())
        section[name] = {"file": file_name, "python_type": repr(t), "value": shown(value), **read_back(ctx, file_name[:-3], t)}


def write_struct_cases(ctx, manifest) -> None:
    section = manifest["struct"] = {}
    for name, t, document, value in input_forms.struct_cases(FlyteFile, FlyteDirectory):
        lit = literals_pb2.Literal()
        json_format.ParseDict(document, lit.scalar.generic)
        file_name = write_pb(f"struct.{name}.literal", lit)
        section[name] = {"file": file_name, "python_type": repr(t), "value": shown(value), "sent": document, **read_back(ctx, file_name[:-3], t)}


def write_old_format_cases(ctx, manifest) -> None:
    section = manifest["old_format"] = {}
    for name, t, value in input_forms.old_format_cases(FlyteFile):
        os.environ[OLD_ENV] = "true"
        try:
            lit = fresh_to_literal(ctx, value, t)
        finally:
            os.environ.pop(OLD_ENV, None)
        file_name = write_pb(f"old_format.{name}.literal", lit.to_flyte_idl())
        section[name] = {"file": file_name, "python_type": repr(t), "value": shown(value), "env": f"{OLD_ENV}=true", **read_back(ctx, file_name[:-3], t)}


def write_bare_union_cases(ctx, manifest) -> None:
    section = manifest["bare_union"] = {}
    for name, union, variant, value in input_forms.bare_union_cases(FlyteFile):
        lit = fresh_to_literal(ctx, value, variant)
        file_name = write_pb(f"bare_union.{name}.literal", lit.to_flyte_idl())
        section[name] = {"file": file_name, "python_type": repr(union), "variant": repr(variant), "value": shown(value), **read_back(ctx, file_name[:-3], union)}


def write_type_cases(ctx, manifest) -> None:
    """The types of issue 20 items 4-11 and issue 18's dataclass fields (type_cases.py): LiteralType, Literal, read-back."""
    section = manifest["types"] = {}
    from flytekit.types.structured import StructuredDataset

    kit = types.SimpleNamespace(File=FlyteFile, Directory=FlyteDirectory, StructuredDataset=StructuredDataset, kwtypes=flytekit.kwtypes)
    for name, t, value in type_cases.cases(kit):
        entry: dict = {"python_type": repr(t), "value": shown(value)}
        try:
            lt = TypeEngine.to_literal_type(t)
            entry["literal_type_file"] = write_pb(f"types.{name}.literal_type", lt.to_flyte_idl())
        except Exception as exc:
            entry["flytekit_type_error"] = f"{type(exc).__name__}: {exc}"[:400]
            section[name] = entry
            continue
        if value is not type_cases.NO_VALUE:
            try:
                lit = fresh_to_literal(ctx, value, t)
                entry["file"] = write_pb(f"types.{name}.literal", lit.to_flyte_idl())
                entry.update(read_back(ctx, entry["file"][:-3], t))
            except Exception as exc:
                entry["flytekit_write_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:400]
        section[name] = entry


def main() -> int:
    if GOLDEN.exists():
        shutil.rmtree(GOLDEN)
    GOLDEN.mkdir()
    os.environ.pop(OLD_ENV, None)
    work = Path(tempfile.mkdtemp(prefix="flytelite-forms-"))
    (work / "raw").mkdir()
    (work / "sandbox").mkdir()
    manifest: dict = {"flytekit_version": flytekit.__version__, "generator": "tests/interop/generate_input_forms.py"}
    base = FlyteContextManager.current_context()
    access = FileAccessProvider(local_sandbox_dir=str(work / "sandbox"), raw_output_prefix=str(work / "raw"))
    try:
        with FlyteContextManager.with_context(base.with_file_access(access)) as ctx:
            write_attribute_cases(ctx, manifest)
            write_struct_cases(ctx, manifest)
            write_old_format_cases(ctx, manifest)
            write_bare_union_cases(ctx, manifest)
            write_type_cases(ctx, manifest)
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (GOLDEN / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {len(list(GOLDEN.iterdir()))} files to {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
