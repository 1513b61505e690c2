"""Plugins from outside the package: registries that refuse a clash, ``--plugin`` and
``$LTHBENCH_PLUGINS`` in the CLI and in worker processes, and the example plugin package
(examples/lthbench-lamp) installed into a fresh environment and run end to end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from lthbench.errors import UserError
from lthbench.prune.criteria import CRITERIA
from lthbench.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
LAMP = ROOT / "examples" / "lthbench-lamp"

REVERSED = '''
from lthbench.prune.criteria import Criterion, register_criterion

@register_criterion
class Reversed(Criterion):
    """Keeps the smallest weights: a criterion no built-in has."""
    name = "reversed_magnitude_plugin"

    def scores(self, weights, *, seed=0, **context):
        return {n: -w.detach().abs().float().cpu() for n, w in weights.items()}
'''

CLASH = """
from lthbench.prune.criteria import Criterion, register_criterion

@register_criterion
class Magnitude(Criterion):
    name = "magnitude"
"""


def _cli(*args: str, env: dict[str, str] | None = None,
         python: str = sys.executable) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run([python, "-m", "lthbench", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)  # fmt: skip


def test_a_registry_refuses_a_second_registration_of_a_name() -> None:
    registry: Registry[int] = Registry("widget")
    registry.add("a", 1, "pkg.one")
    registry.add("a", 1, "pkg.one")  # the same module again (a re-import) is not a clash
    with pytest.raises(
        UserError, match=r"widget 'a' is registered twice: by pkg.one and by pkg.two"
    ):
        registry.add("a", 2, "pkg.two")
    assert registry["a"] == 1 and registry.added_by("pkg") == ["a"]


def test_a_plugin_cannot_replace_a_built_in(tmp_path: Path) -> None:
    plugin = tmp_path / "clash_plugin.py"
    plugin.write_text(CLASH)
    done = _cli("--plugin", str(plugin), "list")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"lthbench: error: --plugin: plugin '{plugin}': criterion 'magnitude' is registered "
        "twice: by lthbench.prune.criteria and by clash_plugin; rename one of them"
    ]
    assert CRITERIA.sources["magnitude"] == "lthbench.prune.criteria"


def test_a_plugin_that_does_not_import_is_one_line_and_exit_2() -> None:
    done = _cli("list", env={"LTHBENCH_PLUGINS": "no_such_plugin_module"})
    assert done.returncode == 2
    assert done.stderr.strip() == ("lthbench: error: $LTHBENCH_PLUGINS: plugin "
                                   "'no_such_plugin_module' cannot be loaded: ModuleNotFoundError: "
                                   "No module named 'no_such_plugin_module'")  # fmt: skip


def test_list_plugins_names_what_each_plugin_added(tmp_path: Path) -> None:
    plugin = tmp_path / "reversed_plugin.py"
    plugin.write_text(REVERSED)
    for flags, env in (((f"--plugin={plugin}",), None),
                       ((), {"LTHBENCH_PLUGINS": str(plugin)})):  # fmt: skip
        done = _cli("list", "--plugins", "--json", *flags, env=env)
        assert done.returncode == 0, done.stderr
        (shown,) = json.loads(done.stdout)["plugins"]
        assert shown["plugin"] == "reversed_plugin"
        assert shown["added"] == {"criterion": ["reversed_magnitude_plugin"]}


def test_a_plugin_criterion_trains_in_worker_processes(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    """Spawned workers load the command's plugins before they read a job: the criterion is
    found there, and the masks are the plugin's (the smallest weights kept)."""
    plugin = tmp_path / "reversed_plugin.py"
    plugin.write_text(REVERSED)
    path = write_entry({"method": {"name": "lottery", "params": {
        "rounds": 1, "prune_fraction": 0.5, "criterion": "reversed_magnitude_plugin"}}})  # fmt: skip
    store = tmp_path / "store"
    done = _cli("run", str(path), "--store", str(store), "--quiet", "--executor", "processes",
                "--jobs", "2", "--plugin", str(plugin))  # fmt: skip
    assert done.returncode == 0, done.stderr
    masks = [torch.load(m, weights_only=True) for m in store.glob("runs/*/mask.pt")]
    assert len(masks) == 2  # round 1 of both seeds
    assert _cli("run", str(path), "--store", str(store)).returncode == 2  # no plugin: unknown


