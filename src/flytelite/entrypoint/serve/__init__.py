"""``flytelite serve``: a daemon that runs tasks in warm worker processes, over Flyte's agent protocol.

The server process speaks gRPC (``AsyncAgentService``, ``SyncAgentService``, ``AgentMetadataService``
and the health protocol) and never runs an attempt itself: :mod:`.pool` hands each one to a worker
forked from a warm parent (:mod:`.worker`), which runs the same pipeline as ``flytelite execute``.
Only the CLI imports this package; grpc comes from the ``serve`` extra.
"""
