"""Private scratch folders: locked while their process lives, removed by the next one once it is gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flytelite.support.scratch import make_private_directory, remove_abandoned, remove_private_directory


def test_a_folder_of_a_live_process_is_kept_and_of_a_dead_one_removed(tmp_path: Path) -> None:
    make = f"from flytelite.support.scratch import make_private_directory as m; print(m({str(tmp_path)!r}, 'kind-'), flush=True)"
    live = subprocess.Popen([sys.executable, "-c", make + "; import time; time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        live_path = live.stdout.readline().strip()
        dead_path = subprocess.run([sys.executable, "-c", make], capture_output=True, text=True, check=True).stdout.strip()
        assert os.path.isdir(live_path) and os.path.isdir(dead_path)
        assert remove_abandoned(str(tmp_path), "kind-") == [dead_path]
        assert os.path.isdir(live_path) and not os.path.exists(dead_path)
        assert remove_abandoned(str(tmp_path), "other-") == []
    finally:
        live.kill()
        live.wait()
    assert remove_abandoned(str(tmp_path), "kind-") == [live_path]


def test_folders_removed_by_their_process_release_their_locks(tmp_path: Path) -> None:
    """A long-lived worker making one folder per attempt keeps no descriptor of the ones removed."""
    for _ in range(50):
        path = make_private_directory(str(tmp_path), "kind-")
        Path(path, "file").write_text("scratch")
        remove_private_directory(path)
    # Only this test's descriptors: other tests' sockets may close meanwhile, changing the process's count.
    assert [fd for fd in _descriptor_targets() if fd.startswith(str(tmp_path))] == []
    assert list(tmp_path.iterdir()) == []


def _descriptor_targets() -> list[str]:
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # closed between the listing and the read
            pass
    return targets
