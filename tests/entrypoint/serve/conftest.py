"""Fixtures of the serve tests: a shared daemon, and a way to start one with other options."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from .agent_client import LOG_LINK, AgentClient, Daemon


@pytest.fixture(scope="module")
def daemon(module_env: dict[str, str]) -> Iterator[Daemon]:
    """A daemon with two workers and the test tasks preloaded, shared by a test module."""
    running = Daemon(["--workers", "2", "--preload", "serve_tasks", "--cancel-grace", "3", "--log-link", "=".join(LOG_LINK)], module_env)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(daemon: Daemon) -> Iterator[AgentClient]:
    agent = AgentClient(daemon.port)
    yield agent
    agent.close()


@pytest.fixture
def start_daemon(module_env: dict[str, str]) -> Iterator[Callable[..., Daemon]]:
    """Start a daemon with the given options (and extra environment); stopped after the test."""
    started: list[Daemon] = []

    def start(*args: str, env: dict[str, Any] | None = None) -> Daemon:
        started.append(Daemon(list(args), {**module_env, **(env or {})}))
        return started[-1]

    yield start
    for running in started:
        running.stop()
