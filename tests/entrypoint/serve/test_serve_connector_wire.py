"""The connector services speak flyteidl2 with Flyte 1's message classes: the two wires compared field by field.

Every field reachable from each request and response of ``flyteidl2.connector`` is walked beside its
Flyte 1 counterpart (the class :mod:`flytelite.entrypoint.serve.connector` (de)serializes it with):
the same number must have the same wire type and cardinality. Fields only one side has are listed;
the test fails when that list changes, so a new flyteidl2 field is looked at before it is served.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from flyteidl.admin import agent_pb2

pytestmark = pytest.mark.skipif(importlib.util.find_spec("flyteidl2") is None, reason="flyteidl2 (installed with flyte, the extra flytelite[flyte2]) is not installed")

# flyteidl2 message -> the Flyte 1 class the daemon reads or writes it with (connector.py handlers()).
COUNTERPARTS = {
    "CreateTaskRequest": agent_pb2.CreateTaskRequest,
    "CreateTaskResponse": agent_pb2.CreateTaskResponse,
    "GetTaskRequest": agent_pb2.GetTaskRequest,
    "GetTaskResponse": agent_pb2.GetTaskResponse,
    "DeleteTaskRequest": agent_pb2.DeleteTaskRequest,
    "DeleteTaskResponse": agent_pb2.DeleteTaskResponse,
    "ListConnectorsRequest": agent_pb2.ListAgentsRequest,
    "ListConnectorsResponse": agent_pb2.ListAgentsResponse,
    "GetConnectorRequest": agent_pb2.GetAgentRequest,
    "GetConnectorResponse": agent_pb2.GetAgentResponse,
}
# What differs, and why it does no harm (flyteidl2 2.0.51 against flyteidl 1.16.8).
KNOWN_DIFFERENCES = {
    # Requests: flyteidl2-only fields stay unknown fields of the Flyte 1 message (kept when re-serialized).
    "CreateTaskRequest.inputs.context: only in flyteidl2 (#2)",  # a0 reads it: the inputs file keeps it
    "CreateTaskRequest.inputs.literals.value.artifact_id: only in flyteidl2 (#9)",
    "CreateTaskRequest.template.reuse_policy: only in flyteidl2 (#19)",  # the reuse spec is read from custom
    "CreateTaskRequest.template.worker_kind: only in flyteidl2 (#20)",
    "CreateTaskRequest.template.metadata.retries.backoff: only in flyteidl2 (#6)",
    "CreateTaskRequest.template.metadata.debuggable: only in flyteidl2 (#17)",
    "CreateTaskRequest.template.metadata.log_links: only in flyteidl2 (#18)",
    "CreateTaskRequest.template.metadata.image_build_run: only in flyteidl2 (#19)",
    "CreateTaskRequest.template.metadata.is_entrypoint: only in flyteidl2 (#20)",
    "CreateTaskRequest.template.metadata.code_bundle_uri: only in flyteidl2 (#21)",
    "CreateTaskRequest.template.metadata.timeouts: only in flyteidl2 (#22)",
    "CreateTaskRequest.template.metadata.produces_artifacts: only in flyteidl2 (#23)",
    "CreateTaskRequest.template.metadata.cache_max_age: only in flyteidl2 (#24)",
    "CreateTaskRequest.template.interface.inputs.variables.value.artifact_partial_id.time_partition.key: only in flyteidl2 (#3)",
    "CreateTaskRequest.template.container.data_config.file_input_layout: only in flyteidl2 (#6)",
    "CreateTaskRequest.template.extended_resources.gpu_accelerator.device_class: only in flyteidl2 (#4)",
    "CreateTaskRequest.template.extended_resources.gpu_accelerator.accelerator_model: only in flyteidl2 (#5)",
    "CreateTaskRequest.connection: only in flyteidl2 (#5)",  # secrets for connectors: not used by the daemon
    "CreateTaskRequest.task_execution_metadata.overrides: only in flyteidl (#10)",  # never sent by flyteidl2
    "GetTaskRequest.connection: only in flyteidl2 (#5)",
    "GetTaskRequest.task_type: only in flyteidl (#1)",  # deprecated in Flyte 1; the daemon reads resource_meta
    "DeleteTaskRequest.connection: only in flyteidl2 (#5)",
    "DeleteTaskRequest.task_type: only in flyteidl (#1)",
    # Responses: never set by the connector services (ConnectorServices.GetTask, _connector).
    "GetTaskResponse.resource.state: only in flyteidl (#1)",
    "GetTaskResponse.resource.agent_error: only in flyteidl (#7)",
    "ListConnectorsResponse.connectors.supported_task_types: only in flyteidl (#2)",
    "ListConnectorsResponse.connectors.is_sync: only in flyteidl (#3)",
    "GetConnectorResponse.connector.supported_task_types: only in flyteidl (#2)",
    "GetConnectorResponse.connector.is_sync: only in flyteidl (#3)",
    # Responses: flyteidl2-only fields the daemon has no value for.
    "GetTaskResponse.resource.outputs.produced_artifacts: only in flyteidl2 (#3)",
    "GetTaskResponse.resource.outputs.literals.value.artifact_id: only in flyteidl2 (#9)",
    "GetTaskResponse.resource.log_links.link_type: only in flyteidl2 (#7)",
    "GetTaskResponse.resource.log_links.ready: only in flyteidl2 (#8)",
    "GetTaskResponse.resource.log_links.icon_uri: only in flyteidl2 (#9)",
}


def _shape(field: Any) -> tuple[int, str]:
    """A field's wire type and cardinality; a proto map is a repeated message of key=1, value=2."""
    return field.type, "repeated" if field.is_repeated else "single"


