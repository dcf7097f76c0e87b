"""Regenerate the golden files in tests/interop/golden/ with the real flytekit.

Run ONLY under the dedicated flytekit virtual environment (see README.md):

    /work/main/.venv-flytekit/bin/python tests/interop/generate_golden.py

Nothing in the product or in the normal test run imports flytekit; the files
written here are the reference bytes our own type engine is tested against.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import sys
import tempfile
import typing
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
sys.path.insert(0, str(HERE))

import cases  # noqa: E402  (the shared case definitions; standard library only)

import flytekit  # noqa: E402
import flytekit.extras.accelerators  # noqa: E402
from flytekit import task  # noqa: E402
from flytekit.core.context_manager import FlyteContextManager  # noqa: E402
from flytekit.core.data_persistence import FileAccessProvider  # noqa: E402
from flytekit.core.interface import transform_interface_to_typed_interface  # noqa: E402
from flytekit.core.type_engine import TypeEngine  # noqa: E402
from flytekit.types.directory import FlyteDirectory  # noqa: E402
from flytekit.types.file import FlyteFile  # noqa: E402
from flytekit.types.structured import StructuredDataset  # noqa: E402
import pydantic  # noqa: E402
from flytekit.models.literals import Literal  # noqa: E402
from flyteidl.core import literals_pb2  # noqa: E402
from google.protobuf import text_format  # noqa: E402

OLD_ENV = "FLYTE_USE_OLD_DC_FORMAT"


# ---- tasks whose interfaces are recorded (flytekit requires module-level task functions) ----
@task
def add(a: int, b: int = 3) -> int:
    return a + b


@task
def f(x: typing.List[float], name: str) -> typing.Tuple[int, str]:
    return len(x), name


Result = typing.NamedTuple("Result", total=int, label=str)


@task
def nt(x: int) -> Result:
    return Result(total=x, label=str(x))


@task(pickle_untyped=True)
def untyped(a, b: int):
    return a


@task(
    retries=2,
    cache=True,
    cache_version="1",
    cache_serialize=True,
    timeout=datetime.timedelta(minutes=5),
    interruptible=True,
    deprecated="use configured_v2",
    requests=flytekit.Resources(cpu="1", mem="1Gi"),
    limits=flytekit.Resources(mem="2Gi"),
    environment={"MODE": "prod"},
    secret_requests=[flytekit.Secret(group="aws", key="token")],
)
def configured(a: int, b: int = 3) -> int:
    return a + b


@task(
    accelerator=flytekit.extras.accelerators.T4,
    shared_memory="2Gi",
    labels={"team": "ml"},
    annotations={"owner": "ada"},
    cache=flytekit.Cache(version="7", serialize=True, ignored_inputs=("b",)),
    environment={"MODE": "train"},
)
def ml_settings(a: int, b: int) -> int:
    return a + b


def _pod_spec():
    from kubernetes.client import V1Container, V1PodSpec, V1Toleration

    return V1PodSpec(
        containers=[V1Container(name="sidecar", image="busybox:1")],
        node_selector={"gpu": "yes"},
        tolerations=[V1Toleration(key="k", operator="Exists", effect="NoSchedule")],
    )


@task(
    pod_template=flytekit.PodTemplate(primary_container_name="main", labels={"l": "v"}, annotations={"an": "av"}, pod_spec=_pod_spec()),
    accelerator=flytekit.extras.accelerators.A100.partition_1g_5gb,
    shared_memory=True,
    requests=flytekit.Resources(cpu="1", mem="1Gi", gpu="1"),
    environment={"MODE": "train"},
)
def podded(a: int) -> int:
    return a


@dataclasses.dataclass
class Table:
    name: str
    data: StructuredDataset


class TableModel(pydantic.BaseModel):
    name: str
    data: StructuredDataset


@task(
    docs=flytekit.Documentation(
        short_description="Adds one.",
        long_description=flytekit.Description(value="Adds one to a number.", icon_link="https://acme.io/icon.png"),
        source_code=flytekit.SourceCode(link="https://github.com/acme/repo"),
    )
)
def documented(a: int) -> int:
    return a + 1


@task(docs=flytekit.Documentation(short_description="Only short.", source_code=flytekit.SourceCode(link="https://github.com/acme/repo")))
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


def write_task_template(manifest) -> None:
    """The TaskTemplate flytekit registers for `configured`, to compare metadata and container with ours."""
    from collections import OrderedDict

    from flytekit.configuration import Image, ImageConfig, SerializationSettings
    from flytekit.tools.translator import get_serializable

    settings = SerializationSettings(
        image_config=ImageConfig(default_image=Image(name="default", fqn="ghcr.io/acme/img", tag="1")),
        project="p",
        domain="d",
        version="v1",
    )
    manifest["task_templates"] = {}
    for name, tk in (("task_template_configured", configured), ("task_template_ml", ml_settings), ("task_template_pod", podded)):
        spec = get_serializable(OrderedDict(), settings, tk)
        write_pb(GOLDEN / f"{name}.pb", spec.template.to_flyte_idl())
        manifest["task_templates"][name] = {"file": f"{name}.pb", "project": "p", "domain": "d", "version": "v1", "image": "ghcr.io/acme/img:1"}
    manifest["task_docs"] = {}
    for name, tk in (("task_docs_documented", documented), ("task_docs_brief", briefly_documented), ("task_docs_docstring", docstringed)):
        spec = get_serializable(OrderedDict(), settings, tk)
        write_pb(GOLDEN / f"{name}.pb", spec.docs.to_flyte_idl())
        manifest["task_docs"][name] = {"file": f"{name}.pb", "what": "flyteidl.admin.DescriptionEntity: the TaskSpec's docs (not in the TaskTemplate)"}


def write_dataframe(ctx, manifest) -> None:
    """A pandas DataFrame as flytekit writes it: the LiteralType, the Literal and its parquet file."""
    try:
        import pandas as pd
        import pyarrow
    except ImportError:
        print("pandas or pyarrow missing: no dataframe golden files", file=sys.stderr)
        return
    df = pd.DataFrame(cases.DATAFRAME_COLUMNS)
    lt = TypeEngine.to_literal_type(pd.DataFrame)
    lit = fresh_to_literal(ctx, df, pd.DataFrame, lt)
    write_pb(GOLDEN / "dataframe.literal_type.pb", lt.to_flyte_idl())
    write_pb(GOLDEN / "dataframe.literal.pb", lit.to_flyte_idl())
    uri = lit.scalar.structured_dataset.uri
    parts = sorted(os.listdir(uri))
    assert parts == ["00000"], parts
    shutil.copyfile(os.path.join(uri, "00000"), GOLDEN / "dataframe.00000.parquet")
    back = TypeEngine.to_python_value(ctx, reread_literal(GOLDEN / "dataframe.literal.pb"), pd.DataFrame)
    pd.testing.assert_frame_equal(back, df)
    manifest["dataframe"] = {
        "python_type": "pandas.DataFrame",
        "value": "pandas.DataFrame(cases.DATAFRAME_COLUMNS)",
        "files": ["dataframe.literal_type.pb", "dataframe.literal.pb", "dataframe.00000.parquet"],
        "compare": "structure",
        "notes": (
            "the uri is <raw prefix>/<random 32 hex> (a folder); flytekit wrote one parquet file <uri>/00000, "
            "kept here as dataframe.00000.parquet. The LiteralType of a bare DataFrame has no format; the "
            "Literal's metadata says parquet"
        ),
        "versions": {"pandas": pd.__version__, "pyarrow": pyarrow.__version__},
    }


def array_values():
    """The values of cases.ARRAY_CASES, with their flytekit types; equal on every run."""
    import numpy
    import torch

    torch.manual_seed(0)
    return {
        "torch_tensor": (torch.Tensor, torch.arange(12, dtype=torch.float32).reshape(3, 4)),
        "torch_module": (torch.nn.Module, torch.nn.Linear(3, 2)),
        "numpy_array": (numpy.ndarray, numpy.arange(12, dtype=numpy.float32).reshape(3, 4)),
    }


def arrays_equal(name, expected, got) -> bool:
    import numpy
    import torch

    if name == "torch_module":
        return type(got) is type(expected) and all(
            torch.equal(a, b) for a, b in zip(expected.state_dict().values(), got.state_dict().values())
        )
    if name == "torch_tensor":
        return isinstance(got, torch.Tensor) and torch.equal(got, expected)
    return isinstance(got, numpy.ndarray) and numpy.array_equal(got, expected) and got.dtype == expected.dtype


def write_arrays(ctx, manifest, failures) -> None:
    """torch tensors and modules and numpy arrays: LiteralType, Literal, and the blob flytekit wrote."""
    import flytekit.extras.pytorch  # noqa: F401 - registers the PyTorch transformers
    import flytekit.types.numpy  # noqa: F401 - registers the NumpyArray transformer

    for name, (t, value) in array_values().items():
        lt = TypeEngine.to_literal_type(t)
        lit = fresh_to_literal(ctx, value, t, lt)
        write_pb(GOLDEN / f"{name}.literal_type.pb", lt.to_flyte_idl())
        write_pb(GOLDEN / f"{name}.literal.pb", lit.to_flyte_idl())
        shutil.copyfile(lit.scalar.blob.uri, GOLDEN / f"{name}.blob")
        entry = {"python_type": repr(t), "value": cases.ARRAY_CASES[name], "compare": "structure",
                 "files": [f"{name}.literal_type.pb", f"{name}.literal.pb", f"{name}.blob"],
                 "notes": "the blob uri is random under the raw prefix; golden/<name>.blob is the file it named"}
        try:
            back = TypeEngine.to_python_value(ctx, reread_literal(GOLDEN / f"{name}.literal.pb"), t)
            entry["roundtrip_ok"] = arrays_equal(name, value, back)
        except Exception as exc:  # flytekit failing to read its own blob is a finding, recorded as such
            entry["roundtrip_ok"] = False
            entry["roundtrip_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        if not entry["roundtrip_ok"] and name != "torch_module":
            failures.append(f"{name}: flytekit could not read its own literal back")
        manifest["cases"][name] = entry


def write_pydantic_files(ctx, manifest, failures) -> None:
    """A pydantic model with file and folder fields (tests/interop/test_golden.py defines the same model)."""
    import pydantic

    class Report(pydantic.BaseModel):
        name: str
        data: FlyteFile
        folder: FlyteDirectory

    value = Report(name="r", data=FlyteFile("s3://my-bucket/data/report.csv"), folder=FlyteDirectory("s3://my-bucket/data/images"))
    lt = TypeEngine.to_literal_type(Report)
    lit = fresh_to_literal(ctx, value, Report, lt)
    write_pb(GOLDEN / "pydantic_files.literal_type.pb", lt.to_flyte_idl())
    write_pb(GOLDEN / "pydantic_files.literal.pb", lit.to_flyte_idl())
    back = TypeEngine.to_python_value(ctx, reread_literal(GOLDEN / "pydantic_files.literal.pb"), Report)
    ok = back.name == "r" and back.data.remote_source == value.data.path and back.folder.remote_source == value.folder.path
    if not ok:
        failures.append(f"pydantic_files: read back {back!r}")
    manifest["cases"]["pydantic_files"] = {
        "python_type": "Report(name: str, data: FlyteFile, folder: FlyteDirectory)", "value": repr(value),
        "files": ["pydantic_files.literal_type.pb", "pydantic_files.literal.pb"], "compare": "exact", "roundtrip_ok": ok,
    }


def dataset_cases():
    """cases.DATASET_CASES with flytekit's types and values (tests/interop/test_golden.py builds ours)."""
    import pandas as pd
    from flytekit import kwtypes

    frame = pd.DataFrame(cases.DATASET_COLUMNS)
    columns = kwtypes(**{name: cases.DATASET_COLUMN_TYPES[name] for name in cases.DATASET_SUBSET})
    return {
        "sd_columns": (typing.Annotated[StructuredDataset, columns], StructuredDataset(dataframe=frame)),
        "sd_csv": (typing.Annotated[StructuredDataset, "csv"], StructuredDataset(dataframe=frame)),
        "sd_plain": (StructuredDataset, StructuredDataset(dataframe=frame)),
        "dataframe_columns": (typing.Annotated[pd.DataFrame, columns], frame),
        "dataclass_sd": (Table, Table(name="t", data=StructuredDataset(dataframe=frame))),
        "pydantic_sd": (TableModel, TableModel(name="t", data=StructuredDataset(dataframe=frame))),
    }


