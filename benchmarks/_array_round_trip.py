"""One side of the array benchmark in ``type_engine.py --arrays``: run in its own process and virtual env.

    python benchmarks/_array_round_trip.py flytelite|flytekit tensor|ndarray MIB REPEATS

Round trip = encode (save + store under a local raw prefix) + decode (fetch + load), the value checked
equal after each. Prints one JSON line: the times of each repeat, and the peak RSS growth over the timed
runs (VmHWM reset after the value is built and one warm-up round trip). flytekit's in-process literal
cache is cleared before every encode, as in tests/interop/generate_golden.py, so each run really writes.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from typing import Any, Callable


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _value(kind: str, mib: int) -> tuple[Any, Any, Callable[[Any, Any], bool]]:
    count = mib * 1024 * 1024 // 4
    if kind == "tensor":
        import torch

        return torch.Tensor, torch.arange(count, dtype=torch.float32), torch.equal
    import numpy

    return numpy.ndarray, numpy.arange(count, dtype=numpy.float32), numpy.array_equal


def _flytelite_round_trip(folder: str) -> Callable[[Any, Any], Any]:
    from flytelite.types import BlobPaths, to_literal, to_python

    paths = BlobPaths(os.path.join(folder, "raw"), folder)
    return lambda value, py_type: to_python(to_literal(value, py_type, paths), py_type, paths)


def _flytekit_round_trip(folder: str) -> Callable[[Any, Any], Any]:
    import flytekit.extras.pytorch  # noqa: F401 - registers the torch transformers
    import flytekit.types.numpy  # noqa: F401
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.data_persistence import FileAccessProvider
    from flytekit.core.type_engine import TypeEngine

    access = FileAccessProvider(local_sandbox_dir=os.path.join(folder, "sandbox"), raw_output_prefix=os.path.join(folder, "raw"))
    ctx = FlyteContextManager.current_context().with_file_access(access).build()

    def round_trip(value: Any, py_type: Any) -> Any:
        cache = getattr(TypeEngine, "_LITERAL_CACHE", None)
        if cache is not None:
            cache.clear()
        lit = TypeEngine.to_literal(ctx, value, py_type, TypeEngine.to_literal_type(py_type))
        return TypeEngine.to_python_value(ctx, lit, py_type)

    return round_trip


def main() -> None:
    side, kind, mib, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    py_type, value, equal = _value(kind, mib)
    folder = tempfile.mkdtemp(prefix=f"bench-{side}-")
    round_trip = (_flytelite_round_trip if side == "flytelite" else _flytekit_round_trip)(folder)
    assert equal(round_trip(value, py_type), value)  # warm-up: imports, first file-system calls
    shutil.rmtree(os.path.join(folder, "raw"), ignore_errors=True)
    _reset_peak()
    base = _status_kib("VmRSS")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        back = round_trip(value, py_type)
        times.append(time.perf_counter() - start)
        assert equal(back, value)
        del back
        shutil.rmtree(os.path.join(folder, "raw"), ignore_errors=True)
    peak_growth = _status_kib("VmHWM") - base
    shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({"side": side, "kind": kind, "times": times, "peak_growth": peak_growth}))


if __name__ == "__main__":
    main()
