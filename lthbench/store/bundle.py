"""Results bundles: one zip file that carries runs from one store to another, verified on the
way in.

The format is plain and documented so that others can read it without lthbench:

- ``manifest.json``: ``{"format": "lthbench-bundle", "version": 1, "created": ISO date,
  "provenance": {machine, platform, python, torch, cuda, lthbench, commit}, "files":
  {member name: sha256 hex}, "variants": {entry id: [{"budget", "overrides"}]}}`` (the
  variants the runs were requested with, so that ``show`` and ``check`` find them after an
  import; optional);
- ``runs/<run id>/<file>``: a run's ``config.json`` (its identity and resolved settings),
  ``result.json``, ``log.json``, ``timing.json``, its cached figures (``<name>.json``), and its weights
  (``*.pt``) only when exported with them.

An import checks everything before it writes anything: the manifest, every member's name
(no absolute paths, no ``..``, no links, nothing outside ``runs/<id>/``), size and hash, that
each config hashes to its run id and that each result is well formed and names its run.
"""

from __future__ import annotations

import ast
import contextlib
import datetime
import hashlib
import json
import platform
import re
import stat
import zipfile
from collections.abc import Iterable
from importlib import metadata, util
from pathlib import Path
from typing import Any

from lthbench.errors import UserError
from lthbench.provenance import source_commit
from lthbench.spec.entry import ID_PATTERN
from lthbench.store.runs import RESULT, Run, RunStore, atomic_write, result_problem, run_id

FORMAT = "lthbench-bundle"
VERSION = 1
MANIFEST = "manifest.json"
MEMBER = re.compile(r"^runs/([0-9a-f]{20})/([A-Za-z0-9][A-Za-z0-9_.-]{0,100})$")
TEXT_FILES = re.compile(
    r"^(?!(imported|checkpoint|detector)\.json$)[A-Za-z0-9][A-Za-z0-9_.-]{0,80}\.json$"
)
"""A run's text files: config, result, log, timing, released, and the figures its method
cached under any plain name (a lottery round's ``figures-<rule>``, Early-Bird's ``slim``,
``early-bird-detection``, ``costs-early-bird-dense``, PaI's ``pai-mask``): records are read
from them, so a bundle without them reads as 'missing'. Never the import's own note."""
WEIGHT_FILES = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.pt$")
MAX_JSON_BYTES = 64 * 2**20
MAX_WEIGHT_BYTES = 4 * 2**30
MAX_TOTAL_BYTES = 64 * 2**30


def provenance() -> dict[str, Any]:
    """Where a bundle was made: the machine and the software (results carry their own too)."""
    from lthbench import __version__

    facts: dict[str, Any] = {"machine": platform.node(), "platform": platform.platform(),
                             "python": platform.python_version(), "lthbench": __version__}  # fmt: skip
    facts.update(_torch_versions())
    facts["commit"] = source_commit()
    return facts


def _torch_versions() -> dict[str, Any]:
    """torch's version and the CUDA it was built for, read from its files: importing torch
    (seconds) for two strings would make every export wait for it."""
    try:
        facts: dict[str, Any] = {"torch": metadata.version("torch")}
        spec = util.find_spec("torch")
    except (metadata.PackageNotFoundError, ValueError):
        return {}
    facts["cuda"] = None
    if spec is not None and spec.origin is not None:
        try:
            text = (Path(spec.origin).parent / "version.py").read_text()
        except OSError:
            return facts
        for line in text.splitlines():
            name, _, value = line.partition("=")
            key = {"cuda": "cuda", "__version__": "torch"}.get(name.split(":")[0].strip())
            if key is not None:
                with contextlib.suppress(ValueError, SyntaxError):
                    facts[key] = ast.literal_eval(value.strip())
    return facts


