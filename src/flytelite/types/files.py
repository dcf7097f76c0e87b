"""``File`` and ``Directory``: path-like values that travel as Flyte blobs.

As inputs they point at a URI and download lazily, on ``download()``, ``os.fspath`` or ``open()``
(``open()`` of a remote file streams without a full download). As outputs a local file or folder is
uploaded under the raw output prefix (``<raw>/<random hex>/<name>``), or to ``remote_path`` when one
is given (``remote_path=False``: not uploaded, its path travels as it is, as in flytekit); a remote
URI passes through without copying.
"""

from __future__ import annotations

import functools
import os
import pathlib
import secrets
from typing import IO, Any, Iterator

from flyteidl.core import literals_pb2, types_pb2

from .. import io
from ._base import Codec, blob_paths, describe_literal, pydantic_style, self_converting_schema

SINGLE = types_pb2.BlobType.BlobDimensionality.SINGLE
MULTIPART = types_pb2.BlobType.BlobDimensionality.MULTIPART


def _random_prefix() -> str:
    return io.join(blob_paths().raw_prefix, secrets.token_hex(16))


def _local_download_path(uri: str) -> str:
    name = os.path.basename(uri.rstrip("/")) or "data"
    return os.path.join(blob_paths().scratch_dir, "downloads", secrets.token_hex(8), name)


class _PathValue(os.PathLike):
    """Shared behaviour of files and folders: a URI, and a local copy made on demand."""

    file_format = ""

    def __class_getitem__(cls, file_format: str) -> Any:
        """``File["csv"]``, ``Directory["csv"]``: a subclass whose blob type names the format."""
        return _with_format(cls, file_format.strip().lstrip("~").lstrip("."))

    def __init__(self, path: str | os.PathLike[str], remote_path: str | bool | None = None) -> None:
        self.path = os.fspath(path)
        self.remote_path = remote_path
        self._local: str | None = None if io.is_remote(self.path) else io.to_local_path(self.path)
        self._source: str | None = None  # the URI it was read from: it travels on as it is

    @classmethod
    def from_source(cls, source: str | os.PathLike[str]) -> Any:
        """A value read from ``source`` (as a task input is): returned as an output, it is not copied."""
        value = cls(source)
        value._source = value.path
        return value

    @property
    def remote(self) -> bool:
        return io.is_remote(self.path)

    @property
    def remote_source(self) -> str | None:
        """The URI this value was read from (a task input's), as flytekit's ``remote_source``; else ``None``."""
        return self._source

    @property
    def downloaded(self) -> bool:
        """Whether a local copy exists (a local path always has one)."""
        return self._local is not None

    @classmethod
    def extension(cls) -> str:
        """The declared format (``File["csv"].extension() == "csv"``), as flytekit's."""
        return cls.file_format

    def download(self) -> str:
        """The local path, downloading first when the value lives in remote storage."""
        if self._local is None:
            self._local = self._fetch(_local_download_path(self.path))
        return self._local

    def _fetch(self, local_path: str) -> str:
        raise NotImplementedError

    def _upload(self, target: str) -> None:
        raise NotImplementedError

    def __fspath__(self) -> str:
        return self.download()

    def __flytelite_path__(self) -> str:
        """The URI this value travels as, uploading a local one (to ``remote_path`` or under the raw output prefix)."""
        if self.remote or self.remote_path is False or self._source == self.path:
            return self.path
        target = self.remote_path if isinstance(self.remote_path, str) else self._random_target()
        self._upload(target)
        return target

    def _random_target(self) -> str:
        return io.join(_random_prefix(), os.path.basename(os.path.abspath(self.path)))

    # --- as a dataclass or pydantic field: {"path": uri}, as flytekit writes FlyteFile fields ---

    def __flytelite_to_builtin__(self) -> dict[str, str]:
        return {"path": self.__flytelite_path__()}

    @classmethod
    def __flytelite_from_builtin__(cls, data: Any) -> Any:
        return cls._from_pydantic(data)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        return self_converting_schema(cls._from_pydantic, cls._schema_title() + (f"_{cls.file_format}" if cls.file_format else ""))

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> dict[str, Any]:
        return pydantic_style(cls.__flytelite_json_schema__())

    @classmethod
    def __flytelite_json_schema__(cls) -> dict[str, Any]:
        """The JSON schema flytekit 1.16 writes for a FlyteFile / FlyteDirectory field of a dataclass."""
        optional_path = {"default": None, "anyOf": [{"type": "string"}, {"type": "string", "format": "path"}]}
        properties: dict[str, Any] = {"path": optional_path}
        if issubclass(cls, File):
            text_map = {"type": "object", "additionalProperties": {"type": "string"}, "propertyNames": {"type": "string"}}
            properties = {"metadata": {"default": None, "anyOf": [text_map, {"type": "null"}]}, **properties}
        return {"type": "object", "title": cls._schema_title(), "properties": properties, "additionalProperties": False}

    @classmethod
    def _schema_title(cls) -> str:
        return "FlyteFile" if issubclass(cls, File) else "FlyteDirectory"

    @classmethod
    def _from_pydantic(cls, value: Any) -> Any:
        if isinstance(value, cls):
            return value
        if isinstance(value, dict) and isinstance(value.get("path"), str):
            return cls(value["path"])
        if isinstance(value, (str, os.PathLike)):
            return cls(value)
        raise ValueError(f"expected a {cls.__name__}, a path or {{'path': uri}}, got {type(value).__name__}")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.path == self.path  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self.path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"

    def __str__(self) -> str:
        return self.path