def write_structured_datasets(ctx, manifest, failures) -> None:
    """StructuredDataset as flytekit users write it: LiteralType, Literal and the file flytekit stored,
    kept as golden/<name>.part (a parquet file `00000` or a CSV file `.csv` under the dataset's uri)."""
    import msgpack
    import pandas as pd

    for name, (t, value) in dataset_cases().items():
        lt = TypeEngine.to_literal_type(t)
        lit = fresh_to_literal(ctx, value, t, lt)
        write_pb(GOLDEN / f"{name}.literal_type.pb", lt.to_flyte_idl())
        write_pb(GOLDEN / f"{name}.literal.pb", lit.to_flyte_idl())
        if lit.scalar.binary is not None:
            uri = msgpack.loads(lit.scalar.binary.value)["data"]["uri"]
        else:
            uri = lit.scalar.structured_dataset.uri
        (part,) = os.listdir(uri)
        shutil.copyfile(os.path.join(uri, part), GOLDEN / f"{name}.part")
        back = TypeEngine.to_python_value(ctx, reread_literal(GOLDEN / f"{name}.literal.pb"), t)
        sd = back if isinstance(back, (StructuredDataset, pd.DataFrame)) else back.data
        frame = sd if isinstance(sd, pd.DataFrame) else sd.open(pd.DataFrame).all()
        expected = pd.DataFrame(cases.DATASET_COLUMNS)
        if name in ("sd_columns", "dataframe_columns"):
            expected = expected[list(cases.DATASET_SUBSET)]
        ok = frame.equals(expected)
        if not ok:
            failures.append(f"{name}: read back {frame!r}")
        manifest["cases"][name] = {
            "python_type": repr(t), "value": "built by dataset_cases() from cases.DATASET_COLUMNS", "compare": "structure",
            "files": [f"{name}.literal_type.pb", f"{name}.literal.pb", f"{name}.part"], "stored_part": part,
            "roundtrip_ok": ok,
            "notes": "the uri is <raw prefix>/<random 32 hex>; golden/<name>.part is the one file flytekit wrote under it",
        }


