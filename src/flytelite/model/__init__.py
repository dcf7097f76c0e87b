"""The task model: tasks and their interfaces, metadata, the map task, the hook runner, and serialization to TaskTemplates."""
