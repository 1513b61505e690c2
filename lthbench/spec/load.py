"""YAML files → schema-valid entries, with errors that name the file, the key and what is allowed.

This is the schema layer only (:mod:`lthbench.spec.entry`). What the schema cannot know (timm
models, datasets, methods and their params, claim metrics, the budget in iterations) is
checked once, when an entry is resolved into an experiment (:mod:`lthbench.runner.resolve`).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from lthbench.errors import UserError
from lthbench.spec.entry import Entry, sibling_of

MAX_FILE_BYTES = 256 * 1024
REGISTRY_ENV = "LTHBENCH_REGISTRY"


_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser where PyYAML has it: the registry parses about ten times faster."""


class _StrictSafeLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """Safe loading, plus: no duplicate keys (aliases are refused before, by :func:`safe_load`)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictSafeLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictSafeLoader.construct_mapping
)


def safe_load(text: str) -> Any:
    """YAML without anchors or aliases (no billion laughs: refused from the event stream,
    before anything is composed) and without duplicate keys."""
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.MarkedYAMLError(
                problem="aliases (*name) are not allowed in registry entries",
                problem_mark=event.start_mark,
            )
    return yaml.load(text, Loader=_StrictSafeLoader)


def read_yaml(path: Path) -> Any:
    try:
        size = path.stat().st_size
    except OSError as error:
        raise UserError(f"{path}: cannot read ({error.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise UserError(f"{path}: file is {size} bytes; entries are at most {MAX_FILE_BYTES}")
    try:
        text = path.read_text(encoding="utf-8")
        return safe_load(text)
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise UserError(f"{path}: YAML error at {where}{error.problem}") from None
    except yaml.YAMLError as error:
        raise UserError(f"{path}: YAML error: {error}") from None


def _key_path(location: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in location:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif not (isinstance(item, str) and item.startswith("function-")):
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def describe(
    error: ValidationError, path: Path, prefix: str = "", overrides: Iterable[str] = (),
    model: type[BaseModel] | None = None,
) -> UserError:  # fmt: skip
    """Every problem of a file in one message: the key, what is wrong, the value given, and a
    close spelling for an unknown key (``model``: the schema the keys are looked up in). A
    problem at a key a ``--set`` wrote is blamed on that ``--set``."""
    set_keys = {o.partition("=")[0]: o for o in overrides}
    problems = []
    for detail in error.errors(include_url=False):
        location = tuple(part for part in detail["loc"] if not str(part).startswith("["))
        key = _key_path(location)
        if prefix:
            key = f"{prefix}.{key}" if key != "(top level)" else prefix
        message = _message(detail, model, location)
        override = set_keys.get(key)
        problems.append(f"--set {override}: {message}" if override else f"{key}: {message}")
    return UserError(f"{path}: " + "; ".join(problems))


def _message(detail: Any, model: type[BaseModel] | None, location: tuple[Any, ...]) -> str:
    kind = detail["type"]
    message = detail["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        allowed = _keys_at(model, location[:-1]) if model else []
        close = difflib.get_close_matches(str(location[-1]), allowed, n=1)
        return "unknown key" + (f"; did you mean {close[0]!r}?" if close else "")
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        message = message.replace("Input should be", "allowed:")
    if "input" in detail and not isinstance(detail["input"], dict | list):
        message += f" (given: {detail['input']!r})"
    return message


def _keys_at(model: type[BaseModel], location: tuple[Any, ...]) -> list[str]:
    """The keys the schema allows at ``location`` (nested models followed by field name)."""
    current: Any = model
    for part in location:
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            return []
        annotation = fields[part].annotation
        nested = [a for a in (annotation, *get_args(annotation)) if isinstance(a, type)
                  and issubclass(a, BaseModel)]  # fmt: skip
        if not nested:
            return []
        current = nested[0]
    fields = getattr(current, "model_fields", {})
    return [alias or name for name, f in fields.items() for alias in [f.alias]]


def parse_overrides(overrides: Iterable[str]) -> list[tuple[list[str], Any]]:
    """``--set training.duration=200it`` → (["training", "duration"], "200it")."""
    parsed = []
    for override in overrides:
        key, sep, text = override.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise UserError(
                f"--set {override!r}: write it as key.path=value, e.g. training.lr=0.01"
            )
        try:
            value = safe_load(text)
        except yaml.YAMLError:
            raise UserError(f"--set {override!r}: the value is not valid YAML") from None
        parsed.append((key.split("."), value))
    return parsed


def _apply(data: dict[str, Any], overrides: list[tuple[list[str], Any]], path: Path) -> None:
    for keys, value in overrides:
        node = data
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise UserError(f"{path}: --set {'.'.join(keys)}: {key} is not a mapping")
            node = child
        node[keys[-1]] = value


def load_entry(path: Path | str, overrides: Iterable[str] = ()) -> Entry:
    """Read one entry file against the schema; raise :class:`UserError` naming file and key.

    ``overrides`` (``key.path=value``) change the entry before validation, e.g. a smoke budget.
    """
    path, overrides = Path(path), list(overrides)
    parsed_overrides = parse_overrides(overrides)
    if path.suffix not in (".yaml", ".yml"):
        raise UserError(f"{path}: entries are .yaml files")
    data = read_yaml(path)
    if data is None:
        raise UserError(
            f"{path}: the file is empty; an entry is a mapping of keys (id, model, ...)"
        )
    if not isinstance(data, dict):
        raise UserError(
            f"{path}: (top level): an entry is a mapping of keys, not a {type(data).__name__}"
        )
    _apply(data, parsed_overrides, path)
    try:
        entry = Entry.model_validate(data)
    except ValidationError as error:
        raise describe(error, path, overrides=overrides, model=Entry) from None
    if entry.id != path.stem:
        raise UserError(f"{path}: id: {entry.id!r} must equal the file name {path.stem!r}")
    entry._file = str(path)
    return entry


def default_registry() -> Path:
    """``$LTHBENCH_REGISTRY`` when set (an explicit choice beats an implicit one), else
    ``./registry`` when the working directory has one (a user's clone, with their new
    entries), else the one beside the installed package. ``--registry`` beats all three."""
    if os.environ.get(REGISTRY_ENV):
        return Path(os.environ[REGISTRY_ENV])
    here = Path.cwd() / "registry"
    if here.is_dir():
        return here
    package = Path(__file__).resolve().parent.parent
    checkout = package.parent / "registry"
    return checkout if checkout.is_dir() else package / "registry"


PLUGIN_ENTRIES: list[Path] = []
"""Folders of entries that plugins added (:func:`register_entries`), searched after the
registry."""


def register_entries(folder: Path | str) -> None:
    """A plugin's folder of entries: listed, run, checked and published beside the registry's
    (an id taken twice is an error, as within the registry)."""
    path = Path(folder).resolve()
    if not path.is_dir():
        raise UserError(f"register_entries: {path} is not a folder")
    if path not in PLUGIN_ENTRIES:
        PLUGIN_ENTRIES.append(path)


def registry_folders(registry: Path | None = None) -> list[Path]:
    """Where entries are found: the registry (``registry`` or the default) and the folders of
    plugins."""
    return [registry or default_registry(), *PLUGIN_ENTRIES]


def known_ids(registry: Path | None = None) -> set[str]:
    """The ids of every entry file where entries are found (file names; nothing parsed)."""
    return {path.stem for folder in registry_folders(registry) if folder.is_dir()
            for path in folder.rglob("*") if path.suffix in (".yaml", ".yml") and path.is_file()}  # fmt: skip


def unknown_siblings(entry: Entry, known: set[str]) -> str | None:
    """What is wrong when a claim compares with an entry that does not exist (it would read
    'missing' forever, the word for 'not run yet')."""
    for index, claim in enumerate(entry.claims):
        sibling = sibling_of(claim.reference)
        if sibling is not None and sibling not in known:
            return (f"{entry.file}: claims[{index}].reference: entry:{sibling} names no entry "
                    "(see `lthbench list`)")  # fmt: skip
    return None


def entry_files(paths: Iterable[Path | str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*")
                                if p.suffix in (".yaml", ".yml") and p.is_file()))  # fmt: skip
        elif path.exists():
            files.append(path)
        else:
            raise UserError(f"{path}: no such file or directory")
    return files


def load_entries(paths: Iterable[Path | str], overrides: Iterable[str] = ()) -> list[Entry]:
    """Load every entry under the given files and folders; entry ids must be unique."""
    entries: list[Entry] = []
    where: dict[str, Path] = {}
    overrides = list(overrides)
    for path in entry_files(paths):
        entry = load_entry(path, overrides)
        if entry.id in where and where[entry.id] != path:
            raise UserError(
                f"{path}: id: duplicate entry id {entry.id!r} (also in {where[entry.id]})"
            )
        where[entry.id] = path
        entries.append(entry)
    return entries


def find_entries(
    names: Iterable[str], registry: Path | None = None, overrides: Iterable[str] = ()
) -> list[Entry]:
    """Entries by id (looked up in the registry) or by path to a file or folder."""
    folders = registry_folders(registry)
    resolved: list[Entry] = []
    for name in names:
        candidate = Path(name)
        if candidate.suffix in (".yaml", ".yml") or candidate.is_dir() or os.sep in name:
            resolved.extend(load_entries([candidate], overrides))
            continue
        matches = [m for folder in folders if folder.is_dir()
                   for m in sorted(folder.rglob(f"{name}.yaml"))]  # fmt: skip
        if not matches:
            searched = ", ".join(str(f) for f in folders)
            close = difflib.get_close_matches(name, sorted(known_ids(registry)), n=3)
            hint = f"; did you mean: {', '.join(close)}" if close else ""
            raise UserError(f"unknown entry {name!r}: no {name}.yaml under {searched} (see "
                            f"`lthbench list`){hint}")  # fmt: skip
        if len(matches) > 1:
            raise UserError(f"entry id {name!r} is defined twice: {matches[0]} and {matches[1]}")
        resolved.append(load_entry(matches[0], overrides))
    seen: set[str] = set()
    return [e for e in resolved if not (e.id in seen or seen.add(e.id))]
