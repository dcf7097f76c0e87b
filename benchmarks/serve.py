"""``flytelite serve`` against cold ``flytelite execute``, on the same trivial task, in one run.

  sequential  1,000 tasks one after another through flyteidl's agent stubs (CreateTask, then GetTask
              until done), as a backend would; p50 and p99 per task
  concurrent  the same task from several client processes at once: tasks per second
  cold        ``python -m flytelite execute`` of the same task, one process per attempt (median)
  memory      the idle daemon: RSS and PSS of the server, the fork server and the workers
  paths       create to "the backend knows the outputs", through the backend-faithful client
              (tests/entrypoint/serve/backend.py): the asynchronous path (CreateTask, a GetTask at
              once as the backend's cache does on create, then one every resync interval) against the
              synchronous one (ExecuteTaskSync, a task type ListAgents marks is_sync)
  --soak      20,000 attempts from 4 client processes, 2 workers: every one must succeed; RSS of
              the daemon and its workers after warm-up and at the end

Targets (issue 15): p50 <= 5 ms, >= 300 tasks/s with 2 workers, >= 15x faster per task than a cold
execute. Outputs live on local storage; source files are byte-compiled first, as in an image.

    python benchmarks/serve.py [--tasks 1000] [--workers 2] [--clients 4] [--cold-runs 20] [--resync 5]
    python benchmarks/serve.py --soak [--soak-attempts 20000]
    python benchmarks/serve.py --fast [--versions 10] | --fan-out 1000 [--cold-sample 50]

``--fast`` measures fast-registered code instead (issue 21): the p50 of a warm attempt of one code
version, and the first attempt of each of ``--versions`` new versions (fetch, unpack, a worker started
for it), beside a cold ``flytelite fast-execute`` pod of the same template.

``--fan-out N`` measures a ``@dynamic(reusable=True)`` fanning out to N nodes of a trivial reusable
task, run as the backend runs it: the parent through the daemon, then the N nodes as N CreateTasks
(each with its node's inputs and output prefix), created at once and polled to the end. Against it, the
same work cold: the parent's ``execute`` and one cold ``execute`` per node, two at a time (the same two
cores the two workers get); the cold side is measured on ``--cold-sample`` nodes and scaled to N.
CPU is the user+system time of every process involved (the daemon's whole tree; each cold process).
"""

from __future__ import annotations

import argparse
import compileall
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "entrypoint" / "serve"))

from agent_client import TASK_DIR, AgentClient, Daemon, create_request, execution_metadata, int_inputs, render, task_template  # noqa: E402
from backend import Balancer, TaskRun, agent_registry  # noqa: E402


def run_tasks(port: int, work: str, first: int, count: int, poll: float) -> list[float]:
    """Per-task seconds of ``count`` sequential add tasks, each with its own output prefix."""
    client = AgentClient(port)
    seconds = []
    for index in range(first, first + count):
        request = client.create_request("add", f"{work}/t{index}", int_inputs(a=index, b=1))
        started = time.perf_counter()
        resource = client.wait(client.create(request), poll=poll)
        seconds.append(time.perf_counter() - started)
        if resource.phase != 3:  # SUCCEEDED
            raise RuntimeError(f"task {index} ended {resource.phase}: {resource.message}")
    client.close()
    return seconds


def _client_process(args: tuple[int, str, int, int, float]) -> list[float]:
    return run_tasks(*args)


def throughput(port: int, work: str, clients: int, tasks: int, poll: float, first: int = 100_000) -> float:
    """Tasks per second from ``clients`` processes, each task with its own output prefix (numbered from ``first``)."""
    per_client = tasks // clients
    jobs = [(port, work, first + n * per_client, per_client, poll) for n in range(clients)]
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        pool.map(_client_process, [(port, work, 0, 1, poll)] * clients)  # start-up and connection, untimed
        started = time.perf_counter()
        pool.map(_client_process, jobs)
        elapsed = time.perf_counter() - started
    return per_client * clients / elapsed


