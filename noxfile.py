"""Sessions for CI and contributors: `nox -s lint docs tests ray paper_smoke` is what CI runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "docs", "tests", "ray", "paper_smoke"]
nox.options.reuse_existing_virtualenvs = True

# Every session that needs torch shares one environment: PyPI's torch is a CUDA build of about
# 5.5 GB, and one copy per session filled CI's disk (`No space left on device` in the third).
SHARED_ENV = Path(__file__).parent / ".nox" / "lthbench"


class Shared:
    """The shared environment, created once and brought up to date by every session that uses
    it; `run` puts its bin/ first on PATH, so programs a script starts come from it too."""

    def __init__(self, session: nox.Session) -> None:
        self.session = session
        python = SHARED_ENV / "bin" / "python"
        if not python.exists():
            session.run(sys.executable, "-m", "venv", str(SHARED_ENV), external=True)
        session.run(str(python), "-m", "pip", "install", "--quiet", "--no-cache-dir",
                    "-e", ".[test,ray]", external=True)  # fmt: skip
        bin_dir = SHARED_ENV / "bin"
        self.bin_dir = bin_dir
        self.env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                    "VIRTUAL_ENV": str(SHARED_ENV)}  # fmt: skip

    def run(self, program: str, *args: str, **kwargs: object) -> None:
        own = self.bin_dir / program
        self.session.run(str(own) if own.exists() else program, *args, env=self.env,
                         external=True, **kwargs)  # fmt: skip


SMOKE_BUDGET = ["--budget", "0.04", "--set", "seeds=[0]"]


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """The test suite (tests marked slow are deselected: the paper smoke, its own session)."""
    Shared(session).run("pytest", "-m", "not slow", *session.posargs)


RAY_PORT = 6390
RAY_CLUSTER = f"""
set -eu
ip link set lo up
trap 'ray stop --force >/dev/null 2>&1 || true' EXIT
ray start --head --node-ip-address=127.0.0.1 --port={RAY_PORT} --num-cpus=1 \\
    --include-dashboard=false --disable-usage-stats >/dev/null
ray start --address=127.0.0.1:{RAY_PORT} --node-ip-address=127.0.0.1 --num-cpus=1 \\
    --disable-usage-stats >/dev/null
LTHBENCH_RAY_ADDRESS=127.0.0.1:{RAY_PORT} pytest -m ray -p no:cacheprovider "$@"
"""


@nox.session(venv_backend="none")
def ray(session: nox.Session) -> None:
    """A real two-node Ray cluster on loopback only (a private network namespace: Ray binds
    the external interface otherwise), the Ray tests against it, and the cluster stopped even
    when they fail."""
    Shared(session).run("unshare", "-n", "--", "bash", "-c", RAY_CLUSTER, "ray-cluster",
                        *session.posargs)  # fmt: skip


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(venv_backend="none")
def docs(session: nox.Session) -> None:
    """Fail when the generated references (docs/cli.md, docs/entries.md, docs/methods/) differ
    from the code; `python docs/generate.py` rewrites them."""
    Shared(session).run("python", "docs/generate.py", "--check")


@nox.session(venv_backend="none")
def smoke(session: nox.Session) -> None:
    """Every embedded entry end to end at a tiny budget, in a throwaway store."""
    env = Shared(session)
    store = session.create_tmp() + "/smoke-store"
    env.run("lthbench", "validate", "--fit", "registry")
    env.run("lthbench", "run", "--tier", "embedded", "--store", store, "--quiet", *SMOKE_BUDGET)
    env.run("lthbench", "run", "--tier", "embedded", "--store", store, "--dry-run", *SMOKE_BUDGET)


@nox.session(venv_backend="none")
def reproduce(session: nox.Session) -> None:
    """The README's main job: the embedded tier at full budget, its claims, the pages."""
    Shared(session).run("lthbench", "reproduce", *session.posargs)


STALE_PAGES = """
import filecmp, sys
from pathlib import Path
fresh, committed = Path(sys.argv[1]), Path(sys.argv[2])
names = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
names |= {p.relative_to(committed) for p in committed.rglob("*") if p.is_file()}
stale = sorted(str(n) for n in names if n.name not in ("performance.md", "results.zip")
               and not ((fresh / n).is_file() and (committed / n).is_file()
                        and filecmp.cmp(fresh / n, committed / n, shallow=False)))
if stale:
    sys.exit("stale pages (re-render with `lthbench plan && lthbench leaderboard`): "
             + ", ".join(stale))
print("leaderboards/ matches the store")
"""


@nox.session(venv_backend="none")
def leaderboard(session: nox.Session) -> None:
    """Re-render every tier's pages from the store (``-- --store PATH``; default
    $LTHBENCH_STORE) into a scratch folder and fail when the committed leaderboards/ differ
    (performance.md is the bench's and results.zip names the machine that wrote it: neither is
    compared)."""
    env = Shared(session)
    out = session.create_tmp() + "/pages"
    env.run("lthbench", "plan", "--json", *session.posargs, silent=True)
    env.run("lthbench", "leaderboard", "--out", out, *session.posargs, silent=True)
    env.run("python", "-c", STALE_PAGES, out, "leaderboards")


@nox.session(venv_backend="none")
def paper_smoke(session: nox.Session) -> None:
    """Every paper-tier entry end to end on synthetic files in the real formats (MNIST IDX,
    CIFAR pickles, an ImageNet folder): about a dozen steps each, one seed, claims checked."""
    Shared(session).run("pytest", "-m", "slow", "tests/test_paper_smoke.py", *session.posargs)


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """lthbench against a plain PyTorch loop and this machine's matmul FLOP/s, vectorised
    multi-run throughput, cost in rounds, the embedded tier: writes leaderboards/performance.md."""
    Shared(session).run("python", "-m", "benchmarks.performance", *session.posargs)
