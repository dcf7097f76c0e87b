"""An async Flyte 2 task of a reusable environment that runs three attempts at once per replica."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import flyte

env = flyte.TaskEnvironment(name="concurrent", reusable=flyte.ReusePolicy(replicas=2, concurrency=3, idle_ttl=60))


@env.task
async def nap(tag: str, milliseconds: int, record_dir: str) -> str:
    """Sleeps without blocking its loop; records its process and time window in ``record_dir/<tag>.json``."""
    start = time.time()
    Path(record_dir, f"{tag}.started").write_text(str(os.getpid()))
    await asyncio.sleep(milliseconds / 1000)
    Path(record_dir, f"{tag}.json").write_text(json.dumps({"pid": os.getpid(), "start": start, "end": time.time()}))
    return f"{tag} slept {milliseconds} ms"



@env.task
async def plus_one(a: int) -> int:
    return a + 1


@env.task
async def nap_and_call(tag: str, a: int, record_dir: str) -> int:
    """Calls :func:`plus_one` (a nested call through its attempt's controller) between two naps; records as :func:`nap` does."""
    start = time.time()
    Path(record_dir, f"{tag}.started").write_text(str(os.getpid()))
    await asyncio.sleep(0.5)
    result = await plus_one.aio(a)
    await asyncio.sleep(0.5)
    Path(record_dir, f"{tag}.json").write_text(json.dumps({"pid": os.getpid(), "start": start, "end": time.time()}))
    return result