def wire_differences(flyte2: Any, flyte1: Any, path: str, seen: set[tuple[str, str]] | None = None) -> list[str]:
    """Where two message descriptors disagree on the wire, recursively (each pair of messages once)."""
    seen = set() if seen is None else seen
    if (flyte2.full_name, flyte1.full_name) in seen:
        return []
    seen.add((flyte2.full_name, flyte1.full_name))
    ones = {field.number: field for field in flyte1.fields}
    twos = {field.number: field for field in flyte2.fields}
    out = [f"{path}.{one.name}: only in flyteidl (#{number})" for number, one in ones.items() if number not in twos]
    for number, two in twos.items():
        one = ones.get(number)
        if one is None:
            out.append(f"{path}.{two.name}: only in flyteidl2 (#{number})")
        elif _shape(two) != _shape(one):
            out.append(f"{path}.{two.name}: {_shape(two)} in flyteidl2, {_shape(one)} in flyteidl ({one.full_name})")
        elif two.message_type is not None:
            out += wire_differences(two.message_type, one.message_type, f"{path}.{two.name}", seen)
    return out


def test_every_connector_message_matches_its_flyte1_counterpart_on_the_wire() -> None:
    from flyteidl2.connector import connector_pb2

    differences = set()
    for name, flyte1 in COUNTERPARTS.items():
        differences.update(wire_differences(getattr(connector_pb2, name).DESCRIPTOR, flyte1.DESCRIPTOR, name))
    assert not [d for d in differences if "in flyteidl2, " in d], "fields whose wire types differ"
    assert sorted(differences - KNOWN_DIFFERENCES) == [], "new differences: look at them before serving them"
    assert sorted(KNOWN_DIFFERENCES - differences) == [], "differences that are gone"


def test_the_walk_finds_a_field_whose_wire_type_differs() -> None:
    from flyteidl.core import literals_pb2
    from flyteidl2.task import common_pb2

    # NamedLiteral {name=1 string, value=2 Literal} against a map entry {key=1, value=2}: the same wire.
    found = wire_differences(common_pb2.Inputs.DESCRIPTOR, literals_pb2.LiteralMap.DESCRIPTOR, "Inputs")
    assert sorted(found) == ["Inputs.context: only in flyteidl2 (#2)", "Inputs.literals.value.artifact_id: only in flyteidl2 (#9)"]
    # A Scalar against a Primitive: field 1 is a message in one and an int64 in the other.
    [difference] = [d for d in wire_differences(literals_pb2.Scalar.DESCRIPTOR, literals_pb2.Primitive.DESCRIPTOR, "S") if d.startswith("S.primitive")]
    assert "in flyteidl2" in difference and "in flyteidl (" in difference


class _Call:
    """What grpc hands a generic handler to find a method (grpc.HandlerCallDetails)."""

    def __init__(self, method: str) -> None:
        self.method, self.invocation_metadata = method, ()


def test_the_served_methods_are_flyteidl2_s_with_the_compared_messages() -> None:
    from flyteidl2.connector import service_pb2

    from flytelite.entrypoint.serve.connector import CONNECTOR_SERVICE, METADATA_SERVICE, ConnectorServices

    services = service_pb2.DESCRIPTOR.services_by_name.values()
    # flyteidl2 defines no synchronous connector service: only these two.
    assert {service.full_name for service in services} == {CONNECTOR_SERVICE, METADATA_SERVICE}
    handlers = ConnectorServices(None, []).handlers()  # type: ignore[arg-type]
    served, unserved = set(), set()
    for service in services:
        for method in service.methods:
            found = [h.service(_Call(f"/{service.full_name}/{method.name}")) for h in handlers]
            (served if any(found) else unserved).add((service.full_name, method.name))
            if any(found):
                [rpc] = [handler for handler in found if handler is not None]
                assert method.output_type.name in COUNTERPARTS
                assert rpc.request_deserializer == COUNTERPARTS[method.input_type.name].FromString, method.full_name
    assert len(served) == 5
    # Not called by the backend's connector plugin (flyteplugins/go/tasks/plugins/webapi/connector/plugin.go): UNIMPLEMENTED.
    assert unserved == {(CONNECTOR_SERVICE, "GetTaskMetrics"), (CONNECTOR_SERVICE, "GetTaskLogs")}
