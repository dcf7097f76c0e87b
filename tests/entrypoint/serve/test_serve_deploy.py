"""deploy/ stays true to the code: the options it passes exist, the task type it routes is ours."""

from __future__ import annotations

import re
from pathlib import Path

from flytelite.entrypoint.commands import serve
from flytelite.model.tasks import REUSABLE_TASK_TYPE

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def test_the_deployment_passes_only_options_serve_has_and_probes_the_grpc_port():
    text = (DEPLOY / "flytelite-serve.yaml").read_text()
    [command] = re.findall(r"command: \[(.*?)\]", text, re.S)
    words = [word.strip().strip('"') for word in command.replace("\n", " ").split(",")]
    assert words[:2] == ["flytelite", "serve"]
    known = {option for param in serve.params for option in param.opts}
    assert [word for word in words if word.startswith("--") and word not in known] == []
    assert words[words.index("--host") + 1] == "0.0.0.0"  # reachable from the backend, inside the pod's network
    port = words[words.index("--port") + 1]
    assert f"containerPort: {port}" in text and text.count("grpc: {port: " + port + "}") == 2
    assert "kind: Service" in text


def test_the_backend_configuration_routes_the_reusable_task_type_to_the_service():
    text = (DEPLOY / "flytepropeller-agent.yaml").read_text()
    assert f"{REUSABLE_TASK_TYPE}: agent-service" in text
    assert f"supportedTaskTypes: [{REUSABLE_TASK_TYPE}]" in text
    assert f"{REUSABLE_TASK_TYPE}: flytelite" in text
    assert "endpoint: dns:///flytelite-serve.flyte.svc.cluster.local:8000" in text