def cold_execute(work: str, env: dict[str, str], runs: int) -> float:
    inputs = Path(work) / "cold-inputs.pb"
    inputs.write_bytes(int_inputs(a=2, b=40).SerializeToString())
    command = [sys.executable, "-m", "flytelite", "execute", "--inputs", str(inputs), "--raw-output-data-prefix", f"{work}/cold-raw"]
    seconds = []
    for index in range(runs):
        argv = [*command, "--output-prefix", f"{work}/cold{index}", "--", "task-module", "serve_tasks", "task-name", "add"]
        started = time.perf_counter()
        subprocess.run(argv, cwd=TASK_DIR, env=env, check=True)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def process_tree(pid: int, depth: int = 0) -> list[tuple[int, int]]:
    """(pid, depth) of a process and all its descendants."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [(pid, depth), *(p for child in children for p in process_tree(int(child), depth + 1))]


def memory_kib(pid: int, depth: int) -> tuple[str, int, int]:
    """(what the process is, RSS, PSS) of one process of the daemon, sizes in KiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
    command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    role = "resource tracker" if "resource_tracker" in command else ("server", "fork server", "worker")[min(depth, 2)]
    return role, int(fields["Rss"].split()[0]), int(fields["Pss"].split()[0])


def create_to_known(port: int, work: str, name: str, runs: int, resync: float) -> tuple[float, int]:
    """Median seconds from the create to a terminal answer the backend has judged, and how many runs needed no resync."""
    balancer = Balancer([port])
    registry = agent_registry(balancer.channel())
    seconds, at_once = [], 0
    for index in range(runs):
        run = TaskRun(balancer, registry, create_request(name, f"{work}/{name}-{index}", int_inputs(a=index, b=1)))
        started = time.perf_counter()
        observed, rounds = run.step(), 0
        while observed is None:  # the cache syncs an item once when it is created, then every resync interval
            if rounds:
                time.sleep(resync)
            observed, rounds = run.step(), rounds + 1
        seconds.append(time.perf_counter() - started)
        at_once += rounds <= 1
        if observed.outcome != "SUCCEEDED":
            raise RuntimeError(f"{name} {index} ended {observed}")
    balancer.close()
    return statistics.median(seconds), at_once


def daemon_rss_kib(pid: int) -> int:
    return sum(memory_kib(p, depth)[1] for p, depth in process_tree(pid) if "resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace"))


def soak(options: argparse.Namespace, env: dict[str, str]) -> None:
    """``--soak``: many attempts through one daemon; none lost, memory flat after warm-up."""
    with tempfile.TemporaryDirectory(prefix="flytelite-serve-soak-") as work, tempfile.TemporaryDirectory(dir=options.scratch) as scratch:
        env["TMPDIR"] = scratch
        daemon = Daemon(["--workers", str(options.workers), "--preload", "serve_tasks"], {**env, "FLYTELITE_LOG_LEVEL": "info"})
        try:
            warm = options.soak_attempts // 10
            throughput(daemon.port, work, options.clients, warm, options.poll)
            time.sleep(1)
            after_warm_up = daemon_rss_kib(daemon.process.pid)
            started = time.perf_counter()
            rate = throughput(daemon.port, work, options.clients, options.soak_attempts, options.poll, first=10_000_000)  # raises on any failure
            elapsed = time.perf_counter() - started
            time.sleep(1)
            at_end = daemon_rss_kib(daemon.process.pid)
        finally:
            daemon.stop()
    print(f"soak: {options.soak_attempts} attempts (+{warm} warm-up), {options.workers} workers, {options.clients} client processes: all succeeded, {elapsed:.0f} s, {rate:.0f} tasks/s")
    print(f"RSS of the daemon and its workers: {after_warm_up / 1024:.1f} MiB after warm-up, {at_end / 1024:.1f} MiB at the end: {(at_end - after_warm_up) / 1024:+.1f} MiB")


def cpu_seconds(pids: list[int]) -> float:
    """User + system seconds of processes (and of their children they waited for)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return total / ticks


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def wait_all(client: AgentClient, resource_metas: list[bytes], poll: float) -> None:
    """Poll every attempt until it is done, as the backend's cache loop does; each must succeed."""
    pending = list(resource_metas)
    while pending:
        still = []
        for resource_meta in pending:
            resource = client.get(resource_meta)
            if resource.phase == 3:
                continue
            if resource.phase in (4, 5, 8):  # ABORTED, FAILED, RETRYABLE_FAILED
                raise RuntimeError(f"an attempt ended {resource.phase}: {resource.message}")
            still.append(resource_meta)
        pending = still
        if pending:
            time.sleep(poll)


