"""The notebook resolver: tasks pickled from an interactive session, checked against the Python version."""

from __future__ import annotations

import collections
import gzip
import pickle
import platform
import subprocess
import sys

from flytelite.types import encode_map

RESOLVER = ["--resolver", "flytelite.resolvers.notebook.default_notebook_task_resolver"]
NOTEBOOK = '''
from flytelite import task
from flytelite.resolvers.notebook import pickle_tasks

@task
def greet(name: str) -> str:
    return "hello " + name

@task
def shout(name: str) -> str:
    return name.upper()

pickle_tasks({"greet": greet, "shout": shout})
'''


def _run(ep, tmp_path, entity: str):
    ep.write_inputs(encode_map({"name": "nb"}, {"name": str}))
    return ep.run(ep.command(None, None, options=RESOLVER, loader_args=["entity-name", entity]), cwd=tmp_path)


def test_tasks_pickled_in_an_interactive_session_run_in_the_container(ep, tmp_path):
    # the session is a `python -` process: its functions live in __main__ and travel by value
    subprocess.run([sys.executable, "-"], input=NOTEBOOK, text=True, cwd=tmp_path, check=True)
    result = _run(ep, tmp_path, "greet")
    assert result.outputs().literals["o0"].scalar.primitive.string_value == "hello nb"


def test_an_unknown_entity_lists_the_names_present(ep, tmp_path):
    subprocess.run([sys.executable, "-"], input=NOTEBOOK, text=True, cwd=tmp_path, check=True)
    error = _run(ep, tmp_path, "whisper").error()
    assert "no entity 'whisper'" in error.message and "greet, shout" in error.message and error.origin == 1


def _other_python_pickle(version: str) -> bytes:
    # The entity refers to a module this interpreter does not have (same length as "collections",
    # so the pickle stays well-formed): unpickling would fail, so only a check made before
    # unpickling can produce the version message.
    entities = {"greet": collections.OrderedDict(a=1)}
    data = pickle.dumps({"metadata": {"python_version": version}, "entities": entities})
    return gzip.compress(data.replace(b"collections", b"nomodule_xx"))


def test_a_pickle_of_another_python_version_fails_before_unpickling_naming_both(ep, tmp_path):
    other = "3.99.1" if not platform.python_version().startswith("3.99") else "3.98.0"
    (tmp_path / "pkl.gz").write_bytes(_other_python_pickle(other))
    error = _run(ep, tmp_path, "greet").error()
    assert f"written by Python {other}" in error.message and platform.python_version() in error.message
    assert "nomodule_xx" not in error.message
    assert error.origin == 1 and error.kind == 0


def test_a_corrupt_pickle_says_so(ep, tmp_path):
    (tmp_path / "pkl.gz").write_bytes(b"definitely not gzip")
    error = _run(ep, tmp_path, "greet").error()
    assert "pkl.gz is not a gzip'd pickle" in error.message


def test_a_missing_pickle_names_the_folder(ep, tmp_path):
    error = _run(ep, tmp_path, "greet").error()
    assert f"no notebook pickle at {tmp_path}/pkl.gz" in error.message
