"""Tasks run by the serve tests through the daemon's warm workers."""

from __future__ import annotations

import os
import time

from flytelite import Deck, dynamic, task

# Module state persists between the attempts of one worker: the tests count calls with it.
CALLS = {"count": 0}


@task(reusable=True)
def add(a: int, b: int) -> int:
    return a + b


@task(reusable=True)
def count_calls() -> tuple[int, int]:
    CALLS["count"] += 1
    return CALLS["count"], os.getpid()


@task(reusable=True)
def sleepy(seconds: float) -> str:
    time.sleep(seconds)
    return "woke up"


@task(reusable=True)
def crash(code: int) -> int:
    os._exit(code)


@task(reusable=True)
def segfault() -> int:
    import ctypes

    return ctypes.string_at(0)  # type: ignore[return-value]


@task(reusable=True)
def boom(a: int) -> int:
    raise ValueError(f"bad value {a}")


@task(reusable=True)
def env_value(name: str) -> str:
    return os.environ.get(name, "<unset>")


@task(reusable=True)
def set_env_and_chdir() -> str:
    os.environ["LEFT_BEHIND"] = "yes"
    os.chdir("/")
    return os.getcwd()


@task(reusable=True, enable_deck=True)
def with_deck(a: int) -> int:
    Deck("mine", f"<p>value {a}</p>")
    return a * 2


@task(reusable=True)
def leak() -> int:
    raise RuntimeError(f"failed with key {os.environ['AWS_SECRET_ACCESS_KEY']}")


@task(reusable=True)
def working_directory() -> str:
    return os.getcwd()


@task(reusable=True)
def sleep_after_writing_pid(path: str, seconds: float) -> str:
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(seconds)
    return "woke up"


@task(reusable=True)
def fail_without_outputs(a: int) -> None:
    raise ValueError(f"bad value {a}")


@task(reusable=True)
def count_runs(path: str, seconds: float) -> int:
    """Appends a line per run of its body to ``path``: a test counts the runs."""
    with open(path, "a") as f:
        f.write(f"{os.getpid()}\n")
    time.sleep(seconds)
    return 1


@task(reusable=True, sync=True)
def add_sync(a: int, b: int) -> int:
    return a + b


@task(reusable=True, sync=True)
def boom_sync(a: int) -> int:
    raise ValueError(f"bad value {a}")


@task(reusable=True, sync=True)
def crash_sync(code: int) -> int:
    os._exit(code)


@task(reusable=True, sync=True)
def fail_without_outputs_sync(a: int) -> None:
    raise ValueError(f"bad value {a}")


@task(reusable=True)
def square(x: int) -> int:
    return x * x


@dynamic(reusable=True)
def fan_out(n: int) -> list[int]:
    """n nodes of a reusable task: the backend sends each to the daemon as a plain task node."""
    return [square(x=i) for i in range(n)]