def node_requests(spec_bytes: bytes, parent_prefix: str) -> list:
    """The CreateTask the backend sends for each node of a dynamic spec whose bindings are constants."""
    from flyteidl.admin import agent_pb2
    from flyteidl.core import dynamic_job_pb2, literals_pb2

    spec = dynamic_job_pb2.DynamicJobSpec.FromString(spec_bytes)
    templates = {template.id.SerializeToString(): template for template in spec.tasks}
    requests = []
    for node in spec.nodes:
        template = templates[node.task_node.reference_id.SerializeToString()]
        inputs = literals_pb2.LiteralMap()
        for item in node.inputs:
            inputs.literals[item.var].scalar.CopyFrom(item.binding.scalar)
        prefix = f"{parent_prefix}/{node.id}/0"
        requests.append(
            agent_pb2.CreateTaskRequest(
                inputs=inputs, template=render(template, prefix, f"{prefix}-raw", f"{prefix}/inputs.pb"), output_prefix=prefix,
                task_execution_metadata=execution_metadata(task=template.id.name),
            )
        )  # fmt: skip
    return requests


def request_environ(request) -> dict[str, str]:
    """The variables a pod of this request would get from the backend."""
    from flytelite.entrypoint.serve.request import identity_environ

    return {**{env.key: env.value for env in request.template.container.env}, **identity_environ(request.task_execution_metadata.task_execution_id)}


def cold_command(request, work: str, name: str) -> list[str]:
    """The request's container args as a pod runs them, with its own inputs file and prefix."""
    inputs = Path(work) / f"{name}-inputs.pb"
    inputs.write_bytes(request.inputs.SerializeToString())
    values = {request.output_prefix: f"{work}/{name}", f"{request.output_prefix}/inputs.pb": str(inputs), f"{request.output_prefix}-raw": f"{work}/{name}-raw"}
    args = [values.get(arg, arg) for arg in request.template.container.args]
    return [sys.executable, "-m", "flytelite", *args[1:]]


def run_cold(commands: list[list[str]], env: dict[str, str], lanes: int) -> tuple[float, float]:
    """Wall seconds and CPU seconds of ``commands``, at most ``lanes`` at a time."""
    started, cpu, running = time.perf_counter(), 0.0, []
    queue_ = list(commands)
    while queue_ or running:
        while queue_ and len(running) < lanes:
            running.append(subprocess.Popen(queue_.pop(0), cwd=TASK_DIR, env=env))
        pid, status, usage = os.wait4(-1, 0)
        if status != 0:
            raise RuntimeError(f"a cold run exited {status}")
        running = [proc for proc in running if proc.pid != pid]
        cpu += usage.ru_utime + usage.ru_stime
    return time.perf_counter() - started, cpu


def fan_out_benchmark(env: dict[str, str], work: str, nodes: int, workers: int, cold_sample: int, poll: float) -> None:
    daemon = Daemon(["--workers", str(workers), "--preload", "serve_tasks"], {**env, "FLYTELITE_LOG_LEVEL": "info"})  # info: it reports its port
    try:
        client = AgentClient(daemon.port)
        run_tasks(daemon.port, work, 0, 20, poll)  # warm-up: connections, the workers' first attempt
        tree = [pid for pid, _ in process_tree(daemon.process.pid)]
        cpu_before, client_before, started = cpu_seconds(tree), _own_cpu(), time.perf_counter()
        parent = client.create_request("fan_out", f"{work}/parent", int_inputs(n=nodes))
        wait_all(client, [client.create(parent)], poll)
        spec_bytes = Path(f"{work}/parent/futures.pb").read_bytes()
        requests = node_requests(spec_bytes, f"{work}/parent")
        wait_all(client, [client.create(request) for request in requests], poll)
        warm_wall, warm_cpu, client_cpu = time.perf_counter() - started, cpu_seconds(tree) - cpu_before, _own_cpu() - client_before
        client.close()
    finally:
        daemon.stop()
    cold_env = {**env, **request_environ(parent)}
    parent_wall, parent_cpu = run_cold([cold_command(parent, work, "cold-parent")], cold_env, 1)
    sample = requests[:cold_sample]
    commands = [cold_command(request, work, f"cold-node{index}") for index, request in enumerate(sample)]
    sample_wall, sample_cpu = run_cold(commands, {**env, **request_environ(sample[0])}, workers)
    scale = nodes / len(sample)
    cold_wall, cold_cpu = parent_wall + sample_wall * scale, parent_cpu + sample_cpu * scale
    print(
        f"@dynamic fan-out to {nodes} nodes through the daemon ({workers} workers): wall {warm_wall:.2f} s, CPU {warm_cpu:.2f} s "
        f"(daemon's processes; the client playing the backend used {client_cpu:.2f} s more, on the same cores)"
    )
    print(
        f"same work cold: parent {parent_wall:.2f} s wall / {parent_cpu:.2f} s CPU, {len(sample)} node executes {workers} at a time "
        f"{sample_wall:.2f} s / {sample_cpu:.2f} s, scaled to {nodes}: wall {cold_wall:.1f} s, CPU {cold_cpu:.1f} s"
    )
    print(f"daemon vs cold: {cold_wall / warm_wall:.1f}x less wall time, {cold_cpu / warm_cpu:.1f}x less CPU time")