def sum_hash(values):
    return f"sum-{sum(values)}"


def write_annotated(ctx, manifest) -> None:
    """Annotated[List[int], HashMethod(sum_hash)] (the literal's hash) and Annotated[List[int], BatchSize(2)]."""
    from flytekit import BatchSize, HashMethod

    for name, t in (
        ("hashed_list", typing.Annotated[typing.List[int], HashMethod(sum_hash)]),
        ("batched_list", typing.Annotated[typing.List[int], BatchSize(2)]),
    ):
        lt = TypeEngine.to_literal_type(t)
        lit = fresh_to_literal(ctx, [1, 2, 3], t, lt)
        write_pb(GOLDEN / f"{name}.literal_type.pb", lt.to_flyte_idl())
        write_pb(GOLDEN / f"{name}.literal.pb", lit.to_flyte_idl())
        manifest["cases"][name] = {
            "python_type": repr(t), "value": "[1, 2, 3]", "compare": "exact",
            "files": [f"{name}.literal_type.pb", f"{name}.literal.pb"],
            "notes": "sum_hash(values) = f'sum-{sum(values)}'" if name == "hashed_list" else "BatchSize changes no literal",
        }


def flytekit_type_and_value(python_type, value):
    """Map the flytekit-free sentinels of cases.py onto flytekit types."""
    if python_type is cases.FILE:
        return FlyteFile, FlyteFile(value)
    if python_type is cases.FILE_CSV:
        csv_file = FlyteFile["csv"]
        return csv_file, csv_file(value)
    if python_type is cases.DIRECTORY:
        return FlyteDirectory, FlyteDirectory(value)
    if python_type is cases.PICKLE:
        return type(value), value
    return python_type, value