def export(runs: Iterable[Run], path: Path, weights: bool = False,
           created: str | None = None, variants: dict[str, list[Any]] | None = None) -> int:  # fmt: skip
    """Write the complete ``runs`` (their text files; weights with ``weights``) into a bundle
    at ``path``; returns how many runs it holds. With ``created`` given, the bundle is the
    same bytes for the same runs on the same machine (members carry no timestamps)."""
    files: dict[str, str] = {}
    count = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for run in runs:
            if not run.complete:
                continue
            count += 1
            for file in sorted(run.path.iterdir()):
                wanted = TEXT_FILES.match(file.name) or (weights and WEIGHT_FILES.match(file.name))
                if not wanted or not file.is_file() or file.is_symlink():
                    continue
                name = f"runs/{run.id}/{file.name}"
                data = file.read_bytes()
                files[name] = hashlib.sha256(data).hexdigest()
                bundle.writestr(_member(name, created), data)
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        manifest = {"format": FORMAT, "version": VERSION, "created": created or now,
                    "provenance": provenance(), "files": files,
                    "variants": dict(sorted((variants or {}).items()))}  # fmt: skip
        bundle.writestr(_member(MANIFEST, created), json.dumps(manifest, indent=1, sort_keys=True))
    return count


def _member(name: str, created: str | None) -> str | zipfile.ZipInfo:
    """A member name, or with ``created`` one dated 1980-01-01 (zip's epoch), so that the
    bytes do not depend on when the bundle was written."""
    if created is None:
        return name
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def verify(path: Path) -> tuple[dict[str, Any], dict[str, dict[str, bytes]]]:
    """The bundle's manifest and its runs' files by run id, after every check; raises
    :class:`UserError` (one line, naming the bundle and what is wrong) otherwise."""

    def bad(problem: str) -> UserError:
        return UserError(f"{path}: {problem}")

    try:
        bundle = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise bad(f"not a readable bundle ({error})") from None
    with bundle:
        infos = bundle.infolist()
        if sum(info.file_size for info in infos) > MAX_TOTAL_BYTES:
            raise bad("larger than a bundle may be")
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise bad("a member appears twice")
        if MANIFEST not in names:
            raise bad(f"no {MANIFEST}")
        manifest = _json(bundle.read(MANIFEST), MANIFEST, bad)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise bad(f"{MANIFEST}: not an lthbench bundle")
        if manifest.get("version") != VERSION:
            raise bad(f"{MANIFEST}: version {manifest.get('version')!r}; this lthbench reads "
                      f"{VERSION}")  # fmt: skip
        listed = manifest.get("files")
        if not isinstance(listed, dict):
            raise bad(f"{MANIFEST}: no file list")
        problem = _variants_problem(manifest.get("variants", {}))
        if problem is not None:
            raise bad(f"{MANIFEST}: variants: {problem}")
        runs: dict[str, dict[str, bytes]] = {}
        for info in infos:
            if info.filename == MANIFEST:
                continue
            _check_member(info, bad)
            if info.filename not in listed:
                raise bad(f"{info.filename}: not in the manifest")
            data = bundle.read(info)
            if hashlib.sha256(data).hexdigest() != listed[info.filename]:
                raise bad(f"{info.filename}: content does not match the manifest's hash")
            match = MEMBER.match(info.filename)
            assert match is not None
            runs.setdefault(match.group(1), {})[match.group(2)] = data
        missing = sorted(set(listed) - set(names))
        if missing:
            raise bad(f"{missing[0]}: in the manifest, not in the bundle")
    for identifier, files in runs.items():
        _check_run(identifier, files, bad)
    return manifest, runs


def _check_member(info: zipfile.ZipInfo, bad: Any) -> None:
    name = info.filename
    if not MEMBER.match(name) or ".." in name or name.startswith("/") or "\\" in name:
        raise bad(f"{name!r}: not a run file (runs/<run id>/<file>); refused")
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no type recorded (a plain file)
    if kind not in (0, stat.S_IFREG):
        raise bad(f"{name}: a link or special file; refused")
    file = name.rsplit("/", 1)[1]
    if TEXT_FILES.match(file):
        limit = MAX_JSON_BYTES
    elif WEIGHT_FILES.match(file):
        limit = MAX_WEIGHT_BYTES
    else:
        raise bad(f"{name}: not a file a run keeps; refused")
    if info.file_size > limit:
        raise bad(f"{name}: {info.file_size} bytes, more than such a file may be")