FAST_MODULE = """
from flytelite import task

VERSION = {version!r}


@task(reusable=True)
def add(a: int, b: int) -> int:
    return a + b
"""


def fast_archive(work: str, version: int) -> str:
    import io
    import tarfile

    path = f"{work}/code-v{version}.tar.gz"
    data = FAST_MODULE.format(version=version).encode()
    with tarfile.open(path, "w:gz") as archive:
        member = tarfile.TarInfo("bench_fast_code.py")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    return path


def fast_request(work: str, archive: str, name: str):
    """A CreateTask of the fast-registered ``bench_fast_code.add``, as registered and rendered by the backend."""
    from flyteidl.admin import agent_pb2

    from flytelite.model.template import SerializationSettings, to_task_template

    serve_tasks = sys.modules.get("serve_tasks") or (task_template("add") and sys.modules["serve_tasks"])  # imported from task_modules/
    settings = SerializationSettings({"default": "img:1"}, project="p", domain="d", version="v1", fast=True)
    template = to_task_template(serve_tasks.add, settings)  # the same task as bench_fast_code.add but for its module's name
    args = [{"{{ .remote_package_path }}": archive, "{{ .dest_dir }}": "."}.get(arg, arg) for arg in template.container.args]
    args = ["bench_fast_code" if arg == "serve_tasks" else arg for arg in args]
    del template.container.args[:]
    template.container.args.extend(args)
    prefix = f"{work}/{name}"
    return agent_pb2.CreateTaskRequest(
        inputs=int_inputs(a=1, b=2), template=render(template, prefix, f"{prefix}-raw", f"{prefix}/inputs.pb"), output_prefix=prefix,
        task_execution_metadata=execution_metadata(task="bench_fast_code.add"),
    )  # fmt: skip


