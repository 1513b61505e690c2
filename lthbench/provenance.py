"""Where a result was computed: the source commit and the device's model name.

Results and bundles both record these, so they live below both (no torch at import: a bundle
is exported by a read command)."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import subprocess
from pathlib import Path


def device_model(device: str) -> str:
    """What a run computes on, beyond ``cuda:0`` or ``cpu``: the GPU's name, or the CPU's model
    name (kernels, and so the last bits, differ between models)."""
    if device.startswith("cuda"):
        import torch  # only a CUDA run asks, and it has torch loaded already

        return torch.cuda.get_device_name(torch.device(device))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


@functools.cache
def source_commit() -> str:
    """The git commit lthbench runs from ('+dirty' with local changes), or 'unknown'."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return "unknown"

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=10, check=True)  # fmt: skip
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


@functools.cache
def code_stamp(packages: frozenset[Path]) -> str:
    """A digest of the Python and YAML files under ``packages`` (their paths, times and sizes):
    the code and entries a read of the store went through, so that a remembered read (see
    :meth:`lthbench.store.RunStore.recall`) is forgotten when either changes."""
    digest = hashlib.sha256()
    for package in sorted(packages):
        for folder, names, files in os.walk(package):
            names.sort()
            for name in sorted(files):
                if name.endswith((".py", ".yaml", ".yml")):
                    status = os.stat(os.path.join(folder, name))
                    digest.update(
                        f"{folder}/{name}:{status.st_mtime_ns}:{status.st_size};".encode()
                    )
    return digest.hexdigest()[:20]
