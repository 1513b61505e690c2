"""Sessions for CI and contributors: `nox -s lint tests` is what CI runs."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

SMOKE_BUDGET = ["--budget", "0.04", "--set", "seeds=[0]"]


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (fast by default; `nox -s tests -- -m slow` for the slow checks)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "not slow", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def smoke(session: nox.Session) -> None:
    """Every embedded entry end to end at a tiny budget, in a throwaway store."""
    session.install("-e", ".")
    store = session.create_tmp() + "/smoke-store"
    session.run("lthbench", "validate", "registry")
    session.run("lthbench", "run", "--tier", "embedded", "--store", store, "--quiet", *SMOKE_BUDGET)
    session.run(
        "lthbench", "run", "--tier", "embedded", "--store", store, "--dry-run", *SMOKE_BUDGET
    )