class File(_PathValue):
    """A single file, local or remote: ``File("/tmp/report.csv")``, ``File("s3://bucket/key")``.

    ``File["csv"]`` is a file of a declared format, as flytekit's ``FlyteFile["csv"]``: the format is
    written into the blob's type, and a plain ``File`` is accepted where a ``File["csv"]`` is declared
    (``Directory["csv"]`` likewise).
    """

    def _fetch(self, local_path: str) -> str:
        return io.get_file(self.path, local_path)

    def _upload(self, target: str) -> None:
        io.put_file(self._local or self.path, target)

    @classmethod
    def new_remote_file(cls, name: str | None = None) -> File:
        """A new file under the raw output prefix, to write with ``open("w")`` and return (flytekit's ``new_remote_file``)."""
        return cls(io.join(_random_prefix(), name or secrets.token_hex(8)))

    def open(self, mode: str = "rb", **kwargs: Any) -> IO[Any]:
        """Open for reading (remote files stream) or writing (a remote file is uploaded when closed)."""
        if self.remote and mode in ("rb", "r"):
            stream = io.open_read(self.path)
            if mode == "r":
                import io as std_io

                return std_io.TextIOWrapper(stream, **kwargs)
            return stream
        if mode[0] in "wx":
            if self.remote:
                return _upload_on_close(self.path, _local_download_path(self.path), mode, **kwargs)
            os.makedirs(os.path.dirname(os.path.abspath(self.download())), exist_ok=True)  # a new file's folder
        return open(self.download(), mode, **kwargs)


def _upload_on_close(uri: str, local_path: str, mode: str, **kwargs: Any) -> IO[Any]:
    os.makedirs(os.path.dirname(local_path), exist_ok=True)
    handle = open(local_path, mode, **kwargs)
    close = handle.close

    def close_and_upload() -> None:
        if handle.closed:
            return
        close()
        io.put_file(local_path, uri)

    handle.close = close_and_upload  # type: ignore[method-assign]
    return handle


@functools.lru_cache(maxsize=None)
def _with_format(cls: type[_PathValue], file_format: str) -> type[_PathValue]:
    if not file_format:
        return cls
    return type(f"{cls.__name__}[{file_format}]", (cls,), {"file_format": file_format, "__module__": cls.__module__})


