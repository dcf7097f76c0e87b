"""The project's image, built and run without a container daemon: buildah, vfs storage, chroot isolation.

Everything lives under one cache folder (``.image/`` for ``make image-test``): the base made from
Debian's packages (``make_base.sh``), buildah's storage, and a pip.conf naming the host's CA bundle
for pip inside the build. ``python -m tests.image.containers CACHE`` makes the base if it is missing
and builds the images from the working tree; the tests and ``benchmarks/image.py`` run them.
Runs go through ``buildah run`` (``podman run`` cannot set RLIMIT_NPROC on our machines); chroot
isolation shares the host's network, so a server on the host's 127.0.0.1 is reachable from inside.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable, Mapping, Sequence

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "localhost/flytelite-test-base"
IMAGE = "localhost/flytelite-test"
SERVE_IMAGE = "localhost/flytelite-test-serve"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CACHE_ENV_VAR = "FLYTELITE_IMAGE_CACHE"  # set by `make image-test`: the tests under tests/image run only then


def buildah(cache: Path, *args: str) -> list[str]:
    """A buildah command line on the cache's own storage (vfs: no overlay mounts needed)."""
    return ["buildah", "--root", str(cache / "storage"), "--runroot", str(cache / "run"), "--storage-driver", "vfs", *args]


def _run(command: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=True, text=True, **kwargs)  # type: ignore[call-overload]


def image_exists(cache: Path, image: str) -> bool:
    return subprocess.run(buildah(cache, "inspect", "--type", "image", image), capture_output=True).returncode == 0


def ensure_base(cache: Path) -> None:
    """Make the Debian base once (a tarball in the cache) and import it as ``BASE_IMAGE``."""
    _run([str(ROOT / "tests" / "image" / "make_base.sh"), str(cache)])
    if image_exists(cache, BASE_IMAGE):
        return
    container = _run(buildah(cache, "from", "scratch"), capture_output=True).stdout.strip()
    try:
        _run(buildah(cache, "add", container, str(cache / "base.tar"), "/"), stdout=subprocess.DEVNULL)
        # What python:3.11-slim's configuration says besides its files.
        _run(buildah(cache, "config", "--env", "LANG=C.UTF-8", "--env", "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin", "--cmd", "python3", container))
        _run(buildah(cache, "commit", "--quiet", container, BASE_IMAGE), stdout=subprocess.DEVNULL)
    finally:
        subprocess.run(buildah(cache, "rm", container), capture_output=True)


def build(cache: Path, tag: str, context: Path = ROOT, dockerfile: Path | None = None, build_args: Mapping[str, str] | None = None) -> None:
    """``docker build`` of ``dockerfile`` on the local base; pip inside reaches the index through the host's CA bundle."""
    pip_conf = cache / "pip.conf"
    pip_conf.write_text(f"[global]\ncert = {CA_BUNDLE}\n")
    args = {"BASE_IMAGE": BASE_IMAGE, **(build_args or {})}
    command = buildah(
        cache, "build", "--isolation", "chroot", "--network", "host", "--pull=never", "--quiet",
        "-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro", "-v", f"{pip_conf}:/etc/pip.conf:ro",
        "-f", str(dockerfile or context / "Dockerfile"), "-t", tag,
        *(f"--build-arg={name}={value}" for name, value in args.items()), str(context),
    )  # fmt: skip
    _run(command, stdout=subprocess.DEVNULL)


class Container:
    """A working container of an image: commands run in it as ``buildah run`` does, as uid 1000 unless told."""

    def __init__(self, cache: Path, image: str) -> None:
        self.cache, self.image = cache, image
        self.name = _run(buildah(cache, "from", "--pull-never", image), capture_output=True).stdout.strip()

    def command(
        self,
        args: Sequence[str],
        user: str | None = "1000:1000",
        volumes: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        terminal: bool = False,
    ) -> list[str]:
        """The ``buildah run`` line; ``user=None`` runs as the image's USER, ``terminal`` gives it a pseudo-terminal (docker's -t)."""
        options = ["--isolation", "chroot", "--network", "host"] + (["-t"] if terminal else [])
        options += ["--user", user] if user else []
        options += ["--workingdir", workdir] if workdir else []
        for volume in volumes:
            options += ["-v", volume]
        for name, value in (env or {}).items():
            options += ["--env", f"{name}={value}"]
        return buildah(self.cache, "run", *options, self.name, "--", *args)

    def run(self, args: Sequence[str], timeout: float = 120, **options: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(args, **options), capture_output=True, text=True, timeout=timeout)  # type: ignore[arg-type]

    def mount(self) -> Path:
        """The container's root file system on the host (read it, do not write it)."""
        return Path(_run(buildah(self.cache, "mount", self.name), capture_output=True).stdout.strip())

    def remove(self) -> None:
        subprocess.run(buildah(self.cache, "rm", self.name), capture_output=True)


def main(argv: list[str]) -> int:
    cache = Path(argv[0]).resolve()
    started = time.monotonic()
    # This storage is the cache's alone: containers left by an interrupted run go, and so do the images
    # a rebuild untagged (vfs keeps a full copy of every layer).
    subprocess.run(buildah(cache, "rm", "--all"), capture_output=True)
    ensure_base(cache)
    print(f"image-test: base ready ({time.monotonic() - started:.0f} s)", flush=True)
    for tag, extras in ((IMAGE, ""), (SERVE_IMAGE, "serve")):
        began = time.monotonic()
        build(cache, tag, build_args={"EXTRAS": extras})
        print(f"image-test: built {tag} from the working tree ({time.monotonic() - began:.0f} s)", flush=True)
    subprocess.run(buildah(cache, "rmi", "--prune"), capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
