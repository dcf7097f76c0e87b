"""deploy/flyte2-*.yaml checked by the rules of Flyte 2's open backend, read from its Go sources.

The rules come from ``flyte2_backend_rules.json``, extracted (``flyte2_backend_rules.py``) from
github.com/flyteorg/flyte at the commit it names; where the mirror is present it is extracted again
and compared. How the backend uses them (branch main, file:line):
- executor/pkg/config/task_plugin_config.go:24-28: ``tasks.task-plugins`` has one key,
  ``default-for-task-types`` (no ``enabled-plugins``, unlike Flyte 1's propeller).
- executor/pkg/plugin/registry.go:113-129: an override names a plugin by its ID and takes effect only if
  that plugin is registered for some task type (else a warning, and the type keeps its pod plugin);
  the connector plugin registers for ``supportedTaskTypes`` (internal/webapi/core.go:168-171,
  webapi/connector/plugin.go:475-482).
- webapi/connector/config.go:58-109: the keys of ``plugins.connector-service`` and of a deployment;
  internal/webapi/core.go:155-166 the ranges that fail the plugin's load.
- webapi/connector/client.go:236-246: a task type in ``connectorForTaskTypes`` routed to a deployment
  not in ``connectors`` is ignored; plugin.go:400-437: without a route, ``defaultConnector``.
- charts/flyte-binary/templates/configmap.yaml:65-68 and _helpers.tpl:283-292: what task pods get to
  reach the backend (the daemon's workers need the same).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from flytelite.entrypoint.commands import serve

from .flyte2_backend_rules import extract, load_rules, mirror_commit, read_mirror
from .test_serve_deploy import go_duration

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
ACTOR = "actor"  # flyte/_internal/runtime/reuse.py add_reusable
RELEASE, NAMESPACE = "flyte-binary", "flyte"  # the chart's release the deploy files' header installs


def load(name: str) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all((DEPLOY / name).read_text()) if document]


def unknown_keys(value: dict[str, Any], allowed: dict[str, str], where: str) -> list[str]:
    return [f"unknown key {key} in {where}" for key in sorted(set(value) - set(allowed))]


def backend_config_errors(values: dict[str, Any], rules: dict[str, Any]) -> list[str]:
    """What Flyte 2's executor would reject, ignore or misroute in the chart values ``values``."""
    structs, sections, plugin_id = rules["structs"], rules["sections"], rules["connector_plugin_id"]
    tasks = values["enabled_plugins"][sections["tasks"]]
    errors = unknown_keys(tasks, {sections["task_plugins"]: ""}, sections["tasks"])
    task_plugins = tasks[sections["task_plugins"]]
    errors += unknown_keys(task_plugins, structs["executor.TaskPluginConfig"], "tasks.task-plugins")
    routes = task_plugins.get("default-for-task-types", {})
    errors += [f"the chart's default {t}: {p} is changed to {routes[t]}" for t, p in rules["chart"]["default_for_task_types"].items() if t in routes and routes[t] != p]
    if routes.get(ACTOR) != plugin_id:
        errors.append(f"{ACTOR} is not routed to the plugin {plugin_id} (it is {routes.get(ACTOR)!r})")
    settings = values["configuration"]["inline"][sections["plugins"]][sections["connector"]]
    errors += unknown_keys(settings, structs["connector.Config"], f"plugins.{sections['connector']}")
    supported = settings.get("supportedTaskTypes", rules["defaults"]["supportedTaskTypes"])
    if not supported:
        errors.append("supportedTaskTypes is empty: the plugin is registered for no task type, so no override can name it")
    web_api = settings.get("webApi", {})
    errors += unknown_keys(web_api, structs["webapi.PluginConfig"], "webApi")
    errors += unknown_keys(web_api.get("caching", {}), structs["webapi.CachingConfig"], "webApi.caching")
    for limiter in ("readRateLimiter", "writeRateLimiter"):
        errors += unknown_keys(web_api.get(limiter, {}), structs["webapi.RateLimiterConfig"], f"webApi.{limiter}")
    for name, (low, high) in rules["ranges"].items():
        group, key = name.split(".")
        value = web_api.get(group, {}).get(key, rules["defaults"][name])
        value = go_duration(value) if key == "resyncInterval" and isinstance(value, str) else value
        if not low <= value <= high:
            errors.append(f"webApi.{name} is expected to be between {low} and {high}. Provided value is {value}")
    deployments = {"defaultConnector": settings.get("defaultConnector", {}), **settings.get("connectors", {})}
    for name, deployment in deployments.items():
        errors += unknown_keys(deployment, structs["connector.Deployment"], f"deployment {name}")
        errors += [f"timeout for unknown operation {op} in {name}" for op in deployment.get("timeouts", {}) if op not in rules["timeout_operations"]]
        for duration in [*deployment.get("timeouts", {}).values(), deployment.get("defaultTimeout", 0)]:
            go_duration(duration)
    for task_type, deployment_name in settings.get("connectorForTaskTypes", {}).items():
        if deployment_name not in settings.get("connectors", {}):
            errors.append(f"{task_type} is routed to {deployment_name}, which is not in connectors: ignored")
    routed = settings.get("connectorForTaskTypes", {}).get(ACTOR) in settings.get("connectors", {})
    if not routed and not settings.get("defaultConnector", {}).get("endpoint"):
        errors.append(f"{ACTOR} reaches no connector: not in connectorForTaskTypes and no defaultConnector endpoint")
    return errors


