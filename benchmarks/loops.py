"""lthbench's training loop against a hand-written one and the machine's arithmetic: loops,
masks, cores, rounds, vectorised runs, evaluation, numerics and pruning."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from benchmarks.timing import REGISTRY, Timings, interleaved, ratio, ratios, spread
from lthbench.cli import main as lthbench_main
from lthbench.data.base import Splits, TensorSplit
from lthbench.data.loader import iterations_per_epoch
from lthbench.prune.magnitude import prune_global, prune_layerwise
from lthbench.prune.mask import apply_mask, full_mask, mask_hooks, prunable_weights
from lthbench.run import Context
from lthbench.runner.resolve import load_experiment
from lthbench.spec.entry import TrainingHparams
from lthbench.spec.load import load_entry
from lthbench.store import RunStore
from lthbench.train import train
from lthbench.train.flops import training_step_flops
from lthbench.train.loop import make_optimizer
from lthbench.train.vectorised import train_many

# --- the practical limit: a hand-written loop ---------------------------------------------


def plain_loop(model: nn.Module, splits: Splits, hp: TrainingHparams, seed: int) -> float:
    """The plainest correct training loop on the same model, data, batch and optimizer, with
    the same evaluations (start and end, validation and test); returns seconds."""
    assert isinstance(splits.train, TensorSplit)
    x_all = splits.train.prepare(splits.train.x)  # normalised once, not per batch
    y_all = splits.train.y
    per_epoch = iterations_per_epoch(len(y_all), hp.batch_size)
    total = hp.duration.to_iterations(per_epoch)
    optimizer = make_optimizer(model.parameters(), hp)
    generator = torch.Generator().manual_seed(seed)
    evaluations = [
        (split.prepare(split.x), split.y) for split in (splits.val, splits.test)
        if isinstance(split, TensorSplit)
    ]  # fmt: skip

    def evaluate() -> None:
        model.eval()
        with torch.no_grad():
            for x, y in evaluations:
                for start in range(0, len(y), 1000):
                    logits = model(x[start : start + 1000])
                    nn.functional.cross_entropy(logits, y[start : start + 1000]).item()
        model.train()

    began = time.perf_counter()
    evaluate()
    step = 0
    while step < total:
        order = torch.randperm(len(y_all), generator=generator)
        for index in order.split(hp.batch_size):
            loss = nn.functional.cross_entropy(model(x_all[index]), y_all[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if step == total:
                break
    evaluate()
    return time.perf_counter() - began


class BatchedMLP:
    """R runs of a LeNet written by hand: stacked weights, one ``baddbmm`` and one ReLU per
    layer."""

    def __init__(self, models: list[nn.Module]) -> None:
        layers = [[m for m in model.modules() if isinstance(m, nn.Linear)] for model in models]
        self.weights = [torch.stack([run[k].weight.detach().T for run in layers]).requires_grad_()
                        for k in range(len(layers[0]))]  # fmt: skip
        self.biases = [torch.stack([run[k].bias.detach()[None] for run in layers]).requires_grad_()
                       for k in range(len(layers[0]))]  # fmt: skip
        self.parameters = [*self.weights, *self.biases]

    def __call__(self, x: torch.Tensor, training: bool = True) -> torch.Tensor:
        x = x.flatten(2)
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            x = torch.relu(x) if k < len(self.weights) - 1 else x
        return x


class BatchedCNN:
    """R runs of the MNIST-1D BatchNorm CNN written by hand: the runs' channels side by side,
    each convolution one grouped convolution (groups = R), each BatchNorm one
    ``batch_norm`` over all runs' channels (with their own running statistics), the
    classifier one ``baddbmm``."""

    def __init__(self, models: list[nn.Module]) -> None:
        self.runs = len(models)
        convs = [[m for m in model.modules() if isinstance(m, nn.Conv1d)] for model in models]
        norms = [[m for m in model.modules() if isinstance(m, nn.BatchNorm1d)] for model in models]
        self.specs = [(c.stride[0], c.padding[0]) for c in convs[0]]
        self.convs = [torch.cat([run[k].weight.detach() for run in convs]).requires_grad_()
                      for k in range(len(self.specs))]  # fmt: skip
        self.gammas = [torch.cat([run[k].weight.detach() for run in norms]).requires_grad_()
                       for k in range(len(self.specs))]  # fmt: skip
        self.betas = [torch.cat([run[k].bias.detach() for run in norms]).requires_grad_()
                      for k in range(len(self.specs))]  # fmt: skip
        self.means = [
            torch.cat([run[k].running_mean for run in norms]) for k in range(len(self.specs))
        ]
        self.vars = [
            torch.cat([run[k].running_var for run in norms]) for k in range(len(self.specs))
        ]
        fcs = [model.fc for model in models]  # type: ignore[attr-defined]
        self.fc_weight = torch.stack([fc.weight.detach().T for fc in fcs]).requires_grad_()
        self.fc_bias = torch.stack([fc.bias.detach()[None] for fc in fcs]).requires_grad_()
        self.parameters = [*self.convs, *self.gammas, *self.betas, self.fc_weight, self.fc_bias]

    def __call__(self, x: torch.Tensor, training: bool = True) -> torch.Tensor:
        runs, batch = x.shape[:2]
        x = x.transpose(0, 1).reshape(batch, runs * x.shape[2], x.shape[3])
        for k, (stride, padding) in enumerate(self.specs):
            x = nn.functional.conv1d(x, self.convs[k], stride=stride, padding=padding,
                                     groups=runs)  # fmt: skip
            x = nn.functional.batch_norm(x, self.means[k], self.vars[k], self.gammas[k],
                                         self.betas[k], training=training)  # fmt: skip
            x = torch.relu(x)
        x = x.view(batch, runs, -1).transpose(0, 1)
        return torch.baddbmm(self.fc_bias, x, self.fc_weight)


def plain_batched_loop(
    net: BatchedMLP | BatchedCNN, runs: int, splits: Splits, hp: TrainingHparams,
    seeds: list[int],
) -> float:  # fmt: skip
    """The practical limit of vectorised training, written by hand for the net: the entry's
    optimizer fused over the stacks (as ``train_many`` has it), each run's own data order (one
    gather per step for all runs) and the same evaluations as the entry (every
    ``eval_interval``, validation and test). Returns seconds."""
    assert isinstance(splits.train, TensorSplit)
    optimizer = make_optimizer(net.parameters, hp, fused=True)
    x_all, y_all = splits.train.prepare(splits.train.x), splits.train.y
    per_epoch = iterations_per_epoch(len(y_all), hp.batch_size)
    total = hp.duration.to_iterations(per_epoch)
    every = hp.eval_interval.to_iterations(per_epoch)
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    evaluations = [(split.prepare(split.x), split.y)
                   for split in (splits.val, splits.test) if isinstance(split, TensorSplit)]  # fmt: skip

    def evaluate() -> None:
        with torch.no_grad():
            for x, y in evaluations:
                logits = net(x.expand(runs, *x.shape), training=False)
                nn.functional.cross_entropy(logits.flatten(0, 1), y.repeat(runs)).item()

    began = time.perf_counter()
    evaluate()
    orders: list[tuple[torch.Tensor, ...]] = []
    for step in range(total):
        if step % per_epoch == 0:
            orders = [torch.randperm(len(y_all), generator=g).split(hp.batch_size)
                      for g in generators]  # fmt: skip
        chosen = torch.cat([order[step % per_epoch] for order in orders])
        x = x_all[chosen].view(runs, -1, *x_all.shape[1:])
        loss = nn.functional.cross_entropy(net(x).flatten(0, 1), y_all[chosen],
                                           reduction="none").view(runs, -1).mean(1).sum()  # fmt: skip
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if (step + 1) % every == 0:
            evaluate()
    return time.perf_counter() - began


def context(
    entry: str,
    iterations: int,
    tmp: Path,
    evaluations: bool = False,
    training: dict[str, Any] | None = None,
) -> Context:
    """The registry entry with ``iterations`` steps, evaluating only at start and end (or at
    the entry's own interval, with ``evaluations``), and ``training`` settings overridden."""
    path = REGISTRY / f"{entry}.yaml"
    interval = load_entry(path).training.eval_interval if evaluations else f"{iterations}it"
    numerics = {"fused_optimizer": False, "flush_denormal": False, "channels_last": False}
    overrides = [
        f"training.duration={iterations}it",
        f"training.eval_interval={interval}",
        "training.milestones=[]",
        *(f"training.{key}={json.dumps(value)}"
          for key, value in {**numerics, **(training or {})}.items()),
    ]  # fmt: skip
    return Context(load_experiment(path, overrides), 0, RunStore(tmp), tmp, progress=False)


def lthbench_loop(ctx: Context, splits: Splits, masked: bool = False) -> Callable[[], float]:
    def run() -> float:
        model = ctx.build_model()
        hooks = None
        if masked:
            weights = prunable_weights(model)
            mask = prune_layerwise(
                {n: w.detach() for n, w in weights.items()}, full_mask(weights),
                dict.fromkeys(weights, 0.8),
            )  # fmt: skip
            apply_mask(model, mask)
            hooks = mask_hooks(model, mask)
        return train(model, splits, ctx.training, seed=0, hooks=hooks).wall_time_s

    return run


def plain(ctx: Context, splits: Splits) -> Callable[[], float]:
    return lambda: plain_loop(ctx.build_model(), splits, ctx.training, 0)


def matmul_flops(size: int = 1024, repeats: int = 5) -> Timings:
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    rates = []
    for _ in range(repeats):
        began = time.perf_counter()
        torch.mm(a, b)
        rates.append(2 * size**3 / (time.perf_counter() - began))
    return rates


# --- the benchmarks ------------------------------------------------------------------------


def bench_loops(tmp: Path, iterations: int, repeats: int) -> tuple[list[list[Any]], dict[str, Any]]:
    rows, figures = [], {}
    peak = matmul_flops()
    figures["matmul"] = peak
    fused, nhwc = {"fused_optimizer": True}, {"channels_last": True}
    cases = [("lenet_300_100, MNIST digits (784 inputs), batch 60", "mnist5k-lenet300-dense",
              [fused]),
             ("1-D CNN, mnist1d, batch 100", "mnist1d-cnn-dense", [fused]),
             ("test_resnet, digits at 32×32, batch 64", "digits-testresnet-dense", [fused, nhwc])]  # fmt: skip
    for label, entry, variants in cases:
        ctx = context(entry, iterations, tmp / entry)
        splits = ctx.splits()
        functions = {"plain": plain(ctx, splits), "lthbench": lthbench_loop(ctx, splits)}
        for flags in variants:
            name = "lthbench, " + ", ".join(f"`{key}`" for key in flags)
            variant = context(entry, iterations, tmp / f"{entry}-{'-'.join(flags)}",
                              training=flags)  # fmt: skip
            functions[name] = lthbench_loop(variant, splits)
        timings = interleaved(functions, repeats)
        info = ctx.data_info
        flops = training_step_flops(ctx.build_model(), ctx.training.batch_size,
                                    info.input_size)  # fmt: skip
        step = {k: [t / iterations for t in v] for k, v in timings.items()}
        figures[entry] = ratios(timings["lthbench"], timings["plain"])
        for name, values in step.items():
            rates = [flops / s for s in values]
            rows.append([
                label, name, spread(values, 1e3, 3),
                f"{ratio(timings[name], timings['plain']):.3f}",
                spread(rates, 1e-9), f"{statistics.median(rates) / statistics.median(peak):.1%}",
            ])  # fmt: skip
    return rows, figures


GEMM_WORKER = """
import sys, time, torch
torch.set_num_threads(1)
a, b = torch.randn(100, 500), torch.randn(500, 500)
for _ in range(50):
    a @ b
began = time.perf_counter()
for _ in range(4000):
    a @ b
print(2 * 100 * 500 * 500 * 4000 / (time.perf_counter() - began))
"""


def bench_cores() -> dict[int, list[float]]:
    """A training-sized matrix product's FLOP/s in each of N single-thread processes running
    at once (N = 1, 2): what N workers of the default executor get from this machine."""
    rates = {}
    for workers in (1, 2):
        procs = [subprocess.Popen([sys.executable, "-c", GEMM_WORKER], stdout=subprocess.PIPE,
                                  text=True) for _ in range(workers)]  # fmt: skip
        rates[workers] = [float(proc.communicate()[0]) for proc in procs]
    return rates


def sqrt_of_zeros(elements: int = 235_200, repeats: int = 100) -> tuple[float, float]:
    """Seconds of ``torch.sqrt`` over zeros and over positive values (Adam takes the square
    root of every second moment, and a pruned weight's stays exactly zero)."""
    out = []
    for values in (torch.zeros(elements), torch.rand(elements) + 0.5):
        values.sqrt()
        began = time.perf_counter()
        for _ in range(repeats):
            values.sqrt()
        out.append((time.perf_counter() - began) / repeats)
    return out[0], out[1]


def bench_mask(tmp: Path, iterations: int, repeats: int) -> tuple[list[list[Any]], dict[str, Any]]:
    """Masked (20% density, held exactly) against unmasked lthbench training of
    lenet_300_100 on MNIST digits, under the entry's Adam and under SGD with momentum; and the
    mask hooks' own time per step."""
    rows, figures = [], {}
    settings = {
        "adam": {},
        "sgd": {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9},
        "adam, `fused_optimizer`": {"fused_optimizer": True},
    }
    for index, (optimizer, update) in enumerate(settings.items()):
        ctx = context("mnist5k-lenet300-dense", iterations, tmp / f"mask-{index}",
                      training=update)  # fmt: skip
        splits = ctx.splits()
        timings = interleaved({"unmasked": lthbench_loop(ctx, splits),
                               "masked": lthbench_loop(ctx, splits, masked=True)}, repeats)  # fmt: skip
        figures[optimizer] = ratios(timings["masked"], timings["unmasked"])
        rows.append([optimizer, spread([t / iterations for t in timings["unmasked"]], 1e3, 3),
                     spread([t / iterations for t in timings["masked"]], 1e3, 3),
                     f"{statistics.median(figures[optimizer]):.3f}"])  # fmt: skip
    model = context("mnist5k-lenet300-dense", 1, tmp / "hooks").build_model()
    weights = prunable_weights(model)
    hooks = mask_hooks(model, {n: torch.rand(w.shape) < 0.2 for n, w in weights.items()})
    for parameter in model.parameters():
        parameter.grad = torch.randn_like(parameter)
    assert hooks.before_step is not None
    began = time.perf_counter()
    for step in range(200):
        hooks.before_step(step, model)
    figures["hooks_s"] = (time.perf_counter() - began) / 200
    figures["sqrt"] = sqrt_of_zeros()
    return rows, figures


def bench_rounds(tmp: Path) -> tuple[list[list[Any]], dict[str, float]]:
    """Wall time of an iterative lottery entry (one seed) for 2, 4, 8 rounds; 4 → 8 extended."""
    entry = str(REGISTRY / "mnist1d-lenet300-lottery.yaml")
    common = [entry, "--seed", "0", "--quiet", "--set", "method.params.controls=[]",
              "--set", "claims=[]"]  # fmt: skip
    times: dict[str, float] = {}
    for rounds in (2, 4, 8):
        store = tmp / f"rounds-{rounds}"
        began = time.perf_counter()
        status = lthbench_main(["run", *common, "--store", str(store),
                                "--set", f"method.params.rounds={rounds}"])  # fmt: skip
        if status != 0:
            raise RuntimeError(f"lthbench run exited with {status}")
        times[f"{rounds} rounds"] = time.perf_counter() - began
    shutil.copytree(tmp / "rounds-4", tmp / "extend")
    began = time.perf_counter()
    status = lthbench_main(
        ["run", *common, "--store", str(tmp / "extend"), "--set", "method.params.rounds=8"]
    )
    if status != 0:
        raise RuntimeError(f"lthbench run (extending 4 → 8 rounds) exited with {status}")
    times["4 → 8 from the store"] = time.perf_counter() - began
    per_round = times["2 rounds"] / 3
    rows = [[k, f"{v:.1f}", f"{v / per_round:.2f}"] for k, v in times.items()]
    return rows, times


def operator_time(function: Callable[[], object]) -> tuple[float, float]:
    """Seconds of ``function``'s operators (torch profiler, self time) in matrix products and
    in everything else (elementwise, reductions, optimizer kernels, copies)."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        function()
    events = [e for e in profiler.key_averages() if e.key.startswith("aten::")]
    products = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"}
    matrix = sum(e.self_cpu_time_total for e in events if e.key in products) * 1e-6
    return matrix, sum(e.self_cpu_time_total for e in events) * 1e-6 - matrix


ENTRY_NUMERICS = {"fused_optimizer": True, "flush_denormal": True}
"""The embedded Adam entries' numerics: every arm of the vectorised bench runs with them
(``train_many`` always steps a fused optimizer)."""

VECTORISED_NETS = {
    "MLP": ("lenet_300_100, mnist1d", "mnist1d-lenet300-dense", BatchedMLP),
    "BN CNN": ("1-D CNN with BatchNorm, mnist1d", "mnist1d-cnn-dense", BatchedCNN),
}


def bench_vectorised(
    tmp: Path, iterations: int, repeats: int
) -> tuple[list[list[Any]], dict[str, Any]]:
    """R runs one after another, vectorised (``train_many``) and as a hand-written batched loop
    (the practical limit), for R = 1, 4, 8, for an MLP and a BatchNorm CNN."""
    rows: list[list[Any]] = []
    figures: dict[str, Any] = {}
    for net, (label, entry, batched) in VECTORISED_NETS.items():
        ctx = context(entry, iterations, tmp / f"vectorised-{entry}", evaluations=True,
                      training=ENTRY_NUMERICS)  # fmt: skip
        net_rows, figures[net] = _vectorised_net(ctx, batched, iterations, repeats)
        rows += [[label, *row] for row in net_rows]
        if net == "MLP":
            figures["operators"] = _vectorised_operators(ctx, iterations)
    return rows, figures


def _vectorised_net(
    ctx: Context, batched: Any, iterations: int, repeats: int
) -> tuple[list[list[Any]], dict[Any, Any]]:
    splits, hp = ctx.splits(), ctx.training
    flops = training_step_flops(ctx.build_model(), hp.batch_size, ctx.data_info.input_size)
    rows, figures = [], {"step_flops": flops}
    for runs in (1, 4, 8):
        seeds = list(range(runs))

        def one_at_a_time(seeds: list[int] = seeds) -> float:
            began = time.perf_counter()
            for seed in seeds:
                train(ctx.build_model(seed), splits, hp, seed=seed)
            return time.perf_counter() - began

        def together(seeds: list[int] = seeds) -> float:
            models = [ctx.build_model(seed) for seed in seeds]
            began = time.perf_counter()
            train_many(models, splits, hp, seeds=seeds)
            return time.perf_counter() - began

        def by_hand(seeds: list[int] = seeds) -> float:
            net = batched([ctx.build_model(s) for s in seeds])
            return plain_batched_loop(net, len(seeds), splits, hp, seeds)

        arms = {"one": one_at_a_time, "many": together, "hand": by_hand}
        timings = interleaved(arms, repeats, warm_up=runs == 1)  # larger R: warm already
        steps = runs * iterations
        rates = {k: [steps / t for t in v] for k, v in timings.items()}
        figures[runs] = {k: ratios(timings["one"], timings[k]) for k in ("many", "hand")}
        speedups = {k: statistics.median(v) for k, v in figures[runs].items()}
        gflops = [
            f"{statistics.median(rates[k]) * flops * 1e-9:.1f}" for k in ("one", "many", "hand")
        ]
        rows.append([runs, spread(rates["one"], 1, 0), spread(rates["many"], 1, 0),
                     f"{speedups['many']:.2f}×", spread(rates["hand"], 1, 0),
                     f"{speedups['hand']:.2f}×", *gflops])  # fmt: skip
    return rows, figures


def _vectorised_operators(ctx: Context, iterations: int) -> dict[str, list[float]]:
    """Matrix products and other operators, ms per run and step: one run, 8 vectorised."""
    splits, hp, eight = ctx.splits(), ctx.training, list(range(8))
    one_run = operator_time(lambda: train(ctx.build_model(0), splits, hp, seed=0))
    vectorised = operator_time(
        lambda: train_many([ctx.build_model(s) for s in eight], splits, hp, seeds=eight)
    )
    return {
        "one": [t / iterations * 1e3 for t in one_run],
        "many": [t / iterations / 8 * 1e3 for t in vectorised],
    }


DENSE_ENTRIES = ["mnist1d-lenet300-dense", "mnist1d-mlp-dense", "mnist5k-lenet300-dense",
                 "mnist1d-cnn-dense", "digits-testresnet-dense"]  # fmt: skip


def bench_evaluation(tmp: Path) -> list[list[Any]]:
    """Evaluation's share of a full-budget run (seed 0, the entry's own settings), for the
    embedded tier's dense entries: every method's runs evaluate the same way."""
    from lthbench.train import loop

    spent = [0.0]
    evaluate = loop.evaluate

    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return evaluate(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - began

    rows = []
    loop.evaluate = timed  # type: ignore[assignment]
    try:
        for entry in DENSE_ENTRIES:
            experiment = load_experiment(REGISTRY / f"{entry}.yaml")
            ctx = Context(experiment, 0, RunStore(tmp / f"eval-{entry}"), tmp, progress=False)
            spent[0] = 0.0
            began = time.perf_counter()
            ctx.train_run()
            wall = time.perf_counter() - began
            evaluations = experiment.total_iterations // experiment.eval_iterations + 1
            rows.append([entry, evaluations, f"{wall:.2f}", f"{spent[0]:.2f}",
                         f"{spent[0] / wall:.1%}"])  # fmt: skip
    finally:
        loop.evaluate = evaluate  # type: ignore[assignment]
    return rows


def bench_numerics(tmp: Path) -> list[list[Any]]:
    """The Adam entries' opt-in numerics at their full budgets (seed 0): per-run seconds and
    how much of Adam's state ends subnormal under the default numerics."""
    from lthbench.train import loop

    made: list[torch.optim.Optimizer] = []
    make = loop.make_optimizer

    def keep(*args: Any, **kwargs: Any) -> torch.optim.Optimizer:
        made.append(make(*args, **kwargs))
        return made[-1]

    variants = {"default": {}, "`flush_denormal`": {"flush_denormal": True},
                "`fused_optimizer`": {"fused_optimizer": True},
                "both": {"flush_denormal": True, "fused_optimizer": True}}  # fmt: skip
    rows = []
    loop.make_optimizer = keep  # type: ignore[assignment]
    try:
        for entry in ("mnist1d-mlp-dense", "mnist5k-lenet300-dense"):
            path = REGISTRY / f"{entry}.yaml"
            for name, flags in variants.items():
                numerics = {"fused_optimizer": False, "flush_denormal": False, **flags}
                overrides = [f"training.{k}={json.dumps(v)}" for k, v in numerics.items()]
                ctx = Context(load_experiment(path, overrides), 0,
                              RunStore(tmp / f"numerics-{entry}-{len(rows)}"), tmp,
                              progress=False)  # fmt: skip
                began = time.perf_counter()
                result = ctx.train_run()
                wall = time.perf_counter() - began
                state = [v for s in made[-1].state.values() for v in s.values()
                         if torch.is_tensor(v) and v.numel() > 1]  # fmt: skip
                total = sum(v.numel() for v in state)
                tiny = torch.finfo(torch.float32).tiny
                subnormal = sum(int(((v != 0) & (v.abs() < tiny)).sum()) for v in state)
                rows.append([entry, name, f"{wall:.2f}", f"{subnormal / max(total, 1):.1%}",
                             f"{result['final_test_accuracy']:.4f}"])  # fmt: skip
    finally:
        loop.make_optimizer = make  # type: ignore[assignment]
    return rows