def _check_run(identifier: str, files: dict[str, bytes], bad: Any) -> None:
    for needed in ("config.json", RESULT, "log.json"):
        if needed not in files:
            raise bad(f"runs/{identifier}: no {needed}")
    config = _json(files["config.json"], f"runs/{identifier}/config.json", bad)
    identity = config.get("identity") if isinstance(config, dict) else None
    if not isinstance(identity, dict) or run_id(identity) != identifier:
        raise bad(f"runs/{identifier}/config.json: its identity does not hash to the run id")
    result = _json(files[RESULT], f"runs/{identifier}/{RESULT}", bad)
    if not isinstance(result, dict) or result.get("run_id") != identifier:
        raise bad(f"runs/{identifier}/{RESULT}: not this run's result")
    problem = result_problem(result)
    if problem is not None:
        raise bad(f"runs/{identifier}/{RESULT}: {problem}")
    if not isinstance(_json(files["log.json"], f"runs/{identifier}/log.json", bad), list):
        raise bad(f"runs/{identifier}/log.json: not an evaluation log")
    for name, data in files.items():
        if name.endswith(".json"):
            _json(data, f"runs/{identifier}/{name}", bad)


def _json(data: bytes, name: str, bad: Any) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise bad(f"{name}: not valid JSON") from None


def import_into(store: RunStore, path: Path) -> tuple[int, int, int]:
    """Verify the bundle, then add its runs to ``store``: (added, already there with the same
    result, kept beside a different local result). Nothing is written when a check fails.

    A run the store already has is not replaced: an imported result that differs (another
    device, another source) is kept under ``<store>/imported/<bundle>/runs/<id>/`` beside it,
    so both are there to compare."""
    manifest, runs = verify(path)
    source = {"bundle": path.name, "created": manifest.get("created"),
              "provenance": manifest.get("provenance", {})}  # fmt: skip
    added = same = beside = 0
    for identifier, files in sorted(runs.items()):
        local = store.root / "runs" / identifier
        existing = json.loads((local / RESULT).read_text()) if (local / RESULT).exists() else None
        if existing is None:
            target = local
            added += 1
        elif existing == json.loads(files[RESULT]):
            same += 1
            continue
        else:
            target = store.root / "imported" / path.stem / "runs" / identifier
            beside += 1
        _write_run(target, files, source)
    for entry_id, known in manifest.get("variants", {}).items():  # so show and check find them
        for variant in known:
            store.record_variant(entry_id, variant)
    return added, same, beside


def _variants_problem(variants: Any) -> str | None:
    """What is wrong with a manifest's variants (None: {entry id: [{budget, overrides}]})."""
    if not isinstance(variants, dict):
        return "not a mapping of entry ids"
    for entry_id, known in variants.items():
        if not isinstance(entry_id, str) or not re.match(ID_PATTERN, entry_id):
            return f"{entry_id!r} is not an entry id"
        if not isinstance(known, list):
            return f"{entry_id}: not a list"
        for variant in known:
            budget = variant.get("budget") if isinstance(variant, dict) else None
            overrides = variant.get("overrides") if isinstance(variant, dict) else None
            if (not isinstance(variant, dict) or set(variant) != {"budget", "overrides"}
                    or not isinstance(budget, int | float) or isinstance(budget, bool)
                    or not 0 < budget <= 1 or not isinstance(overrides, list)
                    or not all(isinstance(o, str) for o in overrides)):  # fmt: skip
                return f"{entry_id}: {variant!r} is not {{budget: (0, 1], overrides: [str]}}"
    return None


def _write_run(target: Path, files: dict[str, bytes], source: dict[str, Any]) -> None:
    """The result last, as a run's own writes go: a kill leaves an incomplete run, not a
    wrong one."""
    order = sorted(files, key=lambda name: name == RESULT)
    text = json.dumps(source, indent=1, sort_keys=True).encode()
    atomic_write(target / "imported.json", lambda stream: stream.write(text))
    for name in order:
        data = files[name]
        atomic_write(target / name, lambda stream, data=data: stream.write(data))
