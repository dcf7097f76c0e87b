"""deploy/ checked by the rules of its consumers: Flyte 1.16.8's configuration code and the serve command.

The backend's rules, from github.com/flyteorg/flyte at tag v1.16.8 (file:line):
- pluginmachinery/internal/webapi/core.go:19-31, 155-166: cache size, workers, resync interval, rate
  limiters must lie in ranges, else the plugin fails to load (and flytepropeller with it).
- plugins/webapi/{agent,connector}/config.go:54-96: the section names and their keys (json tags).
- plugins/webapi/{agent,connector}/client.go:153-159: a task type routed in ``agentForTaskTypes`` /
  ``connectorForTaskTypes`` to a deployment that is not listed is ignored; one routed there is always
  called asynchronously, whatever ListAgents says.
- plugins/webapi/{agent,connector}/plugin.go:157-292, client.go:110: the operations ``timeouts`` can name.
- flytepropeller/pkg/controller/nodes/task/config/config.go:60-105: a default plugin for a task type must be
  enabled (names trimmed, lower-cased).
- flytestdlib/config/duration.go:18-43: durations are Go's ``time.ParseDuration`` strings (or nanoseconds).
- charts/flyte-binary/values.yaml:419-428: the chart's own plugin lists, which a values override replaces.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from flytelite.entrypoint.commands import serve
from flytelite.model.tasks import REUSABLE_SYNC_TASK_TYPE, REUSABLE_TASK_TYPE

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
README = Path(__file__).resolve().parents[3] / "README.md"

_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
# webapi/core.go:21-30
RANGES = {"size": (10, 500_000), "workers": (1, 10_000), "resyncInterval": (5.0, 3600.0), "burst": (5, 10_000), "qps": (1, 100_000)}
# agent/config.go:18-31 (connector/config.go:18-31 alike): what an absent key is
DEFAULTS = {"size": 500_000, "workers": 10, "resyncInterval": "30s", "burst": 100, "qps": 10}
CHART_ENABLED = ["container", "sidecar", "k8s-array", "connector-service", "echo"]  # flyte-binary values.yaml:419-424
CHART_DEFAULTS = {"container": "container", "sidecar": "sidecar", "container_array": "k8s-array"}  # values.yaml:425-428
KNOWN_PLUGINS = {*CHART_ENABLED, "agent-service"}
SECTION_KEYS = {  # agent/config.go:60-78, connector/config.go:60-78
    "agent-service": {"webApi", "resourceConstraints", "defaultAgent", "agents", "agentForTaskTypes", "supportedTaskTypes", "pollInterval"},
    "connector-service": {"webApi", "resourceConstraints", "defaultConnector", "connectors", "connectorForTaskTypes", "supportedTaskTypes", "pollInterval"},
}
ROUTING_KEYS = {"agent-service": ("defaultAgent", "agents", "agentForTaskTypes"), "connector-service": ("defaultConnector", "connectors", "connectorForTaskTypes")}
DEPLOYMENT_KEYS = {"endpoint", "insecure", "defaultServiceConfig", "timeouts", "defaultTimeout"}  # agent/config.go:81-96
TIMEOUT_OPERATIONS = {"CreateTask", "GetTask", "DeleteTask", "ExecuteTaskSync", "ListAgents", "ListConnectors"}


def go_duration(value: Any) -> float:
    """Seconds of a Go duration as flytestdlib reads it; ValueError where Go's parser errs."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value * 1e-9
    text = str(value)
    if text in ("0", ""):
        return 0.0
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", text)
    if not parts or "".join(number + unit for number, unit in parts) != text.lstrip("+"):
        raise ValueError(f"time: invalid duration {text!r}")
    return sum(float(number) * _GO_UNITS[unit] for number, unit in parts)


def backend_config_errors(config: dict[str, Any], section: str) -> list[str]:
    """What Flyte 1.16.8 would reject, ignore or misroute in ``config`` for the plugin ``section``."""
    errors = []
    plugins = config["tasks"]["task-plugins"]
    enabled = {name.strip().lower() for name in plugins["enabled-plugins"]}
    for task_type, plugin in plugins["default-for-task-types"].items():  # task/config/config.go:92-100
        if plugin.strip().lower() not in enabled:
            errors.append(f"default plugin {plugin} of {task_type} is not enabled")
    errors += [f"unknown plugin {name}" for name in enabled - KNOWN_PLUGINS]
    errors += [f"the chart's plugin {name} is dropped" for name in CHART_ENABLED if name not in enabled]
    errors += [f"the chart's default {t}: {p} is dropped" for t, p in CHART_DEFAULTS.items() if plugins["default-for-task-types"].get(t) != p]
    settings = config["plugins"][section]
    errors += [f"unknown key {key} in plugins.{section}" for key in set(settings) - SECTION_KEYS[section]]
    caching, limits = settings.get("webApi", {}).get("caching", {}), settings.get("webApi", {})
    values = {
        "size": caching.get("size", DEFAULTS["size"]),
        "workers": caching.get("workers", DEFAULTS["workers"]),
        "resyncInterval": go_duration(caching.get("resyncInterval", DEFAULTS["resyncInterval"])),
        "burst": limits.get("readRateLimiter", {}).get("burst", DEFAULTS["burst"]),
        "qps": limits.get("readRateLimiter", {}).get("qps", DEFAULTS["qps"]),
    }
    for name, (low, high) in RANGES.items():  # webapi/core.go:155-166
        if not low <= values[name] <= high:
            errors.append(f"{name} is expected to be between {low} and {high}. Provided value is {values[name]}")
    default_key, deployments_key, routes_key = ROUTING_KEYS[section]
    deployments = {"(default)": settings.get(default_key, {}), **settings.get(deployments_key, {})}
    for name, deployment in deployments.items():
        errors += [f"unknown key {key} in deployment {name}" for key in set(deployment) - DEPLOYMENT_KEYS]
        for operation, duration in deployment.get("timeouts", {}).items():
            if operation not in TIMEOUT_OPERATIONS:
                errors.append(f"timeout for unknown operation {operation}")
            go_duration(duration)
        go_duration(deployment.get("defaultTimeout", 0))
    for task_type, deployment_name in settings.get(routes_key, {}).items():  # client.go:153-159
        if deployment_name not in settings.get(deployments_key, {}):
            errors.append(f"{task_type} is routed to {deployment_name}, which is not in {deployments_key}: ignored")
        if task_type == REUSABLE_SYNC_TASK_TYPE:
            errors.append(f"{task_type} is routed in {routes_key}: always called asynchronously")
    for task_type in (REUSABLE_TASK_TYPE, REUSABLE_SYNC_TASK_TYPE):
        if plugins["default-for-task-types"].get(task_type) != section:
            errors.append(f"{task_type} is not handled by {section}")
        if task_type not in settings.get("supportedTaskTypes", []):
            errors.append(f"{task_type} is not in supportedTaskTypes")
    return errors