def bench_pruning() -> list[list[Any]]:
    """One pruning step (magnitude, 20%) per scope, and a round's other fixed costs: the mask
    figures a round caches and reading θ0 back, on the tier's nets and VGG-19's 20M weights."""
    from lthbench.models import create_model
    from lthbench.prune.mask import density, layer_densities, weight_movement
    from lthbench.spec.entry import ModelSpec

    rows = []
    cases = [("lenet_300_100", (1, 28, 28)), ("test_resnet", (1, 32, 32)),
             ("cifar_vgg19_bn", (3, 32, 32))]  # fmt: skip
    for name, size in cases:
        torch.manual_seed(0)
        model = create_model(ModelSpec(name=name), 10, size)
        weights = {k: v.detach() for k, v in prunable_weights(model).items()}
        mask = full_mask(prunable_weights(model))
        timings = {}
        began = time.perf_counter()
        prune_global(weights, mask, 0.2)
        timings["global"] = time.perf_counter() - began
        began = time.perf_counter()
        kept = prune_layerwise(weights, mask, dict.fromkeys(weights, 0.2))
        timings["layer-wise"] = time.perf_counter() - began
        initial = {k: v.clone() for k, v in model.state_dict().items()}
        began = time.perf_counter()
        weight_movement(initial, model.state_dict(), mask, kept)
        density(kept), layer_densities(kept)
        figures = time.perf_counter() - began
        with tempfile.TemporaryDirectory() as folder:
            run = RunStore(folder).run({"bench": name})
            run.save_state("init", model.state_dict())
            began = time.perf_counter()
            run.state("init")
            read = time.perf_counter() - began
        count = sum(w.numel() for w in weights.values())
        rows.append([name, f"{count:,}", f"{timings['global'] * 1e3:.1f}",
                     f"{timings['layer-wise'] * 1e3:.1f}", f"{figures * 1e3:.1f}",
                     f"{read * 1e3:.1f}"])  # fmt: skip
    return rows
