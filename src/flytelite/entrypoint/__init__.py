"""The container's entrypoint: the ``flytelite`` command and the execute pipeline behind it.

Start-up time is what a short task costs, so nothing here is imported before the command that
needs it runs: ``flytelite execute`` loads the pipeline, the resolver and the task's own imports,
and nothing else (no object-store client, no torch, no HTML).
"""
