"""Tasks that move data through storage: files, folders, pickles, data frames, checkpoints, decks.

Run by tests/storage (cwd is this folder). The data frame tasks are made on first access (module
``__getattr__``) so that the other tasks' runs do not import pandas.
"""

import os
import time

from flytelite import Directory, File, RecoverableException, current_context, task


def _downloads_made() -> bool:
    """Whether anything was downloaded into the attempt's working directory yet."""
    folder = os.path.join(current_context().working_directory, "downloads")
    return os.path.isdir(folder) and bool(os.listdir(folder))


@task
def read_file(f: File) -> str:
    """``<downloaded before reading>|<downloaded after>|<content>``: the input is fetched on os.fspath."""
    before = _downloads_made()
    with open(f) as handle:
        content = handle.read()
    return f"{before}|{_downloads_made()}|{content}"


@task
def stream_file(f: File) -> str:
    """``open()`` of a remote file streams: nothing lands in the downloads folder."""
    with f.open("r") as handle:
        content = handle.read()
    return f"{_downloads_made()}|{content}"


@task
def write_file(name: str, text: str) -> File:
    path = os.path.join(current_context().working_directory, name)
    with open(path, "w") as out:
        out.write(text)
    return File(path)


@task
def write_dir() -> Directory:
    root = os.path.join(current_context().working_directory, "tree")
    for relative, text in TREE.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as out:
            out.write(text)
    return Directory(root)


TREE = {"top.txt": "top", "a/one.txt": "one", "a/b/two.txt": "two", "c/d/e/three.txt": "three"}


@task
def read_dir(d: Directory) -> dict[str, str]:
    before = _downloads_made()
    root = os.fspath(d)
    found = {"<downloaded before>": str(before)}
    for folder, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(folder, name)) as handle:
                found[os.path.relpath(os.path.join(folder, name), root)] = handle.read()
    return found


@task
def passthrough(uri: str) -> File:
    return File(uri)


@task
def passthrough_dir(uri: str) -> Directory:
    return Directory(uri)


class Opaque:
    """No codec handles this class: it travels as a pickle."""

    def __init__(self, payload: dict[str, list[int]]) -> None:
        self.payload = payload


@task
def make_opaque(n: int) -> Opaque:
    return Opaque({"numbers": list(range(n))})


@task
def read_opaque(o: Opaque) -> int:
    return sum(o.payload["numbers"])


@task
def resume(mode: str) -> str:
    """Attempt 1 saves a checkpoint (``bytes``, ``file`` or ``folder``) and fails recoverably; an attempt
    that finds the previous checkpoint reports what it restored."""
    cp = current_context().checkpoint
    if cp is None:
        raise ValueError("no checkpoint: --checkpoint-path was not given")
    if not cp.prev_exists():
        if mode == "bytes":
            cp.write(b"step=7")
        elif mode == "file":
            path = os.path.join(current_context().working_directory, "state.txt")
            with open(path, "w") as out:
                out.write("step=8")
            cp.save(path)
        else:
            root = os.path.join(current_context().working_directory, "ckpt")
            for relative, text in TREE.items():
                os.makedirs(os.path.dirname(os.path.join(root, relative)), exist_ok=True)
                with open(os.path.join(root, relative), "w") as out:
                    out.write(text)
            cp.save(root)
        raise RecoverableException(f"attempt without a previous checkpoint saved a {mode} checkpoint")
    if mode in ("bytes", "file"):
        data = cp.read()
        return f"read:{data.decode()}"
    target = os.path.join(current_context().working_directory, "restored-here")
    restored = cp.restore(target)
    assert restored == target, restored
    files = sorted(
        f"{os.path.relpath(os.path.join(folder, name), restored)}={open(os.path.join(folder, name)).read()}"
        for folder, _, names in os.walk(restored)
        for name in names
    )
    return "restored:" + ",".join(files)


@task(enable_deck=True)
def decked(a: int) -> int:
    return a * 3


@task
def file_after_signal(marker: str, go: str) -> File:
    """Creates ``marker``, waits (at most 60 s) for ``go`` to exist, then returns a local file to upload."""
    with open(marker, "w") as out:
        out.write("started")
    deadline = time.monotonic() + 60
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.05)
    path = os.path.join(current_context().working_directory, "result.txt")
    with open(path, "w") as out:
        out.write("made after the signal")
    return File(path)


@task
def file_and_pickle(n: int) -> tuple[File, Opaque]:
    """Two stored outputs: a local file, then a pickle."""
    path = os.path.join(current_context().working_directory, "first.txt")
    with open(path, "w") as out:
        out.write("first")
    return File(path), Opaque({"numbers": list(range(n))})


def _frame_tasks() -> dict[str, object]:
    import pandas as pd

    @task
    def make_frame(n: int) -> pd.DataFrame:
        return pd.DataFrame({"i": list(range(n)), "s": [f"row{i}" for i in range(n)], "f": [i / 2 for i in range(n)]})

    @task
    def sum_frame(df: pd.DataFrame) -> str:
        return f"{len(df)}|{int(df['i'].sum())}|{','.join(df.columns)}|{','.join(str(t) for t in df.dtypes)}"

    return {"make_frame": make_frame, "sum_frame": sum_frame}


_FRAME_TASKS: dict[str, object] = {}


def __getattr__(name: str) -> object:
    if name in ("make_frame", "sum_frame"):
        if not _FRAME_TASKS:
            _FRAME_TASKS.update(_frame_tasks())
        return _FRAME_TASKS[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@task
def missing_file_output() -> File:
    return File(os.path.join(current_context().working_directory, "never-written.txt"))


@task
def empty_dir_output() -> Directory:
    root = os.path.join(current_context().working_directory, "empty")
    os.makedirs(root)
    return Directory(root)
