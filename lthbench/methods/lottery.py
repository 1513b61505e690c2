"""``lottery``: Frankle & Carbin's winning tickets, by one-shot or iterative magnitude pruning.

Round 0 trains the dense network from θ0 (it is the same stored run as a ``dense`` entry with
the same settings, so the baseline is shared). Round r ≥ 1 prunes, resets the survivors to θ0
(or rewinds them to θ_k, saved during round 0, and trains from step k to T with the schedule
and data order continuing, as open_lth's ``start_step``) and trains again with the mask held
exactly:

- ``iterative``: round r prunes ``fraction`` of the survivors of round r-1's trained weights;
- ``oneshot``: round r prunes round 0's trained weights to the density of iterative round r,
  in one step, so both strategies are compared at equal densities.

Each round, and each control of a round, is its own cached, resumable run. Controls start
from the round's stored mask, never from a recomputed pruning chain:
``random_reinit`` (same mask, a fresh initialisation) and ``random_prune`` (a random mask with
the same per-layer densities, the original initialisation).
"""

from __future__ import annotations

import fnmatch
from typing import Annotated, Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from lthbench.data import DATASETS
from lthbench.errors import UserError
from lthbench.methods.base import (
    RUN_METRICS,
    Context,
    Method,
    RunSpec,
    reference_problem,
    register_method,
)
from lthbench.models import create_model
from lthbench.prune.criteria import CRITERIA
from lthbench.prune.distance import EarlyBirdDetector
from lthbench.prune.magnitude import random_mask_like
from lthbench.prune.mask import (
    Mask,
    apply_mask,
    density,
    full_mask,
    layer_densities,
    layer_of,
    mask_hooks,
    mask_to_cpu,
    prunable_weights,
)
from lthbench.prune.scope import remove_global, remove_layerwise
from lthbench.spec.duration import Duration, DurationField
from lthbench.spec.entry import Entry
from lthbench.store import Run
from lthbench.store.runs import run_id
from lthbench.train import TrainHooks
from lthbench.train.vectorised import not_vectorisable

Control = Literal["random_reinit", "random_prune"]
Fraction = Annotated[float, Field(gt=0, lt=1)]
REINIT_SEED_OFFSET = 2**31
"""random_reinit draws its initialisation from seed + 2^31: never an entry's own seed."""


