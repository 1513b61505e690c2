"""lthbench's cost against a hand-written PyTorch loop and the machine's arithmetic limit.

``nox -s bench`` runs this file and writes ``leaderboards/performance.md``. Every figure is
measured here, in one process run, with repeats interleaved (A, B, A, B, ...) so that drift of
the machine hits both sides alike; each is reported as min / median / max, ratios as the median
of per-repeat ratios. Nothing here is a test: a slow machine gives slow figures, never a failure.

What is compared, and why:

- **loop**: :func:`lthbench.train.train` against the plainest correct loop (pre-normalised
  tensors in memory, ``randperm`` per epoch, forward, loss, backward, step; the same two
  evaluations): the practical limit, so the ratio is lthbench's overhead.
- **mask**: the same lthbench loop with a 20%-density mask held exactly, against unmasked.
- **FLOP/s**: training FLOPs per step (``torch.utils.flop_counter``) over step time, against a
  large matrix product's FLOP/s on this machine: the physical limit.
- **rounds**: an iterative lottery entry at 2, 4 and 8 rounds, and 4 → 8 from the store.
- **vectorised**: R runs of one architecture at once (``train_many``) against R one-run loops
  and against a hand-written batched loop (the practical limit of vectorising).
- **tier**: ``lthbench reproduce`` of the embedded tier at a reduced budget in a fresh store.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pickle
import platform
import re
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
from tabulate import tabulate
from torch import nn

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

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "registry" / "embedded"
Timings = list[float]


def spread(values: Timings, scale: float = 1.0, digits: int = 2) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid * scale:.{digits}f} ({low * scale:.{digits}f}–{high * scale:.{digits}f})"


def interleaved(
    functions: dict[str, Callable[[], float]], repeats: int, warm_up: bool = True
) -> dict[str, Timings]:
    """Each function returns seconds; run them in turn ``repeats`` times (after one warm-up,
    unless the same code has just run)."""
    for function in functions.values() if warm_up else ():
        function()
    timings: dict[str, Timings] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            timings[name].append(function())
    return timings


def table(rows: list[list[Any]], headers: list[str]) -> str:
    return tabulate(rows, headers=headers, tablefmt="github")


def ratios(a: Timings, b: Timings) -> list[float]:
    """Per-repeat ratios: each repeat ran ``a`` and ``b`` back to back, so a slow spell of a
    shared machine scales both."""
    return [x / y for x, y in zip(a, b, strict=True)]


def ratio(a: Timings, b: Timings) -> float:
    return statistics.median(ratios(a, b))


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


def bench_tier(tmp: Path, budget: float) -> tuple[float, str]:
    """The default command at a reduced budget (default executor: every core)."""
    command = [sys.executable, "-m", "lthbench", "reproduce", "--tier", "embedded",
               "--budget", str(budget), "--store", str(tmp / "tier"), "--out", str(tmp / "pages"),
               "--quiet"]  # fmt: skip
    began = time.perf_counter()
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode not in (0, 1) or "Traceback" in done.stderr:  # 1: a required claim failed
        raise RuntimeError(
            f"lthbench reproduce exited with {done.returncode}: {done.stderr[-2000:]}"
        )
    return time.perf_counter() - began, " ".join(["lthbench", *command[3:]]).replace(
        str(tmp), "$TMP"
    )


ETA = re.compile(r"ETA (?:(\d+):)?(\d+):(\d\d)")
RUN_LINE = re.compile(r"\(\d+\.\ds, run [0-9a-f]{20}\)$")
ETA_MINUTES = (1, 3, 10, 20)


def bench_full_tier(store: Path, pages: Path) -> dict[str, Any]:
    """The README's main command as a new user types it: a fresh store, default flags, its
    output a pipe (its pages go to ``pages``: ``--full-tier-pages leaderboards`` republishes
    from this run). Every line is timed as it arrives: the ETA shown at minutes 1, 3, 10 and
    20 against the time the last run really ended, and when the first verdict line came."""
    if store.exists() and any(store.iterdir()):
        raise SystemExit(f"--full-tier-store {store}: not empty; the full tier needs a fresh store")
    environment = {**os.environ, "LTHBENCH_STORE": str(store)}
    environment.pop("LTHBENCH_EXECUTOR", None)
    began = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "lthbench", "reproduce", "--out",
                                str(pages)], env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)  # fmt: skip
    assert process.stdout is not None
    lines = [(time.perf_counter() - began, line.rstrip("\n")) for line in process.stdout]
    seconds = time.perf_counter() - began
    if process.wait() not in (0, 1):
        raise RuntimeError(f"lthbench reproduce failed: {[t for _, t in lines[-20:]]}")
    trained = max((t for t, line in lines if RUN_LINE.search(line)), default=seconds)
    shown: dict[int, dict[str, float]] = {}
    for minute in ETA_MINUTES:
        before = [(t, ETA.search(line)) for t, line in lines if t <= minute * 60 and "ETA" in line]
        before = [(t, m) for t, m in before if m is not None]
        if before and trained > minute * 60:
            t, match = before[-1]
            hours, minutes, secs = (int(g or 0) for g in match.groups())
            eta = hours * 3600 + minutes * 60 + secs
            shown[minute] = {"at": t, "eta": eta, "true": trained - t}
    first_verdict = next((t for t, line in lines if line.startswith("verdicts: ")), None)
    planned = subprocess.run([sys.executable, "-m", "lthbench", "plan", "--tier", "embedded",
                              "--json", "--store", str(store)], env=environment,
                             capture_output=True, text=True, check=True)  # fmt: skip
    flops = sum(e["training_flops"] + e["evaluation_flops"] for e in json.loads(planned.stdout))
    store.with_suffix(".log").write_text("".join(f"{t:8.1f}  {line}\n" for t, line in lines))
    return {"seconds": seconds, "trained": trained, "flops": flops, "eta": shown,
            "first_verdict": first_verdict,
            "runs": sum(1 for _ in store.rglob("result.json"))}  # fmt: skip


def bench_reads(store: Path) -> dict[str, Any]:
    """Read times at the full tier's store and at a synthetic one 8× larger
    (:mod:`benchmarks.reads`)."""
    from benchmarks.reads import stored_runs, synthetic_store, time_reads

    registry = ROOT / "registry"
    with tempfile.TemporaryDirectory(dir=store.parent) as tmp:
        grown_registry, grown = synthetic_store(store, registry, Path(tmp), 8)
        return {
            label: {"runs": stored_runs(where), "times": time_reads(where, reg, 3)}
            for label, (where, reg) in {"today": (store, registry),
                                        "grown": (grown, grown_registry)}.items()
        }  # fmt: skip


READ_COMMANDS = {
    "list": ["list"],
    "show ENTRY": ["show", "mnist1d-mlp-lottery"],
    "check": ["check"],
    "run (all stored)": ["run"],
}


def bench_startup(store: Path, budget: float, repeats: int = 5) -> dict[str, Timings]:
    """Seconds of each read-only command against the store the tier bench filled (the budget
    flag selects its runs), median of ``repeats`` fresh processes."""
    times: dict[str, Timings] = {}
    for label, command in READ_COMMANDS.items():
        flags = ["--store", str(store)]
        if command[0] in ("check", "run"):
            flags += ["--budget", str(budget), "--tier", "embedded"]
        times[label] = []
        for _ in range(repeats):
            began = time.perf_counter()
            subprocess.run([sys.executable, "-m", "lthbench", *command, *flags], check=False,
                           capture_output=True, timeout=120)  # fmt: skip
            times[label].append(time.perf_counter() - began)
            if times[label][-1] > 30:
                raise RuntimeError(f"lthbench {' '.join(command)} trained: not a cache hit")
    return times


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


# --- the page ------------------------------------------------------------------------------


def floor_of(full_tier: dict[str, Any], cores: dict[int, list[float]]) -> float:
    """Seconds the tier's planned FLOPs take at two workers' measured matrix-product rate."""
    return full_tier["flops"] / sum(cores[2])


def main_command_goals(full_tier: dict[str, Any], rate: float, loop_overhead: float,
                       two_workers: float) -> list[tuple[Any, ...]]:  # fmt: skip
    floor = full_tier["flops"] / rate
    rows: list[tuple[Any, ...]] = [
        (
            "the README's main command ÷ its FLOP floor",
            [full_tier["seconds"] / floor],
            2.0,
            True,
            f"the loops' efficiency: lthbench's loop is within {loop_overhead - 1:.0%} of a "
            "plain PyTorch loop, but small nets' steps reach a fraction of the matrix-product "
            f"rate, and two workers get {two_workers:.2f}× one worker's (see Cores and FLOP/s)",
        ),
        (
            "first verdict line of the main command, minutes",
            [(full_tier["first_verdict"] or full_tier["seconds"]) / 60],
            5.0,
            True,
            "entry order",
        ),
    ]
    for minute, shown in sorted(full_tier["eta"].items(), key=lambda kv: int(kv[0])):
        error = abs(shown["eta"] - shown["true"]) / shown["true"]
        rows.append((f"ETA's error at minute {minute} (|shown − true| ÷ true)", [error], 0.25,
                     True, "families whose runs had not yet ended were priced at the plan's "
                     "FLOPs over the matrix-product rate"))  # fmt: skip
    return rows


def read_goals(reads: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (f"`lthbench {command}` at {found['runs']:,} runs, seconds", times, 1.0, True,
         "start-up (imports, 0.35–0.45 s) and one stat per run folder")
        for found in reads.values() for command, times in found["times"].items()
    ]  # fmt: skip


def eta_sentence(full_tier: dict[str, Any]) -> str:
    shown = sorted(full_tier["eta"].items(), key=lambda kv: int(kv[0]))
    if not shown:
        return ""
    parts = [f"minute {m}: {s['eta'] / 60:.1f} min shown, {s['true'] / 60:.1f} true"
             for m, s in shown]  # fmt: skip
    return "The ETA said, at " + "; ".join(parts) + "."


def render(out: Path, sections: dict[str, Any], args: argparse.Namespace) -> None:
    loops, figures = sections["loops"]
    rounds, _ = sections["rounds"]
    vectorised, vector_figures = sections["vectorised"]
    speedup, by_hand = (statistics.median(vector_figures["MLP"][8][k]) for k in ("many", "hand"))
    step_flops = vector_figures["MLP"]["step_flops"]
    matmul = statistics.median(figures["matmul"])
    (one_products, one_other), (many_products, many_other) = (
        vector_figures["operators"]["one"],
        vector_figures["operators"]["many"],
    )
    if by_hand < 3.0:
        verdict = (
            f"Even the hand-written batched loop reaches only {by_hand:.2f}× at 8 runs, so "
            "3× is out of reach for this net on this machine at one thread whatever the "
            f"implementation; `train_many` gets {speedup / by_hand:.0%} of what hand-written "
            "code gets (the rest is the overhead of `vmap` and `functional_call`)."
        )
    else:
        verdict = (
            f"The hand-written batched loop reaches {by_hand:.2f}× at 8 runs, so the gap to "
            "the goal is the overhead of `vmap` and `functional_call`, not the arithmetic."
        )
    tier_seconds, tier_command = sections["tier"]
    startup: dict[str, Timings] = sections["startup"]
    full_tier = sections.get("full_tier")
    mask_rows, mask_figures = sections["mask"]
    zeros, positive = mask_figures["sqrt"]

    cores = sections["cores"]
    two_workers = sum(cores[2]) / statistics.median(cores[1])
    hand_speedups = {
        net: statistics.median(vector_figures[net][8]["hand"]) for net in VECTORISED_NETS
    }
    loop_overhead = max(statistics.median(figures[e]) for e in ("mnist5k-lenet300-dense",
                                                                 "mnist1d-cnn-dense"))  # fmt: skip
    loop_why = ("per step it also records the training loss and accuracy, sets the scheduled "
                "learning rate and gathers its batch (see Training loop)")  # fmt: skip
    goals = [
        ("lthbench loop ÷ plain loop, lenet_300_100", figures["mnist5k-lenet300-dense"], 1.10,
         True, loop_why),
        ("lthbench loop ÷ plain loop, 1-D CNN", figures["mnist1d-cnn-dense"], 1.10, True,
         loop_why),
        ("masked (20% density) ÷ unmasked, Adam", mask_figures["adam"], 1.05, True,
         f"torch's Adam takes the square root of a pruned weight's zero second moment "
         f"{zeros / positive:.0f}× slower than of a positive one on this CPU (see Masks); "
         "the embedded entries' `fused_optimizer` does not pay it"),
        ("masked (20% density) ÷ unmasked, SGD", mask_figures["sgd"], 1.05, True,
         "the mask hook's multiply per step (see Masks)"),
        *(
            (f"8 runs vectorised ÷ one after another, {net} (throughput)",
             vector_figures[net][8]["many"], 3.0, False,
             f"even a hand-written batched loop reaches only {hand_speedups[net]:.2f}× here: "
             "batching removes per-operator overhead, not the arithmetic and memory traffic "
             "that grow with the runs (see Vectorised)")
            for net in VECTORISED_NETS
        ),
        *(
            (f"`train_many` ÷ hand-written batched loop at 8 runs, {net} (throughput)",
             [m / h for m, h in zip(vector_figures[net][8]["many"], vector_figures[net][8]["hand"],
                                    strict=True)],
             0.9, False,
             "torch.func's batching: a vmapped layer is a batched product plus a separate bias "
             "add and copies, and every operator passes the vmap dispatcher; the hand-written "
             "loop fuses them (`baddbmm`, grouped convolution)")
            for net in VECTORISED_NETS
        ),
        *((f"`lthbench {label}`, seconds", times, 1.0, True, "start-up")
          for label, times in startup.items()),
        *(main_command_goals(full_tier, sum(cores[2]), loop_overhead, two_workers)
          if full_tier is not None else []),
        *(read_goals(sections["reads"]) if "reads" in sections else []),
    ]  # fmt: skip

    def goal(value: float, limit: float, below: bool = True) -> str:
        met = value <= limit if below else value >= limit
        return "met" if met else f"**missed** by {abs(value - limit):.2f}"

    lines = [
        "# Performance",
        "",
        f"_Written by `nox -s bench` on {datetime.date.today().isoformat()}: "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch thread(s) (an entry's default `resources.cpus`), "
        f"{args.repeats} interleaved repeats; figures are median (min–max), ratios the "
        "median of per-repeat ratios._",
        "",
        "## Goals",
        "",
        table(
            [
                [
                    label,
                    f"{statistics.median(values):.3f}",
                    f"{min(values):.3f}–{max(values):.3f}",
                    f"{'≤' if below else '≥'} {limit}",
                    goal(statistics.median(values), limit, below),
                    "" if goal(statistics.median(values), limit, below) == "met" else why,
                ]
                for label, values, limit, below, why in goals
            ],
            ["figure", "measured", "over repeats", "goal", "", "why"],
        ),
        "",
        f"## Training loop ({args.iterations} steps, evaluation at start and end)",
        "",
        "A training step of lthbench's loop against a hand-written loop on the same model, data "
        "and batch (the practical limit), and the FLOP/s each achieves (training FLOPs per step "
        "by `torch.utils.flop_counter`) as a share of a 1024² matrix product's "
        f"{spread(figures['matmul'], 1e-9)} GFLOP/s on this machine (the physical limit). "
        "Per step lthbench's loop also sums the training loss and accuracy its log records, "
        "sets the scheduled learning rate and normalises the batch it gathers; the plain loop "
        "does none of that. The `fused_optimizer` rows are the opt-in one-kernel optimizer "
        "step (other numerics, so other runs): not part of the goal, shown for what the "
        "optimizer's per-tensor step costs. The `channels_last` row holds the 2-D "
        "convolutions in NHWC order, oneDNN's faster CPU path (other kernels, so other runs; "
        "the test_resnet entries use it).",
        "",
        table(loops, ["model", "loop", "ms / step", "÷ plain", "GFLOP/s", "of matmul"]),
        "",
        f"## Masks ({args.iterations} steps, lenet_300_100, MNIST digits, batch 60)",
        "",
        "lthbench holds a mask exactly by zeroing pruned weights' gradients before each step "
        "(one multi-tensor multiply; a weight whose value, gradient and optimizer state are "
        "zero gets a zero update under SGD and Adam, and every evaluation checks that pruned "
        "weights are still zero). That hook costs "
        f"{mask_figures['hooks_s'] * 1e3:.3f} ms per step here. Under Adam a masked run "
        "is slower for another reason: a pruned weight's second moment stays exactly zero, and "
        f"`torch.sqrt` over zeros takes {zeros * 1e6:.0f} µs against {positive * 1e6:.0f} µs "
        "over positive values for the same 235,200 elements on this CPU "
        f"({zeros / positive:.0f}×), in every Adam step. That cost belongs to torch's "
        "Adam on this CPU, not to the mask mechanism; lthbench does not alter optimizer state "
        "to avoid it (the state of a pruned weight stays zero, which the tests check). The "
        "one-kernel Adam of `training.fused_optimizer: true` does not pay it (last row; other "
        "numerics, so an opt-in with its own run identities).",
        "",
        table(mask_rows, ["optimizer", "unmasked ms / step", "masked ms / step", "÷"]),
        "",
        "## Cost growth in rounds (`mnist1d-lenet300-lottery`, one seed, no controls)",
        "",
        "Every round is its own stored run, so cost is linear in rounds and extending an entry "
        "trains only the new rounds (the last column is in units of one round).",
        "",
        table(rounds, ["rounds", "wall s", "÷ one round"]),
        "",
        f"## Vectorised multi-run training ({args.iterations} steps, evaluating every 100 as "
        "the entries do)",
        "",
        "R runs with their own seeds trained as one batched model (`torch.func`: stacked "
        "parameters and BatchNorm running statistics, `functional_call`, `vmap`) against R "
        "one-run loops, and against a hand-written batched loop for the net (the MLP: stacked "
        "weights, one `baddbmm` per layer; the CNN: the runs' channels side by side, one "
        "grouped convolution and one `batch_norm` per layer; fused Adam, the same data orders "
        "and evaluations: the practical limit of vectorising); throughput in steps per second "
        "summed over runs, speed-ups over one at a time.",
        "",
        table(
            vectorised,
            [
                "net",
                "runs",
                "one at a time (steps/s)",
                "vectorised (steps/s)",
                "speed-up",
                "hand-written batched (steps/s)",
                "speed-up",
                "GFLOP/s one",
                "GFLOP/s vectorised",
                "GFLOP/s hand-written",
            ],
        ),
        "",
        f"Why the speed-up stops short: a one-run step of this net is {step_flops / 1e6:.0f} "
        f"MFLOP of matrix products ({step_flops / matmul * 1e3:.2f} ms at the matmul rate "
        "above), so a one-run step is mostly overhead (Python, optimizer, data, small "
        "operators). Batching removes the Python and the per-operator overhead but not the "
        "arithmetic and memory traffic, which grow with R. By the torch profiler (which "
        "inflates small operators alike on both sides), per run and step the one-run loop "
        f"spends {one_products:.3f} ms in matrix products and {one_other:.3f} ms in other "
        "operators (elementwise, reductions, optimizer, copies); 8 runs vectorised spend "
        f"{many_products:.3f} ms and {many_other:.3f} ms. "
        f"{verdict} On a GPU, or with more threads per run, the balance differs; that is not "
        "measured here.",
        "",
        "Groups span one seed's round (a ticket and its controls), not several seeds: vmap "
        "batches convolutions as one grouped convolution whose rounding depends on the group's "
        "size (a test pins it), so a vectorised run's identity names its group, and a group "
        "spanning the entry's seeds would tie every run to the seed list (adding a seed would "
        "retrain them all) for no speed-up on this machine.",
        "",
        "## The embedded tier",
        "",
        f"`{tier_command}` in a fresh store: **{tier_seconds / 60:.1f} min** (run, check and "
        f"pages; a budget of {args.tier_budget} scales every duration and the number of "
        "evaluations, floored at what a detector needs). "
        + (
            f"The README's main command (`lthbench reproduce`, a fresh store, default flags: "
            f"every core, its output a pipe) took **{full_tier['seconds'] / 60:.1f} min** for "
            f"{full_tier['runs']} runs: {full_tier['seconds'] / floor_of(full_tier, cores):.2f}× "
            f"its FLOP floor of {floor_of(full_tier, cores) / 60:.1f} min (`lthbench plan`'s "
            f"{full_tier['flops'] / 1e12:.0f} TFLOP at two workers' matrix-product rate, "
            f"{sum(cores[2]) / 1e9:.0f} GFLOP/s, measured in this run; see Cores). "
            + (
                f"Its first verdict line came at minute {full_tier['first_verdict'] / 60:.1f}. "
                if full_tier["first_verdict"] is not None
                else "No verdict line came early. "
            )
            + eta_sentence(full_tier)
            if full_tier is not None
            else "The full tier (`--full-tier`) was not timed by this invocation; the README "
            "has the last measurement."
        ),
        "",
        "## Cores",
        "",
        "A 100×500 by 500×500 matrix product (a training step's shape) in single-thread "
        "processes running at once, GFLOP/s per process: what the default executor's workers "
        f"get. Two workers on this machine get {two_workers:.2f}× one worker's rate"
        + (
            ", not 2× (they share arithmetic units or memory bandwidth), which bounds every "
            "multi-worker figure above."
            if two_workers < 1.8
            else ": the tier's time is its arithmetic divided by two cores' rate."
        ),
        "",
        table(
            [
                [n, ", ".join(f"{r * 1e-9:.1f}" for r in rates), f"{sum(rates) * 1e-9:.1f}"]
                for n, rates in cores.items()
            ],
            ["processes at once", "GFLOP/s each", "GFLOP/s together"],
        ),
        "",
        "## Reading is cheap",
        "",
        "Read-only commands against the store the tier run above filled, each a fresh process "
        "(median of 5): they import neither torch nor timm, torchvision or matplotlib (a test "
        "pins that), parse the registry with libyaml and read stored results and cached "
        "figures only.",
        "",
        table(
            [[label, spread(times, 1.0, 3)] for label, times in startup.items()],
            ["command", "seconds"],
        ),
        "",
        "## Evaluation's share of a run (full budget, seed 0)",
        "",
        "Each evaluation passes over the validation and test splits (one pass when the entry "
        "validates on the test split), in inference mode, 1000 examples per batch; the share "
        "is the time inside those passes over the run's wall time.",
        "",
        table(sections["evaluation"], ["entry", "evaluations", "run s", "evaluating s", "share"]),
        "",
        "## Numerics of the Adam entries (full budget, seed 0)",
        "",
        "Adam's second moments of rarely-updated weights decay into the subnormal range, "
        "where x86 arithmetic is many times slower; `training.flush_denormal` flushes them to "
        "zero while a run trains and evaluates, `training.fused_optimizer` takes torch's "
        "one-kernel step. Both change the last bits of the numbers, so they join the run "
        "identity; the embedded tier's Adam entries use both. The subnormal share is of the "
        "optimizer state at the end of the run.",
        "",
        table(
            sections["numerics"],
            ["entry", "numerics", "run s", "subnormal Adam state", "final test acc."],
        ),
        "",
        "## Pruning and a round's fixed costs",
        "",
        "One magnitude pruning step (20% of the survivors) per scope, selected by k-th value "
        "(linear time), the mask figures a round caches (weight movement, densities), and "
        "reading θ0 back from the store, in milliseconds.",
        "",
        table(
            sections["pruning"],
            ["net", "prunable weights", "global ms", "layer-wise ms", "figures ms", "read θ0 ms"],
        ),
        "",
        "## GPU",
        "",
        "Not yet measured: no GPU machine has run the paper-tier LeNet-300-100 and CIFAR entries.",
        "",
    ]
    out.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "leaderboards" / "performance.md")
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--tier-budget", type=float, default=0.04)
    parser.add_argument(
        "--full-tier",
        action="store_true",
        help="also time the README's main command on a fresh store (~25 min)",
    )
    parser.add_argument(
        "--full-tier-store",
        type=Path,
        default=None,
        help="where the full tier's fresh store goes (default: a temporary one)",
    )
    parser.add_argument("--full-tier-pages", type=Path, default=None,
                        help="where the full tier's pages go (default: a temporary folder)")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        benches: dict[str, Callable[[], Any]] = {
            "loops": lambda: bench_loops(tmp, args.iterations, args.repeats),
            "mask": lambda: bench_mask(tmp, args.iterations, args.repeats),
            "rounds": lambda: bench_rounds(tmp),
            "vectorised": lambda: bench_vectorised(tmp, args.iterations, args.repeats),
            "tier": lambda: bench_tier(tmp, args.tier_budget),
            "startup": lambda: bench_startup(tmp / "tier", args.tier_budget),
            "evaluation": lambda: bench_evaluation(tmp),
            "numerics": lambda: bench_numerics(tmp),
            "pruning": bench_pruning,
            "cores": bench_cores,
        }
        if args.full_tier:
            full_store = args.full_tier_store or tmp / "full-tier"
            benches["full_tier"] = lambda: bench_full_tier(
                full_store, args.full_tier_pages or tmp / "pages"
            )
            benches["reads"] = lambda: bench_reads(full_store)
        sections = {}
        for name, bench in benches.items():
            began = time.perf_counter()
            sections[name] = bench()
            print(f"{name}: {time.perf_counter() - began:.0f} s", file=sys.stderr)
    if args.full_tier_store is not None:  # the measurements, for the closing note
        args.full_tier_store.with_suffix(".json").write_text(
            json.dumps(sections, indent=1, default=str)
        )
        args.full_tier_store.with_suffix(".pickle").write_bytes(pickle.dumps(sections))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    render(args.out, sections, args)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
