"""The configuration rules of Flyte 2's open backend, extracted from its Go sources and chart.

:func:`extract` reads github.com/flyteorg/flyte (branch main) through a ``read(path)`` callable and
returns the table ``flyte2_backend_rules.json`` holds: the json keys of the Go config structs the
executor's task-plugin map and the connector plugin read, their defaults, the webapi ranges, the
plugin's ID, the RPC names ``timeouts`` can name, and what the flyte-binary chart sets. The committed
table says which commit it came from; the deploy test re-extracts it when the mirror is present.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any, Callable

import yaml

RULES_FILE = Path(__file__).resolve().parent / "flyte2_backend_rules.json"
MIRROR = Path("/work/.mirror/flyteorg+flyte/repo")

CONNECTOR = "flyteplugins/go/tasks/plugins/webapi/connector"
SOURCES = {
    "connector_config": f"{CONNECTOR}/config.go",
    "connector_plugin": f"{CONNECTOR}/plugin.go",
    "connector_client": f"{CONNECTOR}/client.go",
    "webapi_config": "flyteplugins/go/tasks/pluginmachinery/webapi/pluginconfig.go",
    "webapi_core": "flyteplugins/go/tasks/pluginmachinery/internal/webapi/core.go",
    "plugins_section": "flyteplugins/go/tasks/config/config.go",
    "task_plugin_config": "executor/pkg/config/task_plugin_config.go",
    "chart_values": "charts/flyte-binary/values.yaml",
    "chart_configmap": "charts/flyte-binary/templates/configmap.yaml",
    "chart_helpers": "charts/flyte-binary/templates/_helpers.tpl",
}
# (source, Go struct) -> the name the table gives it.
STRUCTS = {
    ("connector_config", "Config"): "connector.Config",
    ("connector_config", "Deployment"): "connector.Deployment",
    ("webapi_config", "PluginConfig"): "webapi.PluginConfig",
    ("webapi_config", "CachingConfig"): "webapi.CachingConfig",
    ("webapi_config", "RateLimiterConfig"): "webapi.RateLimiterConfig",
    ("task_plugin_config", "TaskPluginConfig"): "executor.TaskPluginConfig",
}


def struct_keys(source: str, name: str) -> dict[str, str]:
    """A Go struct's fields by json key (``-`` excluded): key -> Go type."""
    match = re.search(rf"^type {name} struct {{\n(.*?)^}}", source, re.S | re.M)
    if match is None:
        raise ValueError(f"no struct {name}")
    fields = re.findall(r'^\s*\w+\s+(\S+)\s+`json:"([^",]*)', match.group(1), re.M)
    return {key: go_type for go_type, key in fields if key and key != "-"}


def _one(pattern: str, text: str, what: str) -> str:
    match = re.search(pattern, text, re.S)
    if match is None:
        raise ValueError(f"cannot find {what}")
    return match.group(1)