def fast_benchmark(env: dict[str, str], work: str, tasks: int, versions: int, workers: int, cold_runs: int, poll: float) -> None:
    daemon = Daemon(["--workers", str(workers), "--preload", "serve_tasks"], {**env, "FLYTELITE_LOG_LEVEL": "info"})  # info: it reports its port
    try:
        client = AgentClient(daemon.port)
        run_tasks(daemon.port, work, 0, 20, poll)  # warm-up of the daemon's own code
        first = []
        for version in range(versions):
            request = fast_request(work, fast_archive(work, version), f"first-v{version}")
            started = time.perf_counter()
            wait_all(client, [client.create(request)], poll)
            first.append(time.perf_counter() - started)
        archive = fast_archive(work, versions)
        for index in range(20):  # warm-up of this version: both workers switch to it
            wait_all(client, [client.create(fast_request(work, archive, f"warmup{index}"))], poll)
        seconds = []
        for index in range(tasks):
            request = fast_request(work, archive, f"warm{index}")
            started = time.perf_counter()
            wait_all(client, [client.create(request)], poll)
            seconds.append(time.perf_counter() - started)
        client.close()
    finally:
        daemon.stop()
    cold = []
    for index in range(cold_runs):
        command = cold_command(fast_request(work, archive, "cold-template"), work, f"cold{index}")
        command[command.index("--dest-dir") + 1] = f"{work}/cold-dest{index}"
        cold.append(run_cold([command], env, 1)[0])
    seconds.sort()
    p50, p99 = seconds[len(seconds) // 2], seconds[int(len(seconds) * 0.99) - 1]
    print(f"fast-registered trivial task, {tasks} warm attempts of one version, {workers} workers: p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms")
    print(f"first attempt of a new version (fetch, unpack, a worker started for it), median of {versions}: {statistics.median(first) * 1e3:.1f} ms (min {min(first) * 1e3:.1f}, max {max(first) * 1e3:.1f})")
    print(f"cold flytelite fast-execute pod of the same template (median of {cold_runs}): {statistics.median(cold) * 1e3:.1f} ms = {statistics.median(cold) / p50:.1f}x the warm p50")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--cold-runs", type=int, default=20)
    parser.add_argument("--poll", type=float, default=0.0002, help="seconds between GetTask calls")
    parser.add_argument("--scratch", default=None, help="where attempts make their scratch folders (TMPDIR; default: the system's)")
    parser.add_argument("--resync", type=float, default=5.0, help="the backend's resync interval, seconds (webApi.caching.resyncInterval, 5 at least)")
    parser.add_argument("--path-runs", type=int, default=5, help="create-to-known samples per path")
    parser.add_argument("--soak", action="store_true", help="run the soak instead (see above)")
    parser.add_argument("--soak-attempts", type=int, default=20_000)
    parser.add_argument("--fast", action="store_true", help="measure fast-registered code (see above) instead")
    parser.add_argument("--versions", type=int, default=10, help="with --fast: new code versions whose first attempt is timed")
    parser.add_argument("--fan-out", type=int, default=0, help="measure a reusable @dynamic fanning out to this many nodes instead")
    parser.add_argument("--cold-sample", type=int, default=50, help="with --fan-out: cold node executes measured, then scaled")
    # A round of GetTask over every node costs the client CPU the daemon needs (a backend polls every 5 s at most).
    parser.add_argument("--fan-out-poll", type=float, default=0.02, help="with --fan-out: seconds between polling rounds")
    options = parser.parse_args()
    compileall.compile_dir(str(ROOT / "src"), quiet=1)
    compileall.compile_file(str(TASK_DIR / "serve_tasks.py"), quiet=1)
    # PATH: a fast-execute pod starts `flytelite execute` by name.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FLYTELITE_LOG_LEVEL": "warning", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    if options.soak:
        soak(options, env)
        return
    with tempfile.TemporaryDirectory(prefix="flytelite-serve-bench-") as work, tempfile.TemporaryDirectory(dir=options.scratch) as scratch:
        env["TMPDIR"] = scratch  # each attempt's scratch folder, apart from the outputs, as in a pod
        if options.fast:
            return fast_benchmark(env, work, options.tasks, options.versions, options.workers, options.cold_runs, options.poll)
        if options.fan_out:
            return fan_out_benchmark(env, work, options.fan_out, options.workers, options.cold_sample, options.fan_out_poll)
        daemon = Daemon(["--workers", str(options.workers), "--preload", "serve_tasks"], {**env, "FLYTELITE_LOG_LEVEL": "info"})
        try:
            time.sleep(1)
            tree = process_tree(daemon.process.pid)
            sizes = [memory_kib(pid, depth) for pid, depth in tree]
            run_tasks(daemon.port, work, 0, 50, options.poll)  # warm-up: connections, caches
            seconds = sorted(run_tasks(daemon.port, work, 1000, options.tasks, options.poll))
            rate = throughput(daemon.port, work, options.clients, options.tasks, options.poll)
            async_known, async_at_once = create_to_known(daemon.port, work, "add", options.path_runs, options.resync)
            sync_known, _ = create_to_known(daemon.port, work, "add_sync", options.path_runs * 20, options.resync)
        finally:
            daemon.stop()
        cold = cold_execute(work, env, options.cold_runs)
    p50, p99 = seconds[len(seconds) // 2], seconds[int(len(seconds) * 0.99) - 1]
    print(f"sequential, {options.tasks} tasks, {options.workers} workers: p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, mean {statistics.mean(seconds) * 1e3:.2f} ms")
    print(f"concurrent, {options.clients} client processes: {rate:.0f} tasks/s")
    print(f"cold flytelite execute (median of {options.cold_runs}): {cold * 1e3:.1f} ms = {cold / p50:.1f}x the daemon's p50")
    print(
        f"create to outputs known by the backend, trivial task: asynchronous {async_known * 1e3:.1f} ms median of {options.path_runs}"
        f" ({async_at_once} known at the GetTask on create, the rest after a {options.resync:g} s resync);"
        f" synchronous {sync_known * 1e3:.2f} ms median of {options.path_runs * 20}"
    )
    rss, pss = sum(r for _, r, _ in sizes), sum(p for _, _, p in sizes)
    each = ", ".join(f"{role} {r / 1024:.1f}" for role, r, _ in sizes)
    print(f"idle daemon, {len(tree)} processes: RSS {rss / 1024:.1f} MiB summed, PSS {pss / 1024:.1f} MiB (shared pages counted once); RSS MiB: {each}")


if __name__ == "__main__":
    main()