def load(name: str) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all((DEPLOY / name).read_text()) if document]


@pytest.mark.parametrize(("file_name", "section"), [("flytepropeller-agent.yaml", "agent-service"), ("flytepropeller-connector.yaml", "connector-service")])
def test_the_backend_configuration_passes_flyte_s_own_checks(file_name, section):
    [config] = load(file_name)
    assert backend_config_errors(config, section) == []
    [daemon] = [d for d in load("flytelite-serve.yaml") if d["kind"] == "Deployment"]
    [service] = [d for d in load("flytelite-serve.yaml") if d["kind"] == "Service"]
    port = service["spec"]["ports"][0]["port"]
    expected = f"dns:///{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local:{port}"
    default_key, deployments_key, _ = ROUTING_KEYS[section]
    endpoints = {config["plugins"][section][default_key]["endpoint"], *(d["endpoint"] for d in config["plugins"][section][deployments_key].values())}
    assert endpoints == {expected} and daemon["metadata"]["namespace"] == service["metadata"]["namespace"]


def test_the_checks_catch_what_the_old_configuration_got_wrong():
    [config] = load("flytepropeller-agent.yaml")
    config["plugins"]["agent-service"]["webApi"]["caching"]["resyncInterval"] = "1s"
    config["tasks"]["task-plugins"]["enabled-plugins"] = ["container", "sidecar", "k8s-array", "agent-service"]
    config["plugins"]["agent-service"]["agentForTaskTypes"][REUSABLE_SYNC_TASK_TYPE] = "elsewhere"
    errors = backend_config_errors(config, "agent-service")
    assert "resyncInterval is expected to be between 5.0 and 3600.0. Provided value is 1.0" in errors
    assert "the chart's plugin connector-service is dropped" in errors and "the chart's plugin echo is dropped" in errors
    assert f"{REUSABLE_SYNC_TASK_TYPE} is routed in agentForTaskTypes: always called asynchronously" in errors
    assert f"{REUSABLE_SYNC_TASK_TYPE} is routed to elsewhere, which is not in agents: ignored" in errors
    with pytest.raises(ValueError, match="invalid duration"):
        go_duration("5 seconds")
    assert go_duration("1h30m") == 5400 and go_duration("1.5s") == 1.5 and go_duration(5_000_000_000) == 5


def test_the_readme_shows_the_shipped_backend_configurations():
    text = README.read_text()
    blocks = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    shown = {section for block in blocks if isinstance(block, dict) for section in block.get("plugins", {})}
    assert {"agent-service", "connector-service"} <= shown
    for block in blocks:
        for section in block.get("plugins", {}) if isinstance(block, dict) else ():
            assert backend_config_errors(block, section) == [], section


def test_the_deployment_keeps_a_replica_serving_and_passes_only_options_serve_has():
    documents = {document["kind"]: document for document in load("flytelite-serve.yaml")}
    deployment, budget = documents["Deployment"], documents["PodDisruptionBudget"]
    spec = deployment["spec"]
    assert spec["replicas"] == 2 and spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert budget["spec"]["minAvailable"] == 1 and budget["spec"]["selector"] == spec["selector"]
    pod = spec["template"]["spec"]
    [container] = pod["containers"]
    words = [str(word) for word in container["command"]]
    assert words[:2] == ["flytelite", "serve"]
    known = {option for param in serve.params for option in param.opts}
    assert [word for word in words if word.startswith("--") and word not in known] == []
    option = {word: words[index + 1] for index, word in enumerate(words) if word.startswith("--")}
    assert option["--host"] == "0.0.0.0"  # reachable from the backend, inside the pod's network
    assert float(option["--drain-grace"]) + float(option["--cancel-grace"]) < pod["terminationGracePeriodSeconds"]
    assert re.match(r"(s3|gs|abfss?|az)://", option["--state-dir"])  # both replicas reach it
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"grpc": int(option["--port"]), "metrics": int(option["--metrics-port"])}
    assert container["readinessProbe"]["grpc"]["port"] == container["livenessProbe"]["grpc"]["port"] == ports["grpc"]
    assert documents["Service"]["spec"]["selector"] == spec["selector"]["matchLabels"]