def strict_equal(a, b) -> bool:
    """== plus identical types all the way down through dicts/lists (1 != 1.0 here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    return a == b


def same_value(name, expected, got) -> bool:
    if isinstance(expected, (FlyteFile, FlyteDirectory)):
        # FlyteFile["csv"] makes a new class at every use: compare by the base class and the format
        base = FlyteFile if isinstance(expected, FlyteFile) else FlyteDirectory
        same_format = getattr(type(got), "extension", lambda: "")() == getattr(type(expected), "extension", lambda: "")()
        return isinstance(got, base) and same_format and (got.remote_source or got.path) == expected.path
    if name == "date":
        # flytekit hands a date back as a date (check both, record what it returns)
        if isinstance(got, datetime.datetime):
            return got.date() == expected
        return got == expected
    return got == expected and type(got) is type(expected)


def fresh_to_literal(ctx, value, t, lt):
    """TypeEngine.to_literal, bypassing flytekit's in-process literal cache.

    flytekit 1.16 memoizes TypeEngine.to_literal in an LRU keyed on (cloudpickle of value, of type)
    and ignores FLYTE_USE_OLD_DC_FORMAT on a cache hit, so clear it before every call.
    """
    cache = getattr(TypeEngine, "_LITERAL_CACHE", None)
    if cache is not None:
        cache.clear()
    return TypeEngine.to_literal(ctx, value, t, lt)


def reread_literal(path: Path) -> Literal:
    """Decode a golden literal from its bytes on disk (reading direction is checked from the file)."""
    msg = literals_pb2.Literal()
    msg.ParseFromString(path.read_bytes())
    return Literal.from_flyte_idl(msg)


def write_pb(path: Path, msg) -> None:
    path.write_bytes(msg.SerializeToString(deterministic=True))
    path.with_suffix(".txt").write_text(text_format.MessageToString(msg, as_utf8=True))


def main() -> int:
    if GOLDEN.exists():
        shutil.rmtree(GOLDEN)
    GOLDEN.mkdir()
    os.environ.pop(OLD_ENV, None)

    work = Path(tempfile.mkdtemp(prefix="flytelite-golden-"))
    raw_prefix = work / "raw"
    raw_prefix.mkdir()
    sandbox = work / "sandbox"
    sandbox.mkdir()

    manifest: dict = {
        "flytekit_version": flytekit.__version__,
        "generator": "tests/interop/generate_golden.py",
        "raw_output_prefix_note": "a temporary local folder; URIs under it are random",
        "cases": {},
        "interfaces": {},
    }
    try:
        import flyteidl

        manifest["flyteidl_version"] = getattr(flyteidl, "__version__", None)
    except Exception:  # pragma: no cover
        pass
    from importlib.metadata import version

    for dist in ("flyteidl", "mashumaro", "msgpack", "protobuf", "pydantic"):
        try:
            manifest.setdefault("versions", {})[dist] = version(dist)
        except Exception:  # pragma: no cover
            pass

    failures = []
    base = FlyteContextManager.current_context()
    fa = FileAccessProvider(local_sandbox_dir=str(sandbox), raw_output_prefix=str(raw_prefix))
    with FlyteContextManager.with_context(base.with_file_access(fa)) as ctx:
        for name, ptype, pvalue in cases.CASES:
            t, v = flytekit_type_and_value(ptype, pvalue)
            entry: dict = {"python_type": repr(ptype), "value": repr(pvalue), "files": []}
            lt = TypeEngine.to_literal_type(t)
            lit = fresh_to_literal(ctx, v, t, lt)
            write_pb(GOLDEN / f"{name}.literal_type.pb", lt.to_flyte_idl())
            write_pb(GOLDEN / f"{name}.literal.pb", lit.to_flyte_idl())
            entry["files"] += [f"{name}.literal_type.pb", f"{name}.literal.pb"]
            entry["compare"] = "structure" if name in cases.RANDOM_URI_CASES else "exact"
            if name in cases.RANDOM_URI_CASES:
                entry["notes"] = (
                    "the blob uri is a freshly generated random path under the (local, temporary) raw "
                    "output prefix (<raw prefix>/<random 32 hex>/<md5 hex of the cloudpickle bytes>); compare "
                    "everything except scalar.blob.uri. The LiteralType metadata python_class_name is "
                    "str(cls), here \"<class 'cases.Opaque'>\": it depends on the module name the class "
                    "was imported under"
                )

            # Reading direction: the golden literal must decode back to the value.
            back = TypeEngine.to_python_value(ctx, reread_literal(GOLDEN / f"{name}.literal.pb"), t)
            ok = same_value(name, v, back)
            entry["roundtrip_ok"] = ok
            entry["roundtrip_strict_equal"] = (
                ok if isinstance(v, (FlyteFile, FlyteDirectory)) else ok and strict_equal(v, back)
            )
            entry["roundtrip_python_type"] = type(back).__name__
            if not ok:
                failures.append(f"{name}: round trip gave {back!r} ({type(back)}), expected {v!r}")

            if name in cases.OLD_FORMAT_CASES:
                os.environ[OLD_ENV] = "true"
                try:
                    old_lt = TypeEngine.to_literal_type(t)
                    old_lit = fresh_to_literal(ctx, v, t, old_lt)
                finally:
                    os.environ.pop(OLD_ENV, None)
                write_pb(GOLDEN / f"{name}.old.literal.pb", old_lit.to_flyte_idl())
                entry["files"].append(f"{name}.old.literal.pb")
                if old_lt.to_flyte_idl() != lt.to_flyte_idl():
                    write_pb(GOLDEN / f"{name}.old.literal_type.pb", old_lt.to_flyte_idl())
                    entry["files"].append(f"{name}.old.literal_type.pb")
                    entry["old_literal_type_differs"] = True
                else:
                    entry["old_literal_type_differs"] = False
                    entry["old_literal_type_note"] = (
                        "flytekit 1.16 keeps the same LiteralType (msgpack annotation included) when "
                        "FLYTE_USE_OLD_DC_FORMAT is set; only the Literal changes to scalar.generic"
                    )
                old_back = TypeEngine.to_python_value(ctx, reread_literal(GOLDEN / f"{name}.old.literal.pb"), t)
                old_ok = same_value(name, v, old_back)
                entry["old_format_readable"] = old_ok
                entry["old_format_readback"] = repr(old_back)
                entry["old_format_readback_strict_equal"] = strict_equal(v, old_back)
                if not strict_equal(v, old_back):
                    entry["old_format_note"] = (
                        "reads back == to the value, but not type-exactly: the old Struct stores every number "
                        "as a double, so ints come back as floats (dataclasses fix ints per field type; "
                        "untyped dicts cannot)"
                    )
                entry["old_format_env"] = f"{OLD_ENV}=true"
                if not old_ok:
                    failures.append(f"{name} (old format): read back {old_back!r}, expected {v!r}")
            manifest["cases"][name] = entry

        # ---- interfaces (tasks are defined at module level: flytekit refuses local tasks) --------
        for iname, tk, sig in (
            ("interface_add", add, "def add(a: int, b: int = 3) -> int"),
            ("interface_tuple", f, "def f(x: list[float], name: str) -> typing.Tuple[int, str]"),
            ("interface_namedtuple", nt, 'def nt(x: int) -> typing.NamedTuple("Result", total=int, label=str)'),
            ("interface_untyped", untyped, "@task(pickle_untyped=True) def untyped(a, b: int)"),
        ):
            ti = transform_interface_to_typed_interface(tk.python_interface)
            idl = ti.to_flyte_idl()
            assert idl == tk.interface.to_flyte_idl(), iname
            write_pb(GOLDEN / f"{iname}.pb", idl)
            manifest["interfaces"][iname] = {
                "signature": sig,
                "file": f"{iname}.pb",
                "inputs": list(ti.inputs),
                "outputs": list(ti.outputs),
                "note": "TypedInterface carries no default values (defaults live in the launch plan's ParameterMap)",
            }

        write_task_template(manifest)
        write_dataframe(ctx, manifest)
        write_arrays(ctx, manifest, failures)
        write_pydantic_files(ctx, manifest, failures)
        write_structured_datasets(ctx, manifest, failures)
        write_annotated(ctx, manifest)

    manifest["note_txt"] = "each .pb has a .txt sibling with its google.protobuf.text_format dump, for humans"
    (GOLDEN / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    shutil.rmtree(work, ignore_errors=True)

    if failures:
        for line in failures:
            print("FAIL:", line, file=sys.stderr)
        return 1
    print(f"wrote {len(list(GOLDEN.iterdir()))} files to {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