def extract(read: Callable[[str], str]) -> dict[str, Any]:
    """The rules table from the sources ``read`` returns (a path in the repository -> its text)."""
    text = {name: read(path) for name, path in SOURCES.items()}
    defaults_block = _one(r"defaultConfig = Config{(.*?)\n\tconfigSection", text["connector_config"], "the connector's defaultConfig")
    core = text["webapi_core"]
    constant = lambda name: _one(rf"\b{name}\s*=\s*((?:[\d\.]+\s*\*\s*)?time\.\w+|[\d\.]+)", core, name)  # noqa: E731
    chart_values = yaml.safe_load(text["chart_values"])
    env_block = _one(r"default-env-vars:\n(.*?)\n\s*k8s-array:", text["chart_configmap"], "the chart's default-env-vars")
    return {
        "repository": "github.com/flyteorg/flyte",
        "sources": SOURCES,
        "structs": {label: struct_keys(text[source], name) for (source, name), label in STRUCTS.items()},
        "sections": {
            "plugins": _one(r'configSectionKey\s*=\s*"([^"]+)"', text["plugins_section"], "the plugins section key"),
            "connector": _one(r'MustRegisterSubSection\("([^"]+)"', text["connector_config"], "the connector's section"),
            "tasks": _one(r'tasksSectionKey\s*=\s*"([^"]+)"', text["task_plugin_config"], "the tasks section key"),
            "task_plugins": _one(r'taskPluginsSectionKey\s*=\s*"([^"]+)"', text["task_plugin_config"], "the task-plugins key"),
        },
        "connector_plugin_id": _one(r'\bconst ID = "([^"]+)"', text["connector_plugin"], "the plugin ID"),
        "timeout_operations": sorted(set(re.findall(r'getFinalContext\(\w+, "(\w+)"', text["connector_plugin"] + text["connector_client"]))),
        "defaults": {
            "supportedTaskTypes": re.findall(r'"([^"]+)"', _one(r"SupportedTaskTypes:\s*\[\]string{([^}]*)}", defaults_block, "supportedTaskTypes")),
            "caching.size": int(_one(r"Size:\s*(\d+)", defaults_block, "size")),
            "caching.workers": int(_one(r"Workers:\s*(\d+)", defaults_block, "workers")),
            "caching.resyncInterval": _go_seconds(_one(r"ResyncInterval:\s*config.Duration{Duration: ([^}]+)}", defaults_block, "resyncInterval")),
            "readRateLimiter.burst": int(_one(r"ReadRateLimiter: webapi.RateLimiterConfig{\s*Burst:\s*(\d+)", defaults_block, "read burst")),
            "readRateLimiter.qps": int(_one(r"ReadRateLimiter: webapi.RateLimiterConfig{\s*Burst:\s*\d+,\s*QPS:\s*(\d+)", defaults_block, "read qps")),
            "writeRateLimiter.burst": int(_one(r"WriteRateLimiter: webapi.RateLimiterConfig{\s*Burst:\s*(\d+)", defaults_block, "write burst")),
            "writeRateLimiter.qps": int(_one(r"WriteRateLimiter: webapi.RateLimiterConfig{\s*Burst:\s*\d+,\s*QPS:\s*(\d+)", defaults_block, "write qps")),
        },
        "ranges": {  # internal/webapi/core.go validateConfig
            "caching.size": [int(constant("minCacheSize")), int(constant("maxCacheSize"))],
            "caching.workers": [int(constant("minWorkers")), int(constant("maxWorkers"))],
            "caching.resyncInterval": [_go_seconds(constant("minSyncDuration")), _go_seconds(constant("maxSyncDuration"))],
            "readRateLimiter.burst": [int(constant("minBurst")), int(constant("maxBurst"))],
            "readRateLimiter.qps": [int(constant("minQPS")), int(constant("maxQPS"))],
            "writeRateLimiter.burst": [int(constant("minBurst")), int(constant("maxBurst"))],
            "writeRateLimiter.qps": [int(constant("minQPS")), int(constant("maxQPS"))],
        },
        "chart": {
            "default_for_task_types": chart_values["enabled_plugins"]["tasks"]["task-plugins"]["default-for-task-types"],
            "pod_env": dict(re.findall(r"-\s*(\w+):\s*\"([^\"{]*)\"", env_block)),
            "http_service_suffix": _one(r'define "flyte-binary.service.http.name".*?printf "%s(-\w+)"', text["chart_helpers"], "the http service name"),
            "http_port": int(_one(r'define "flyte-binary.service.http.port".*?default (\d+)', text["chart_helpers"], "the http port")),
        },
    }


def _go_seconds(expression: str) -> float:
    """``30 * time.Second``, ``time.Hour``, ``5 * time.Second`` in seconds."""
    units = {"time.Second": 1.0, "time.Minute": 60.0, "time.Hour": 3600.0, "time.Millisecond": 1e-3}
    number, _, unit = expression.replace(" ", "").rpartition("*")
    if not number and unit in units:
        return units[unit]
    return float(number) * units[unit]


def read_mirror(commit: str) -> Callable[[str], str]:
    def read(path: str) -> str:
        return subprocess.run(["git", f"--git-dir={MIRROR}", "show", f"{commit}:{path}"], check=True, capture_output=True, text=True).stdout

    return read


def mirror_commit(ref: str = "main") -> str | None:
    """The mirror's commit for ``ref``, or ``None`` without a mirror."""
    if not MIRROR.exists():
        return None
    done = subprocess.run(["git", f"--git-dir={MIRROR}", "rev-parse", ref], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def load_rules() -> dict[str, Any]:
    return json.loads(RULES_FILE.read_text())


if __name__ == "__main__":  # regenerate the table: python -m tests.entrypoint.serve.flyte2_backend_rules
    commit = mirror_commit()
    if commit is None:
        raise SystemExit(f"no mirror of flyteorg/flyte at {MIRROR}")
    RULES_FILE.write_text(json.dumps({"commit": commit, **extract(read_mirror(commit))}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {RULES_FILE} from {commit}")