class MaskStability(BaseModel):
    """Early-Bird detection on weight-magnitude masks: stop a round once they stop changing."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    window: Annotated[int, Field(ge=2, le=100)] = 5
    epsilon: Annotated[float, Field(gt=0, le=1)] = 0.1


class LotteryParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    strategy: Literal["iterative", "oneshot"] = "iterative"
    rounds: Annotated[int, Field(ge=1, le=100)]
    """Pruning rounds after the dense round 0."""
    prune_fraction: Fraction | None = None
    """Fraction of the surviving weights removed per round (e.g. 0.2)."""
    target_density: Fraction | None = None
    """Density reached after `rounds` rounds; each round keeps target_density^(1/rounds)."""
    criterion: str = "magnitude"
    """The per-weight scores pruning ranks by (a registered criterion: 'magnitude', 'random')."""
    scope: Literal["layerwise", "global"] = "layerwise"
    layer_fractions: dict[str, Fraction] = Field(default_factory=dict)
    """Per-layer fractions by fnmatch pattern over module names (layerwise only), e.g. {fc: 0.1}."""
    include_output: bool = False
    """Prune the output layer too (the LTH paper prunes LeNet's and Conv-2/4/6's at 10%)."""
    exclude: list[str] = Field(default_factory=list)
    """Module-name patterns never pruned (e.g. '*shortcut*' for ResNet shortcut convolutions)."""
    reset: Literal["init"] | DurationField = "init"
    """'init' resets survivors to θ0; a duration ('500it') rewinds them to θ_k, and the round
    then trains from step k to the end of the schedule (open_lth's ``start_step``)."""
    prune_biases: bool = False
    """Mask the biases of the pruned layers too, ranked with their layer's weights (the
    MNIST-1D notebook masks every parameter of its layers)."""
    prune_at: DurationField | None = None
    """Prune from each round's weights at this iteration instead of its final weights (the
    MNIST-1D notebook prunes from the step-1000 checkpoint of a 1501-step round)."""
    controls: list[Control] = Field(default_factory=list)
    early_bird_stop: MaskStability | None = None
    """At every evaluation, the mask the next pruning step would take from the current
    weights joins a FIFO; the round (and round 0) ends once they stop changing (You et al.)."""
    vectorise: bool = False
    """Train each round's ticket and its controls at once as one batched model (torch.func).
    Results agree with one-run training within floating-point tolerance, not bit for bit, so
    these runs carry ``vectorised`` in their identity. Needs controls, a model without
    BatchNorm or dropout, precision fp32 and no early_bird_stop."""

    @model_validator(mode="after")
    def _consistent(self) -> LotteryParams:
        if (self.prune_fraction is None) == (self.target_density is None):
            raise ValueError("give exactly one of prune_fraction and target_density")
        if self.layer_fractions and self.scope != "layerwise":
            raise ValueError("layer_fractions needs scope 'layerwise'")
        if self.layer_fractions and self.target_density is not None:
            raise ValueError("layer_fractions needs prune_fraction (a target fixes every layer)")
        if len(set(self.controls)) != len(self.controls):
            raise ValueError("controls are listed twice")
        if self.criterion not in CRITERIA:
            raise ValueError(
                f"criterion {self.criterion!r} is unknown; allowed: {sorted(CRITERIA)}"
            )
        if self.criterion != "magnitude" and self.early_bird_stop is not None:
            raise ValueError(
                "early_bird_stop tracks magnitude masks; it needs criterion 'magnitude'"
            )
        return self

    @property
    def fraction(self) -> float:
        """Fraction of survivors removed per round (per layer unless overridden)."""
        if self.prune_fraction is not None:
            return self.prune_fraction
        assert self.target_density is not None
        return 1.0 - self.target_density ** (1.0 / self.rounds)

    @property
    def rewind_point(self) -> Duration | None:
        return None if self.reset == "init" else self.reset  # type: ignore[return-value]

    def chain_identity(self) -> dict[str, Any]:
        """What determines the pruning chain. `rounds` joins it only when it sets the
        fraction (target_density), so extending a prune_fraction entry reuses its rounds."""
        exclude = {"controls", "vectorise"} | (
            {"rounds"} if self.prune_fraction is not None else set()
        )
        return self.model_dump(mode="json", exclude_defaults=True, exclude=exclude)


def _seed(context: Context, round_: int) -> int:
    """The seed of a criterion's randomness for the mask of ``round_`` (apart from the
    random_prune control's stream)."""
    return (context.seed * 1000 + round_) * 2 + 1


def _meta_model(entry: Entry) -> nn.Module:
    """The entry's network on the meta device: shapes without memory, for checks."""
    info = DATASETS[entry.dataset.name].info(entry.dataset)
    with torch.device("meta"):
        return create_model(entry.model, info.num_classes, info.input_size)


@register_method
class Lottery(Method):
    name = "lottery"
    Params = LotteryParams
    metrics = RUN_METRICS | {"density", "round", "weight_movement_kept", "weight_movement_all"}

    def claim_problem(self, claim: Any, params: Any) -> str | None:
        problem = reference_problem(claim.reference, {"dense", *params.controls})
        if problem:
            return problem
        if "ratio" in claim.where:
            return "where.ratio: lottery results are selected by density, round and control"
        control = claim.where.get("control")
        if control is not None and control not in params.controls:
            return (
                f"where.control: {control!r} is not among this entry's controls {params.controls}"
            )
        round_ = claim.where.get("round")
        if round_ is not None and not (isinstance(round_, int) and 0 <= round_ <= params.rounds):
            return f"where.round: {round_!r} is not a round of this entry (0-{params.rounds})"
        for key in ("density", "min_density", "max_density"):
            value = claim.where.get(key)
            if value is not None and not (isinstance(value, float | int) and 0 < value <= 1):
                return f"where.{key}: {value!r} is not in (0, 1]"
        low, high = claim.where.get("min_density", 0.0), claim.where.get("max_density", 1.0)
        if ("min_density" in claim.where or "max_density" in claim.where) and (
            "density" not in claim.where or not low <= claim.where["density"] <= high  # type: ignore[operator]
        ):
            return "where.density: a density range needs a density inside it"
        return None

    def check(self, entry: Entry, params: Any, iterations_per_epoch: int) -> None:
        self._check_reachable(entry, params)
        if params.vectorise:
            self._check_vectorisable(entry, params)
        total = entry.training.duration.to_iterations(iterations_per_epoch)
        rewind, prune_at = params.rewind_point, params.prune_at
        if (
            rewind is not None
            and prune_at is not None
            and (
                prune_at.to_iterations(iterations_per_epoch)
                < rewind.to_iterations(iterations_per_epoch)
            )
        ):
            raise UserError(
                f"method.params.prune_at: {prune_at} is before the rewind point {rewind}; "
                "rewound rounds start there, so they have no weights at that step"
            )
        points = (("reset", "rewind point", params.rewind_point),
                  ("prune_at", "pruning point", params.prune_at))  # fmt: skip
        for key, what, point in points:
            if point is not None and point.to_iterations(iterations_per_epoch) >= total:
                raise UserError(
                    f"method.params.{key}: {what} {point} is not before the end of training "
                    f"({entry.training.duration})"
                )

    def _check_vectorisable(self, entry: Entry, params: LotteryParams) -> None:
        reason = not_vectorisable(_meta_model(entry), entry.precision)
        if reason is None and params.early_bird_stop is not None:
            reason = "early_bird_stop ends each run at its own time"
        if reason is None and params.rewind_point is not None:
            reason = "a rewound round starts at the rewind point's step (one-run loop only)"
        if reason is None and not params.controls:
            reason = "without controls a round is one run; there is nothing to batch"
        if reason is not None:
            raise UserError(f"method.params.vectorise: cannot vectorise: {reason}")

    def _check_reachable(self, entry: Entry, params: LotteryParams) -> None:
        """Every pruned layer must keep at least one weight after the last round."""
        model = _meta_model(entry)
        weights = self._weights(model, params)
        if params.scope == "global":
            fractions = {"all prunable layers": 1.0 - (1.0 - params.fraction) ** params.rounds}
            sizes = {"all prunable layers": sum(w.numel() for w in weights.values())}
        else:  # per layer: a layer's masked weight and bias are pruned together
            fractions, sizes = {}, {}
            for name, fraction in self._layer_fractions(model, params, params.rounds).items():
                fractions[layer_of(name)] = fraction
                sizes[layer_of(name)] = sizes.get(layer_of(name), 0) + weights[name].numel()
        for name, fraction in fractions.items():
            kept = sizes[name] * (1.0 - fraction)
            if kept < 1:
                key = "target_density" if params.target_density is not None else "rounds"
                raise UserError(
                    f"method.params.{key}: after {params.rounds} rounds {name} would keep "
                    f"{kept:.2g} of its {sizes[name]} weights; the target is unreachable"
                )

    # -- identities ---------------------------------------------------------------------
    def _dense_extra(self, params: LotteryParams) -> dict[str, Any]:
        rewind = params.rewind_point
        extra = {} if rewind is None else {"saves_state_at": str(rewind)}
        if params.prune_at is not None:
            extra["saves_pruning_weights_at"] = str(params.prune_at)
        if params.early_bird_stop is not None:
            extra["early_bird_stop"] = params.early_bird_stop.model_dump(mode="json")
        return extra

    def _extra(
        self, params: LotteryParams, round_: int, control: str | None = None
    ) -> dict[str, Any]:
        if round_ == 0:
            return self._dense_extra(params)
        extra: dict[str, Any] = {"lottery": params.chain_identity(), "round": round_}
        if params.rewind_point is not None:
            extra["trains_from"] = "rewind_point"
        if params.vectorise:
            extra["vectorised"] = True
        if control is not None:
            extra["control"] = control
        return extra

    def plan(self, context: Context, params: Any) -> list[Run]:
        rounds = range(1, params.rounds + 1)
        specs = [s for r in rounds for s in self._round_specs(context, params, r)]
        return [
            context.run_for(extra)
            for extra in [self._dense_extra(params)] + [s.extra for s in specs]
        ]

    def _round_specs(self, context: Context, params: LotteryParams, round_: int) -> list[RunSpec]:
        """A round's runs: the ticket first (its prepare stores the mask the controls read),
        then each control."""
        start = self._start_iteration(context, params)
        ticket = RunSpec(self._extra(params, round_), self._prepare_ticket(context, params, round_),
                         f"round {round_}", start)  # fmt: skip
        return [ticket] + [
            RunSpec(
                self._extra(params, round_, control),
                self._prepare_control(context, params, round_, control),
                f"round {round_} {control}",
                start,
            )
            for control in params.controls
        ]

    def _start_iteration(self, context: Context, params: LotteryParams) -> int:
        """Rounds after the first start where their weights come from: θ0 at step 0, θ_k at k."""
        rewind = params.rewind_point
        return 0 if rewind is None else rewind.to_iterations(context.iterations_per_epoch)

    # -- masks --------------------------------------------------------------------------
    def _weights(self, model: nn.Module, params: LotteryParams) -> dict[str, nn.Parameter]:
        return prunable_weights(model, params.include_output, params.exclude, params.prune_biases)

    def _layer_fractions(
        self, model: nn.Module, params: LotteryParams, steps: int
    ) -> dict[str, float]:
        """Per-tensor fraction removed by ``steps`` rounds at once (1 step: the round's own)."""
        fractions = {}
        for name in self._weights(model, params):
            module = layer_of(name)
            fraction = next(
                (
                    f
                    for pattern, f in params.layer_fractions.items()
                    if fnmatch.fnmatchcase(module, pattern)
                ),
                params.fraction,
            )
            fractions[name] = 1.0 - (1.0 - fraction) ** steps
        return fractions

    def prune(
        self,
        model: nn.Module,
        params: LotteryParams,
        weights: dict[str, Any],
        mask: Mask,
        steps: int,
        seed: int = 0,
    ) -> Mask:
        """The mask after ``steps`` rounds' worth of pruning ``weights`` under ``mask``: the
        entry's criterion scores them (``seed`` fixes a random one), its scope removes the
        lowest-scoring survivors."""
        scores = CRITERIA[params.criterion].scores(
            {name: weights[name] for name in mask}, seed=seed, model=model
        )
        if params.scope == "global":
            return remove_global(scores, mask, 1.0 - (1.0 - params.fraction) ** steps)
        return remove_layerwise(scores, mask, self._layer_fractions(model, params, steps))

    def _mask_of(
        self, context: Context, params: LotteryParams, round_: int, model: nn.Module
    ) -> Mask:
        if round_ == 0:
            return full_mask(self._weights(model, params))
        stored = context.run_for(self._extra(params, round_)).load_tensors("mask.pt")
        if stored is None:
            raise RuntimeError(f"round {round_} has no stored mask")
        return stored

    def _ticket_mask(
        self, context: Context, params: LotteryParams, round_: int, model: nn.Module
    ) -> Mask:
        """Prune the trained weights of the round this one grows from."""
        source = round_ - 1 if params.strategy == "iterative" else 0
        steps = 1 if params.strategy == "iterative" else round_
        weights = "final.pt" if params.prune_at is None else "prune_from.pt"
        trained = context.run_for(self._extra(params, source)).load_tensors(weights)
        if trained is None:
            raise RuntimeError(f"round {source} has no {weights}")
        previous = self._mask_of(context, params, source, model)
        return self.prune(model, params, trained, previous, steps, _seed(context, round_))

    def _reset_state(self, context: Context, params: LotteryParams) -> dict[str, torch.Tensor]:
        dense = context.run_for(self._dense_extra(params))
        name = "init.pt" if params.rewind_point is None else "rewind.pt"
        state = dense.load_tensors(name)
        if state is None:
            raise RuntimeError(f"round 0 has no {name}")
        return state

    # -- the chain ----------------------------------------------------------------------
    def run(self, context: Context, params: Any) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        dense = context.train_run(
            self._dense_extra(params), self._prepare_dense(context, params), "round 0"
        )
        if dense is None:
            return records
        records.append(self._record(context, params, 0, None, dense))
        for round_ in range(1, params.rounds + 1):
            specs = self._round_specs(context, params, round_)
            if params.vectorise:
                results = context.train_together(specs)
            else:
                results = [
                    context.train_run(
                        s.extra, s.prepare, s.label, start_iteration=s.start_iteration
                    )
                    for s in specs
                ]
            if results[0] is None:
                break
            for control, result in zip([None, *params.controls], results, strict=True):
                if result is not None:
                    records.append(self._record(context, params, round_, control, result))
        return records

    def _prepare_dense(self, context: Context, params: LotteryParams) -> Any:
        def prepare(model: nn.Module, run: Run) -> TrainHooks:
            mask = full_mask(self._weights(model, params))
            return TrainHooks.combine(
                self._save_rewind(context, run, params, model),
                self._save_pruning_weights(context, run, params, model, 0),
                self._stop_when_stable(params, run, mask),
            )

        return prepare

    def _save_state_at(
        self, run: Run, point: Duration | None, filename: str, model: nn.Module, start: int,
        per_epoch: int,
    ) -> TrainHooks | None:  # fmt: skip
        """Keep the round's weights at ``point`` as ``filename`` (a rewind point, or the weights
        the next pruning reads); at the round's first step they are the prepared model."""
        if point is None:
            return None
        at = point.to_iterations(per_epoch)
        if at == start:
            run.save_tensors(filename, model.state_dict())

        def after_step(iteration: int, model: nn.Module) -> None:
            if iteration == at:
                run.save_tensors(filename, model.state_dict())

        return TrainHooks(after_step=after_step)

    def _save_rewind(
        self, context: Context, run: Run, params: LotteryParams, model: nn.Module
    ) -> TrainHooks | None:
        return self._save_state_at(run, params.rewind_point, "rewind.pt", model, 0,
                                   context.iterations_per_epoch)  # fmt: skip

    def _save_pruning_weights(
        self, context: Context, run: Run, params: LotteryParams, model: nn.Module, start: int
    ) -> TrainHooks | None:
        """With ``prune_at``, keep the round's weights at that iteration for the next pruning."""
        return self._save_state_at(run, params.prune_at, "prune_from.pt", model, start,
                                   context.iterations_per_epoch)  # fmt: skip

    def _stop_when_stable(self, params: LotteryParams, run: Run, mask: Mask) -> TrainHooks | None:
        """Early-Bird detection on the next round's magnitude mask (``early_bird_stop``).

        The FIFO's masks are kept in the run's ``detector.pt`` with their iterations, so a
        resumed round replays exactly those its checkpoint had seen."""
        rule = params.early_bird_stop
        if rule is None:
            return None
        detector = EarlyBirdDetector(window=rule.window, epsilon=rule.epsilon)
        saved = run.load()
        seen = saved["iteration"] if saved else 0
        stored = run.load_tensors("detector.pt") or {"iterations": [], "masks": []}
        queue = [
            (i, m) for i, m in zip(stored["iterations"], stored["masks"], strict=True) if i <= seen
        ]
        for _, flat in queue:
            detector.update(flat)

        def after_eval(iteration: int, model: nn.Module) -> dict[str, Any]:
            if iteration == 0:
                return {}
            trained = {name: w.detach() for name, w in self._weights(model, params).items()}
            upcoming = self.prune(model, params, trained, mask, 1)
            flat = torch.cat([upcoming[name].flatten().cpu() for name in sorted(upcoming)])
            drawn = detector.update(flat)
            queue.append((iteration, flat))
            del queue[: -rule.window]
            run.save_tensors("detector.pt", {"iterations": [i for i, _ in queue],
                                             "masks": [m for _, m in queue]})  # fmt: skip
            return {"mask_stable": drawn or detector.draw_index is not None}

        return TrainHooks(after_eval=after_eval, stop=lambda _: detector.draw_index is not None)

    def _prepare_ticket(self, context: Context, params: LotteryParams, round_: int) -> Any:
        def prepare(model: nn.Module, run: Run) -> TrainHooks:
            mask = run.load_tensors("mask.pt")
            if mask is None:
                mask = mask_to_cpu(self._ticket_mask(context, params, round_, model))
                run.save_tensors("mask.pt", mask)
            model.load_state_dict(self._reset_state(context, params))
            apply_mask(model, mask)
            return TrainHooks.combine(
                mask_hooks(model, mask),
                self._save_pruning_weights(
                    context, run, params, model, self._start_iteration(context, params)
                ),
                self._stop_when_stable(params, run, mask),
            )

        return prepare

    def _prepare_control(
        self, context: Context, params: LotteryParams, round_: int, control: str
    ) -> Any:
        def prepare(model: nn.Module, run: Run) -> TrainHooks:
            ticket_mask = self._mask_of(context, params, round_, model)
            if control == "random_reinit":
                mask = ticket_mask
                model.load_state_dict(
                    context.build_model(context.seed + REINIT_SEED_OFFSET).state_dict()
                )
            else:
                generator = torch.Generator().manual_seed(context.seed * 1000 + round_)
                mask = random_mask_like(ticket_mask, generator)
                model.load_state_dict(self._reset_state(context, params))
            run.save_tensors("mask.pt", mask)
            apply_mask(model, mask)
            return TrainHooks.combine(
                mask_hooks(model, mask), self._stop_when_stable(params, run, mask)
            )

        return prepare

    # -- records ------------------------------------------------------------------------
    def _record(
        self,
        context: Context,
        params: LotteryParams,
        round_: int,
        control: str | None,
        result: dict[str, Any],
    ) -> dict[str, Any]:
        run = context.run_for(self._extra(params, round_, control))
        # mask figures depend on the pruning rule too (round 0 is shared by entries): cache
        # them per rule, written once by a process that may write, so `show` stays cheap
        cache = f"figures-{run_id(params.chain_identity())[:12]}.json"
        figures = run.read_json(cache)
        if figures is None:
            model = context.build_model()
            mask = (
                run.load_tensors("mask.pt") if round_ else full_mask(self._weights(model, params))
            )
            assert mask is not None
            initial, final = run.load_tensors("init.pt"), run.load_tensors("final.pt")
            kept = self.prune(model, params, final, mask, 1, _seed(context, round_ + 1))
            movement_kept, movement_all = _movement(initial, final, mask, kept)
            figures = {
                "density": density(mask),
                "layer_densities": layer_densities(mask),
                "weight_movement_kept": movement_kept,
                "weight_movement_all": movement_all,
            }
            if not context.read_only:
                run.write_json(cache, figures)
        return {
            **result,
            "round": round_,
            "control": control,
            "strategy": params.strategy,
            **figures,
        }


def _movement(
    initial: dict[str, torch.Tensor], final: dict[str, torch.Tensor], mask: Mask, kept: Mask
) -> tuple[float, float]:
    """Mean |θ_final − θ_init| of the weights the next pruning keeps, and of all unpruned ones."""
    kept_sum = all_sum = 0.0
    kept_count = all_count = 0
    for name, alive in mask.items():
        delta = (final[name] - initial[name]).abs().float()
        kept_sum += float(delta[kept[name]].sum())
        kept_count += int(kept[name].sum())
        all_sum += float(delta[alive].sum())
        all_count += int(alive.sum())
    return kept_sum / max(kept_count, 1), all_sum / max(all_count, 1)
