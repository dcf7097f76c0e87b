"""Two node agents as two hosts: network namespaces joined by a veth pair, each with its own host name.

Proves that nothing in the launcher relies on localhost: the rendezvous endpoint is the other
host's name, resolved through the namespace's own /etc/hosts (``ip netns exec`` mounts
/etc/netns/<name>/hosts over it), and the workers' process group crosses the veth link.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
HOSTS = {"node-a": "10.77.0.1", "node-b": "10.77.0.2"}

needs_root_and_netns = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("unshare"),
    reason="needs root, iproute2's `ip netns` and util-linux's `unshare` to make network namespaces",
)


def _sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


@pytest.fixture
def two_hosts():
    tag = uuid.uuid4().hex[:6]
    names = {host: f"fl-{tag}-{host[-1]}" for host in HOSTS}
    links = {host: f"fl{tag}{host[-1]}" for host in HOSTS}
    try:
        for host, namespace in names.items():
            _sh("ip", "netns", "add", namespace)
            Path(f"/etc/netns/{namespace}").mkdir(parents=True, exist_ok=True)
            lines = ["127.0.0.1 localhost", *(f"{ip} {name}" for name, ip in HOSTS.items())]
            Path(f"/etc/netns/{namespace}/hosts").write_text("\n".join(lines) + "\n")
        _sh("ip", "link", "add", links["node-a"], "type", "veth", "peer", "name", links["node-b"])
        for host, namespace in names.items():
            _sh("ip", "link", "set", links[host], "netns", namespace)
            _sh("ip", "netns", "exec", namespace, "ip", "addr", "add", f"{HOSTS[host]}/24", "dev", links[host])
            _sh("ip", "netns", "exec", namespace, "ip", "link", "set", links[host], "up")
            _sh("ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up")
        yield names
    finally:
        for namespace in names.values():
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
            shutil.rmtree(f"/etc/netns/{namespace}", ignore_errors=True)


def _agent(namespace: str, host: str, out: Path) -> subprocess.Popen:
    elastic = {"nnodes": 2, "nproc_per_node": 2, "start_method": "fork", "monitor_interval": 0.1, "rdzv_configs": {"timeout": 60, "join_timeout": 60}}
    agent = [sys.executable, str(HERE / "torch_node_agent.py"), "allreduce_sum", json.dumps({"x": 1.0}), json.dumps(elastic), str(out)]
    env = {**os.environ, "PET_RDZV_ENDPOINT": "node-a:29655", "PET_NNODES": "2", "_F_NM": "two-hosts"}
    # a UTS namespace of its own, so that this host's name is its own
    command = ["ip", "netns", "exec", namespace, "unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host, *agent]
    return subprocess.Popen(command, env=env, cwd=HERE, stderr=subprocess.PIPE, text=True)


@needs_root_and_netns
def test_two_hosts_in_network_namespaces_share_one_rendezvous(two_hosts, tmp_path):
    agents = {host: (_agent(namespace, host, tmp_path / f"{host}.json"), tmp_path / f"{host}.json") for host, namespace in two_hosts.items()}
    outcomes = {}
    for host, (process, out) in agents.items():
        _, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stderr[-2000:]
        outcomes[host] = json.loads(out.read_text())
    # exactly one host holds global rank 0 and returns 4 * 1.0 + (0 + 1 + 2 + 3); the other writes nothing
    assert sorted(outcomes.values(), key=str) == [{"ignored": True}, {"result": 10.0}]