def test_the_example_plugin_scores_as_lamp_defines() -> None:
    sys.path.insert(0, str(LAMP))
    try:
        from lthbench_lamp import lamp_scores
    finally:
        sys.path.remove(str(LAMP))
    weight = torch.tensor([[3.0, -1.0], [0.0, 2.0]])
    # squared, ascending: 0, 1, 4, 9; sums of self and larger: 14, 14, 13, 9
    expected = torch.tensor([[9 / 9, 1 / 14], [0.0, 4 / 13]])
    assert torch.allclose(lamp_scores(weight), expected)
    assert lamp_scores(torch.randn(50, 20)).max() == 1.0  # a layer's largest weight: 1


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment that sees this one's packages (lthbench, torch) through a
    site directory, with the example plugin pip-installed into it (no index, no build
    isolation: nothing is downloaded)."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    own = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    here = sysconfig.get_paths()["purelib"]
    Path(own, "parent-env.pth").write_text(f"import site; site.addsitedir({here!r})\n")
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                              "--no-index", "--no-build-isolation", str(LAMP)],
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    assert install.returncode == 0, install.stderr
    return python


def test_the_example_plugin_installed_runs_end_to_end(
    fresh_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed, the plugin's entry point is found with no flag: its criterion and its entry
    are there for validate, run (the default executor and processes), check and leaderboard;
    no file under lthbench/ knows it."""
    python = str(fresh_env)
    monkeypatch.chdir(tmp_path)  # no ./registry here: the shipped one, and the plugin's entries
    listed = _cli("list", "--plugins", "--json", python=python)
    assert listed.returncode == 0, listed.stderr
    (shown,) = json.loads(listed.stdout)["plugins"]
    assert shown["plugin"] == "lthbench_lamp" and shown["added"] == {"criterion": ["lamp"]}
    assert shown["from"] == "entry point of lthbench-lamp"
    assert _cli("validate", python=python).returncode == 0
    entry = "mnist1d-lenet300-lamp"
    flags = ["--set", "seeds=[0,1]", "--budget", "0.1"]
    records = {}
    for name, executor in (
        ("default", []),
        ("processes", ["--executor", "processes", "--jobs", "2"]),
    ):
        store = tmp_path / name
        done = _cli(
            "run", entry, "--store", str(store), "--quiet", *flags, *executor, python=python
        )
        assert done.returncode == 0, done.stderr
        shown = _cli("show", entry, "--store", str(store), "--json", *flags, python=python)
        records[name] = [(r["seed"], r["round"], r["final_test_accuracy"], r["density"])
                         for r in json.loads(shown.stdout)]  # fmt: skip
    assert len(records["default"]) == 8 and records["default"] == records["processes"]
    checked = _cli("check", entry, "--store", str(tmp_path / "default"), "--json", *flags,
                   python=python)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    verdicts = {v["claim_id"]: v["verdict"] for v in json.loads(checked.stdout)}
    assert verdicts["LAMP-schedule"] == "reproduced"  # 0.5^3 of the weights, exactly as promised
    assert verdicts["LAMP-vs-uniform"] == "missing"  # its sibling was not run here
    pages = tmp_path / "pages"
    board = _cli("leaderboard", entry, "--store", str(tmp_path / "default"), "--out", str(pages),
                 *flags, python=python)  # fmt: skip
    assert board.returncode == 0, board.stderr
    assert any(entry in p.read_text() for p in pages.rglob("*.md"))
    assert not any(re.search(r"\blamp\b", p.read_text(), re.IGNORECASE)
                   for p in (ROOT / "lthbench").rglob("*.py"))  # fmt: skip
