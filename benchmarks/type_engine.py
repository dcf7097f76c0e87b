"""Type-engine benchmark: literal bytes -> Python -> literal bytes, against a plain protobuf loop.

    .venv/bin/python benchmarks/type_engine.py [--repeats 5] [--ints 200000] [--strs 200000] [--rows 20000]

Each case is an input ``LiteralMap`` ``{"xs": <collection>}`` as serialized bytes, timed in two directions:

* decode: the bytes -> ``decode_map_bytes`` -> the Python list (what ``flytelite execute`` runs on inputs.pb)
* encode: the Python list -> ``encode_literals`` -> ``literal_map_bytes`` (what it writes as outputs.pb)

and the full round trip (decode then encode). The baseline is the naive code one would write by hand
with the same protobuf runtime: ``[l.scalar.primitive.integer for l in coll.literals]`` to read and one
``Literal(scalar=Scalar(primitive=Primitive(integer=v)))`` per element to build (for dataclasses:
``Row(**msgpack.unpackb(...))`` and ``msgpack.packb(dataclasses.asdict(row))``). Figures are medians
over ``--repeats`` runs, in ns per element.

Memory: a fresh subprocess that only reads the input bytes and does the 200k-int round trip reports its
peak RSS growth: after imports and a warm-up the kernel's peak mark is reset (``/proc/self/clear_refs``,
VmHWM) and the growth is peak VmHWM minus the VmRSS at that point (``ru_maxrss`` cannot be reset, so an
import-time peak would hide the round trip's). This sees protobuf's upb arenas, which ``tracemalloc`` does not;
the tracemalloc peak (Python objects only) is printed beside it for reference. The list size is
``sys.getsizeof(list) + sum(sys.getsizeof(x) for x in list)``.

Targets: 200k-int round trip < 0.5 s; peak memory growth < 3x the list's size.

``--arrays`` instead times a 100 MiB float32 ``torch.Tensor`` and a 100 MiB ``numpy.ndarray`` round trip
(encode + store + fetch + decode on local storage) in flytelite and in flytekit on the same values, each
side in its own fresh process (``benchmarks/_array_round_trip.py``; flytekit runs under
``--flytekit-python``, default ``.venv-flytekit/bin/python``), sides alternating. Target: flytelite's median
at most flytekit's. Peak RSS growth over the timed runs is reported for both.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

import msgpack
from flyteidl.core import literals_pb2

from flytelite.types import literal_map_bytes
from flytelite.types import decode_map_bytes, encode_literals

Literal = literals_pb2.Literal
LiteralMap = literals_pb2.LiteralMap
LiteralCollection = literals_pb2.LiteralCollection
Scalar = literals_pb2.Scalar
Primitive = literals_pb2.Primitive
Binary = literals_pb2.Binary

ROUND_TRIP_TARGET_S = 0.5
MEMORY_TARGET_RATIO = 3.0


@dataclasses.dataclass
class Row:
    id: int
    score: float
    name: str
    ok: bool


# --- cases ---------------------------------------------------------------------------------------


def int_values(n: int) -> list[int]:
    return [(i * 2654435761) % 4_000_000_007 - 2_000_000_000 for i in range(n)]


def str_values(n: int) -> list[str]:
    return [f"item-{i:07d}" for i in range(n)]


def row_values(n: int) -> list[Row]:
    return [Row(id=i, score=i * 0.5, name=f"row-{i}", ok=i % 3 == 0) for i in range(n)]


def naive_int_decode(data: bytes) -> list[int]:
    m = LiteralMap()
    m.ParseFromString(data)
    return [lit.scalar.primitive.integer for lit in m.literals["xs"].collection.literals]


def naive_int_encode(values: list[int]) -> bytes:
    lits = [Literal(scalar=Scalar(primitive=Primitive(integer=v))) for v in values]
    return LiteralMap(literals={"xs": Literal(collection=LiteralCollection(literals=lits))}).SerializeToString()


def naive_str_decode(data: bytes) -> list[str]:
    m = LiteralMap()
    m.ParseFromString(data)
    return [lit.scalar.primitive.string_value for lit in m.literals["xs"].collection.literals]


def naive_str_encode(values: list[str]) -> bytes:
    lits = [Literal(scalar=Scalar(primitive=Primitive(string_value=v))) for v in values]
    return LiteralMap(literals={"xs": Literal(collection=LiteralCollection(literals=lits))}).SerializeToString()


def naive_row_decode(data: bytes) -> list[Row]:
    m = LiteralMap()
    m.ParseFromString(data)
    return [Row(**msgpack.unpackb(lit.scalar.binary.value)) for lit in m.literals["xs"].collection.literals]


def naive_row_encode(values: list[Row]) -> bytes:
    lits = [
        Literal(scalar=Scalar(binary=Binary(value=msgpack.packb(dataclasses.asdict(v)), tag="msgpack")))
        for v in values
    ]
    return LiteralMap(literals={"xs": Literal(collection=LiteralCollection(literals=lits))}).SerializeToString()


CASES: dict[str, tuple[Any, Callable[[int], list[Any]], Callable[[bytes], list[Any]], Callable[[list[Any]], bytes]]] = {
    "list[int]": (list[int], int_values, naive_int_decode, naive_int_encode),
    "list[str]": (list[str], str_values, naive_str_decode, naive_str_encode),
    "list[Row] (dataclass, 4 fields)": (list[Row], row_values, naive_row_decode, naive_row_encode),
}


def ours_decode(data: bytes, py_type: Any) -> list[Any]:
    return decode_map_bytes(data, {"xs": py_type})["xs"]


def ours_encode(values: list[Any], py_type: Any) -> bytes:
    return literal_map_bytes(encode_literals({"xs": values}, {"xs": py_type}))


# --- timing --------------------------------------------------------------------------------------


def median_ns(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up: codecs built, caches filled
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times)


def time_case(name: str, n: int, repeats: int) -> dict[str, Any]:
    py_type, make, naive_decode, naive_encode = CASES[name]
    values = make(n)
    data = ours_encode(values, py_type)
    # Both sides must agree on the data before their speeds are compared.
    assert ours_decode(data, py_type) == values, f"{name}: round trip changed the values"
    assert naive_decode(data) == values, f"{name}: the baseline reads different values"
    assert LiteralMap.FromString(naive_encode(values)) == LiteralMap.FromString(data), f"{name}: baseline bytes differ"

    decoded = ours_decode(data, py_type)
    result = {
        "case": name,
        "n": n,
        "decode": median_ns(lambda: ours_decode(data, py_type), repeats),
        "encode": median_ns(lambda: ours_encode(decoded, py_type), repeats),
        "round_trip": median_ns(lambda: ours_encode(ours_decode(data, py_type), py_type), repeats),
        "naive_decode": median_ns(lambda: naive_decode(data), repeats),
        "naive_encode": median_ns(lambda: naive_encode(decoded), repeats),
        "naive_round_trip": median_ns(lambda: naive_encode(naive_decode(data)), repeats),
        "bytes": len(data),
    }
    return result


# --- memory (child process) ----------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM), Linux >= 4.0; False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory_child(path: str, mode: str) -> None:
    """Only the round trip: read bytes, decode, encode, serialize; print JSON figures."""
    with open(path, "rb") as f:
        data = f.read()
    ours_encode(ours_decode(ours_encode([1, 0, 2], list[int]), list[int]), list[int])  # warm-up
    gc.collect()
    if mode == "tracemalloc":
        import tracemalloc

        tracemalloc.start()
    # The baseline is the current RSS with the peak mark reset to it, so that import-time peaks do
    # not hide the round trip's; without /proc, fall back to ru_maxrss (which may under-report).
    reset = _reset_peak_rss()
    before = _status_kib("VmRSS") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    values = ours_decode(data, list[int])
    out = ours_encode(values, list[int])

    after = _status_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    traced_peak = tracemalloc.get_traced_memory()[1] if mode == "tracemalloc" else None
    list_size = sys.getsizeof(values) + sum(sys.getsizeof(v) for v in values)
    assert out == data
    print(
        json.dumps(
            {
                "method": "VmHWM reset" if reset else "ru_maxrss",
                "before_rss": before,
                "peak_rss": after,
                "peak_growth": after - before,
                "traced_peak": traced_peak,
                "list_size": list_size,
                "input_bytes": len(data),
                "output_bytes": len(out),
            }
        )
    )


def measure_memory(n: int) -> dict[str, Any]:
    values = int_values(n)
    data = ours_encode(values, list[int])
    with tempfile.NamedTemporaryFile(suffix=".pb", delete=False) as f:
        f.write(data)
    try:
        results = {}
        for mode in ("rss", "tracemalloc"):
            proc = subprocess.run(
                [sys.executable, __file__, "--memory-child", f.name, "--memory-mode", mode],
                capture_output=True,
                text=True,
                check=True,
            )
            results[mode] = json.loads(proc.stdout)
        return results
    finally:
        os.unlink(f.name)


# --- report --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (median reported)")
    parser.add_argument("--ints", type=int, default=200_000)
    parser.add_argument("--strs", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocess")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--memory-mode", default="rss", help=argparse.SUPPRESS)
    parser.add_argument("--arrays", action="store_true", help="the tensor and ndarray round trips against flytekit")
    parser.add_argument("--array-mib", type=int, default=100)
    parser.add_argument("--flytekit-python", default=".venv-flytekit/bin/python")
    args = parser.parse_args()

    if args.arrays:
        compare_arrays(args.array_mib, args.repeats, args.flytekit_python)
        return

    if args.memory_child:
        memory_child(args.memory_child, args.memory_mode)
        return

    print(f"python {sys.version.split()[0]}, protobuf {_protobuf_impl()}, repeats={args.repeats}, load {_load()}")
    sizes = {"list[int]": args.ints, "list[str]": args.strs, "list[Row] (dataclass, 4 fields)": args.rows}
    results = [time_case(name, n, args.repeats) for name, n in sizes.items()]

    header = f"{'case':34} {'n':>7} {'direction':>10} {'flytelite':>11} {'baseline':>11} {'ratio':>6} {'flytelite':>10}"
    print()
    print(header)
    print(f"{'':34} {'':>7} {'':>10} {'ns/elem':>11} {'ns/elem':>11} {'':>6} {'total ms':>10}")
    print("-" * len(header))
    for r in results:
        for direction in ("decode", "encode", "round_trip"):
            ours, naive = r[direction], r[f"naive_{direction}"]
            print(
                f"{r['case']:34} {r['n']:>7} {direction:>10} {ours / r['n']:>11.1f} {naive / r['n']:>11.1f} "
                f"{ours / naive:>6.2f} {ours / 1e6:>10.1f}"
            )
    print("(ratio = flytelite / baseline; below 1 is faster than the plain protobuf loop)")

    ints = results[0]
    round_trip_s = ints["round_trip"] / 1e9
    ok_time = round_trip_s < ROUND_TRIP_TARGET_S
    print()
    print(f"target: {ints['n']} ints round trip < {ROUND_TRIP_TARGET_S} s: {round_trip_s * 1000:.1f} ms -> "
          f"{'MET' if ok_time else 'MISSED'}")

    if not args.no_memory:
        mem = measure_memory(args.ints)
        rss, traced = mem["rss"], mem["tracemalloc"]
        ratio = rss["peak_growth"] / rss["list_size"]
        ok_mem = ratio < MEMORY_TARGET_RATIO
        mib = 1024 * 1024
        print(
            f"memory ({args.ints} ints, fresh process, {rss['method']}): list size {rss['list_size'] / mib:.2f} MiB; "
            f"serialized map {rss['input_bytes'] / mib:.2f} MiB in and out; "
            f"peak RSS growth {rss['peak_growth'] / mib:.2f} MiB; "
            f"tracemalloc peak (Python objects only, misses upb arenas) {traced['traced_peak'] / mib:.2f} MiB"
        )
        verdict = "MET" if ok_mem else "MISSED"
        print(f"target: peak memory < {MEMORY_TARGET_RATIO:.0f}x list size: {ratio:.2f}x -> {verdict}")


def compare_arrays(mib: int, repeats: int, flytekit_python: str) -> None:
    worker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_array_round_trip.py")
    pythons = {"flytelite": sys.executable, "flytekit": flytekit_python}
    print(f"{mib} MiB float32 round trips on local storage, {repeats} per process, load {_load()}")
    print(f"{'value':8} {'side':10} {'median s':>9} {'min s':>7} {'peak RSS growth MiB':>20}")
    verdicts = []
    for kind in ("tensor", "ndarray"):
        results = {}
        for side in ("flytelite", "flytekit", "flytelite", "flytekit"):  # alternating: both see the same load
            out = subprocess.run(
                [pythons[side], worker, side, kind, str(mib), str(repeats)], capture_output=True, text=True, check=True
            ).stdout
            run = json.loads(out.strip().splitlines()[-1])
            entry = results.setdefault(side, {"times": [], "peak": 0})
            entry["times"] += run["times"]
            entry["peak"] = max(entry["peak"], run["peak_growth"])
        for side, entry in results.items():
            print(f"{kind:8} {side:10} {statistics.median(entry['times']):>9.3f} {min(entry['times']):>7.3f} "
                  f"{entry['peak'] / 2**20:>20.1f}")
        ours, theirs = (statistics.median(results[s]["times"]) for s in ("flytelite", "flytekit"))
        verdicts.append(f"{kind}: flytelite {ours:.3f} s vs flytekit {theirs:.3f} s -> {'MET' if ours <= theirs else 'MISSED'}")
    print("target: at least as fast as flytekit;", "; ".join(verdicts))


def _protobuf_impl() -> str:
    from google.protobuf import __version__
    from google.protobuf.internal import api_implementation

    return f"{__version__} ({api_implementation.Type()})"


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


if __name__ == "__main__":
    main()
