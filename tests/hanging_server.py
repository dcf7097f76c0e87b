"""A TCP server on 127.0.0.1 that accepts connections, reads what comes, and never answers."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time


class HangingServer:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.accepted = 0
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(client)  # kept open, never answered
            threading.Thread(target=self._drain, args=(client,), daemon=True).start()

    @staticmethod
    def _drain(client: socket.socket) -> None:
        try:
            while client.recv(65536):
                pass
        except OSError:
            pass

    def wait_for_a_request(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.accepted == 0:
            if time.monotonic() > deadline:
                raise AssertionError("no request reached the hanging server")
            time.sleep(0.02)
        time.sleep(0.3)  # the request has been sent and is waiting for its answer

    def close(self) -> None:
        self._listener.close()
        for client in self._held:
            client.close()


def terminate_while_hanging(server: HangingServer, proc: subprocess.Popen[str]) -> str:
    """SIGTERM ``proc`` while its request hangs; it must exit 143 within seconds. Returns its stderr."""
    server.wait_for_a_request()
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 10, "SIGTERM waited for the hanging request"
    assert proc.returncode == 143, stderr
    return stderr