class Directory(_PathValue):
    """A folder, local or remote: ``Directory("/tmp/images")``, ``Directory("s3://bucket/prefix")``."""

    def _fetch(self, local_path: str) -> str:
        # An object store keeps no empty folders: an empty folder uploaded as an output comes back
        # as a prefix with nothing under it, which reads as an empty folder (as in flytekit).
        if self.remote and not io.exists(self.path):
            os.makedirs(local_path, exist_ok=True)
            return local_path
        return io.get_dir(self.path, local_path)

    def _upload(self, target: str) -> None:
        io.put_dir(self._local or self.path, target)

    def _random_target(self) -> str:
        return _random_prefix()

    def new_file(self, name: str | None = None) -> File:
        """A file inside this folder (a random name when none is given), as flytekit's ``new_file``."""
        return File(io.join(self.path, name or secrets.token_hex(8)))

    def new_dir(self, name: str | None = None) -> Directory:
        """A folder inside this folder (a random name when none is given), as flytekit's ``new_dir``."""
        return Directory(io.join(self.path, name or secrets.token_hex(8)))

    def __truediv__(self, other: str | os.PathLike[str]) -> pathlib.Path:
        """``folder / "name"``: a path inside this folder's path, as flytekit's (no download)."""
        return pathlib.Path(self.path) / other

    def crawl(self, maxdepth: int | None = None, topdown: bool = True) -> Iterator[tuple[str, str]]:
        """``(folder, relative path)`` of every file inside, as flytekit's ``crawl``.

        A remote folder is downloaded first (flytelite's storage layer lists nothing on its own)."""
        root = self.download()
        for base, _folders, names in os.walk(root, topdown=topdown):
            relative_base = os.path.relpath(base, root)
            depth = 0 if relative_base == "." else relative_base.count(os.sep) + 1
            if maxdepth is not None and depth >= maxdepth:
                continue
            for name in sorted(names):
                yield self.path, os.path.normpath(os.path.join(relative_base, name))


class _BlobCodec(Codec):
    dimensionality: int
    what: str

    def __init__(self, py_type: type) -> None:
        self.py_type = py_type
        self.file_format = getattr(py_type, "file_format", "")
        self.literal_type = types_pb2.LiteralType(blob=types_pb2.BlobType(format=self.file_format, dimensionality=self.dimensionality))

    def coerce(self, value: Any) -> Any:
        """``value`` as the declared class: a path, or a File where a File["csv"] is declared, is taken."""
        if isinstance(value, (str, os.PathLike)) and not isinstance(value, _PathValue):
            value = self.py_type(value)
        elif type(value) in self.py_type.__mro__[1:]:
            value = self.py_type(value.path)
        if not isinstance(value, self.py_type):
            raise self.mismatch(f"{type(value).__name__} {value!r}")
        return value

    def encode(self, value: Any, lit: literals_pb2.Literal) -> None:
        value = self.coerce(value)
        if not value.remote and not self.local_exists(value.download()):
            # the task's fault, said before any upload is tried (flytekit refuses it too)
            raise self.mismatch(f"{value!r}: no {self.what} exists at {os.path.abspath(value.download())}")
        blob = lit.scalar.blob
        blob.metadata.type.format = self.file_format
        blob.metadata.type.dimensionality = self.dimensionality
        blob.uri = value.__flytelite_path__()

    def decode(self, lit: literals_pb2.Literal) -> Any:
        scalar = lit.scalar
        if scalar.WhichOneof("value") != "blob":
            return self.decode_other(lit)
        if scalar.blob.metadata.type.dimensionality != self.dimensionality:
            raise self.mismatch(describe_literal(lit))
        return self.py_type.from_source(scalar.blob.uri)

    reads_struct = True  # FlyteConsole sends {"path": uri}

    def to_builtin(self, value: Any) -> Any:
        return self.coerce(value).__flytelite_to_builtin__()

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        try:
            return self.py_type.__flytelite_from_builtin__(data)
        except ValueError as exc:
            raise self.mismatch(str(exc)) from None


# flytekit's names, so that ported code needs no rename.
FlyteFile = File
FlyteDirectory = Directory
CSVFile = File["csv"]
HDF5EncodedFile = File["hdf5"]
HTMLPage = File["html"]
JPEGImageFile = File["jpeg"]
JSONLFile = File["jsonl"]
JoblibSerializedFile = File["joblib"]
ONNXFile = File["onnx"]
PDFFile = File["pdf"]
PNGImageFile = File["png"]
PythonNotebook = File["ipynb"]
PythonPickledFile = File["python_pickle"]
SVGImageFile = File["svg"]
TFRecordFile = File["tfrecord"]


class FileCodec(_BlobCodec):
    dimensionality = SINGLE
    union_tag = "FlyteFilePath"
    what = "file"
    local_exists = staticmethod(os.path.isfile)


class DirectoryCodec(_BlobCodec):
    dimensionality = MULTIPART
    union_tag = "FlyteDirectory"
    what = "folder"
    local_exists = staticmethod(os.path.isdir)
