"""Every kind of run every method makes keeps its identity: each registry entry's planned runs
for its first seed (lottery rounds and controls, Early-Bird search, EB-Train and baselines, PaI
densities and ablations, instability parents and copies, dense runs) are pinned by id.

A changed id strands every stored result of that run: users' stores, bundles, the published
pages. When a change is meant (a new store format), rewrite the pins with
``python -m tests.test_identities`` and say so in the changelog.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from lthbench.runner.jobs import Job
from lthbench.runner.resolve import select
from lthbench.spec.load import default_registry
from lthbench.store import RunStore

PINS = Path(__file__).with_name("pinned_run_ids.json")


def planned_ids(store: RunStore) -> dict[str, list[str]]:
    """Entry id → the ids of the runs its method plans for its first seed (an empty store:
    every run a seed can make is planned)."""
    planned = {}
    for experiment in select([], default_registry()):
        job = Job(experiment, experiment.seeds[0])
        planned[experiment.id] = [run.id for run in job.method.plan(job.results(store),
                                                                     experiment.params)]  # fmt: skip
    return planned


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    return planned_ids(RunStore(tmp_path_factory.mktemp("empty-store")))


PINNED: dict[str, list[str]] = json.loads(PINS.read_text()) if PINS.exists() else {}


@pytest.mark.parametrize("entry", sorted(PINNED))
def test_run_ids_of_every_entry_are_pinned(entry: str, planned: dict[str, list[str]]) -> None:
    assert planned.get(entry) == PINNED[entry]


def test_every_entry_has_pins(planned: dict[str, list[str]]) -> None:
    assert sorted(planned) == sorted(PINNED), (
        "a new entry: pin it (python -m tests.test_identities)"
    )


if __name__ == "__main__":
    store_root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/lthbench-pin-store")
    PINS.write_text(json.dumps(planned_ids(RunStore(store_root)), indent=1, sort_keys=True) + "\n")
