"""Flyte 2's connector services (``flyteidl2.connector``) over the agent services' attempts.

Flyte 2's backend calls a connector through ``AsyncConnectorService`` (CreateTask, GetTask,
DeleteTask) and learns its task types from ``ConnectorMetadataService.ListConnectors``; flyteidl2
defines no synchronous connector service. Their messages share their field numbers and wire types
with Flyte 1's agent messages (tests/entrypoint/serve/test_serve_connector_wire.py walks both
descriptors), so the methods are served under flyteidl2's service names with Flyte 1's classes and
the daemon needs no ``flyteidl2``. What differs:

- requests carry fields Flyte 1's messages do not have (``Inputs.context``, the template's
  ``reuse_policy``, ``connection``): kept as unknown fields, so the inputs a Flyte 2 worker writes
  for ``a0`` hold the context unchanged;
- a connector's ``Resource`` has no ``state`` and no ``agent_error``, a ``Connector`` no
  ``supported_task_types`` nor ``is_sync``: answers leave them out, so a failure reaches the backend
  as its phase and message, or as the error document under the output prefix (read on SUCCEEDED).
"""

from __future__ import annotations

from typing import Any, Protocol

import grpc
from flyteidl.admin import agent_pb2

CONNECTOR_SERVICE = "flyteidl2.connector.AsyncConnectorService"
METADATA_SERVICE = "flyteidl2.connector.ConnectorMetadataService"
CONNECTOR_NAME = "flytelite-serve"


class AsyncTasks(Protocol):
    """The agent services' calls the connector answers with (:class:`.server.AgentServices`)."""

    def CreateTask(self, request: Any, context: Any) -> Any: ...
    def GetTask(self, request: Any, context: Any) -> Any: ...
    def DeleteTask(self, request: Any, context: Any) -> Any: ...


class ConnectorServices:
    """``AsyncConnectorService`` and ``ConnectorMetadataService`` over the agent services' attempts."""

    def __init__(self, tasks: AsyncTasks, task_types: list[str]) -> None:
        self.tasks, self.task_types = tasks, task_types

    def CreateTask(self, request: Any, context: Any) -> Any:
        return self.tasks.CreateTask(request, context)

    def GetTask(self, request: Any, context: Any) -> Any:
        response = self.tasks.GetTask(request, context)
        response.resource.ClearField("state")  # flyteidl2's Resource has neither
        response.resource.ClearField("agent_error")
        return response

    def DeleteTask(self, request: Any, context: Any) -> Any:
        return self.tasks.DeleteTask(request, context)

    def ListConnectors(self, request: Any, context: Any) -> Any:
        return agent_pb2.ListAgentsResponse(agents=[self._connector()])

    def GetConnector(self, request: Any, context: Any) -> Any:
        if request.name != CONNECTOR_NAME:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no connector named {request.name!r} here; this daemon is {CONNECTOR_NAME!r}")
        return agent_pb2.GetAgentResponse(agent=self._connector())

    def _connector(self) -> Any:
        # The backend routes each listed category (name, version 0: the template's task_type_version)
        # to this deployment (flyteplugins/.../webapi/connector/client.go updateRegistry).
        categories = [agent_pb2.TaskCategory(name=task_type, version=0) for task_type in dict.fromkeys(self.task_types)]
        return agent_pb2.Agent(name=CONNECTOR_NAME, supported_task_categories=categories)

    def handlers(self) -> list[Any]:
        """The gRPC handlers of both services, (de)serializing with Flyte 1's wire-compatible classes."""
        return [
            grpc.method_handlers_generic_handler(CONNECTOR_SERVICE, {
                "CreateTask": _unary(self.CreateTask, agent_pb2.CreateTaskRequest),
                "GetTask": _unary(self.GetTask, agent_pb2.GetTaskRequest),
                "DeleteTask": _unary(self.DeleteTask, agent_pb2.DeleteTaskRequest),
            }),
            grpc.method_handlers_generic_handler(METADATA_SERVICE, {
                "ListConnectors": _unary(self.ListConnectors, agent_pb2.ListAgentsRequest),
                "GetConnector": _unary(self.GetConnector, agent_pb2.GetAgentRequest),
            }),
        ]  # fmt: skip


def _unary(method: Any, request_type: Any) -> Any:
    return grpc.unary_unary_rpc_method_handler(method, request_deserializer=request_type.FromString, response_serializer=lambda message: message.SerializeToString())