def serve_command(documents: list[dict[str, Any]]) -> tuple[list[str], dict[str, list[str]], dict[str, str]]:
    """The daemon's command, its options' values (in order) and its container's environment."""
    [deployment] = [d for d in documents if d["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    words = [str(word) for word in container["command"]]
    options: dict[str, list[str]] = {}
    for index, word in enumerate(words):
        if word.startswith("--"):
            options.setdefault(word, []).append(words[index + 1])
    env = {item["name"]: item["value"] for item in container.get("env", [])}
    return words, options, env


def daemon_errors(documents: list[dict[str, Any]], values: dict[str, Any], rules: dict[str, Any]) -> list[str]:
    """What keeps the daemon of ``documents`` from serving the backend configured by ``values``."""
    words, options, env = serve_command(documents)
    known = {opt for param in serve.params for opt in param.opts}
    errors = [f"serve has no option {word}" for word in words if word.startswith("--") and word not in known]
    if ACTOR not in options.get("--task-type", []):
        errors.append(f"the daemon does not serve {ACTOR} (--task-type {ACTOR})")
    expected = f"{RELEASE}{rules['chart']['http_service_suffix']}.{NAMESPACE}:{rules['chart']['http_port']}"
    if options.get("--flyte2-endpoint") != [expected]:
        errors.append(f"--flyte2-endpoint is {options.get('--flyte2-endpoint')}, the backend's is {expected!r}")
    errors += [f"the workers lack {name}={value}, which the chart gives task pods" for name, value in rules["chart"]["pod_env"].items() if env.get(name) != value]
    [service] = [d for d in documents if d["kind"] == "Service"]
    address = f"dns:///{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local:{service['spec']['ports'][0]['port']}"
    settings = values["configuration"]["inline"][rules["sections"]["plugins"]][rules["sections"]["connector"]]
    for name, deployment in {"defaultConnector": settings.get("defaultConnector", {}), **settings.get("connectors", {})}.items():
        if deployment.get("endpoint") != address:
            errors.append(f"{name} calls {deployment.get('endpoint')}, not the daemon's Service {address}")
    return errors


def test_the_rules_table_is_what_the_go_sources_say() -> None:
    rules = load_rules()
    commit = mirror_commit(rules["commit"])
    if commit is None:
        pytest.skip(f"no mirror of flyteorg/flyte with commit {rules['commit']}: the committed table is used as it is")
    assert {"commit": rules["commit"], **extract(read_mirror(commit))} == rules


def test_the_flyte2_deploy_files_pass_the_backend_s_rules() -> None:
    rules = load_rules()
    [values] = load("flyte2-values.yaml")
    assert backend_config_errors(values, rules) == []
    assert daemon_errors(load("flyte2-flytelite-serve.yaml"), values, rules) == []


def test_the_checks_catch_a_misspelled_key_and_a_route_that_misses_the_connector() -> None:
    rules = load_rules()
    [values] = load("flyte2-values.yaml")
    task_plugins = values["enabled_plugins"]["tasks"]["task-plugins"]
    task_plugins["enabled-plugins"] = ["container", "connector-service"]  # Flyte 1's key
    task_plugins["default-for-task-types"][ACTOR] = "connector"
    settings = values["configuration"]["inline"]["plugins"]["connector-service"]
    settings["connectorsForTaskTypes"] = settings.pop("connectorForTaskTypes")
    settings["supportedTaskTypes"] = []
    settings["webApi"]["caching"]["resyncInterval"] = "1s"
    settings["defaultConnector"]["timeouts"] = {"ExecuteTaskSync": "30s"}
    errors = backend_config_errors(values, rules)
    assert "unknown key enabled-plugins in tasks.task-plugins" in errors
    assert f"{ACTOR} is not routed to the plugin connector-service (it is 'connector')" in errors
    assert "unknown key connectorsForTaskTypes in plugins.connector-service" in errors
    assert any(error.startswith("supportedTaskTypes is empty") for error in errors)
    assert "webApi.caching.resyncInterval is expected to be between 5.0 and 3600.0. Provided value is 1.0" in errors
    assert "timeout for unknown operation ExecuteTaskSync in defaultConnector" in errors
    settings["connectors"] = {}
    del settings["defaultConnector"]
    assert f"{ACTOR} reaches no connector: not in connectorForTaskTypes and no defaultConnector endpoint" in backend_config_errors(values, rules)


def test_the_checks_catch_a_daemon_the_backend_cannot_use() -> None:
    rules = load_rules()
    [values] = load("flyte2-values.yaml")
    documents = load("flyte2-flytelite-serve.yaml")
    [deployment] = [d for d in documents if d["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    command = container["command"]
    command[command.index("actor")] = "flytelite-reusable"
    command[command.index("--flyte2-endpoint") + 1] = "flyte-binary.flyte:8090"
    container["env"] = [item for item in container["env"] if item["name"] != "_U_INSECURE"]
    values["configuration"]["inline"]["plugins"]["connector-service"]["connectors"]["flytelite"] = {"endpoint": "dns:///elsewhere:8000"}
    errors = daemon_errors(documents, values, rules)
    assert errors == [
        "the daemon does not serve actor (--task-type actor)",
        "--flyte2-endpoint is ['flyte-binary.flyte:8090'], the backend's is 'flyte-binary-http.flyte:8090'",
        "the workers lack _U_INSECURE=true, which the chart gives task pods",
        "flytelite calls dns:///elsewhere:8000, not the daemon's Service dns:///flytelite-serve.flyte.svc.cluster.local:8000",
    ]


def test_the_readme_shows_the_shipped_flyte2_values() -> None:
    import re

    text = (DEPLOY.parent / "README.md").read_text()
    blocks = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    [shown] = [block for block in blocks if isinstance(block, dict) and "enabled_plugins" in block]
    [values] = load("flyte2-values.yaml")
    assert shown == values
    assert backend_config_errors(shown, load_rules()) == []
