"""Which device's results a verdict reads.

Results for one entry may come from several machines (a bundle imported from a GPU, this
store's CPU runs). A margin between a GPU result and a CPU one measures the devices as much as
the claim, so a verdict reads one device's seeds unless asked to mix them, and says which.
A device is its kind and model (two GPU models round differently as surely as a GPU and a
CPU do).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Reading:
    """One seed's reading of a claim: the metric, its reference, and the devices that
    computed them."""

    seed: int
    left: float
    right: float
    density: float | None
    collapsed: bool
    devices: frozenset[str]


def device_label(result: dict[str, Any]) -> str:
    """The device a result was computed on: ``cuda:0 (NVIDIA H200)``, ``cpu (AMD EPYC)``, or
    the bare device of a result stored before runs recorded the model."""
    device, model = str(result.get("device", "?")), result.get("device_model")
    return f"{device} ({model})" if model else device


def devices_of(*results: dict[str, Any] | None) -> frozenset[str]:
    return frozenset(device_label(r) for r in results if r is not None)


def device_list(results: list[dict[str, Any]]) -> str:
    """The devices of ``results``, as the pages print them ('–': none)."""
    return ", ".join(sorted(devices_of(*results))) or "–"


def _named(devices: set[str]) -> dict[str, str]:
    """A bare device (a result from before models were recorded) read as the one model of
    that device the other results name, if they name exactly one: what a bare label always
    meant. Two models of one device leave the bare label on its own."""
    out = {}
    for device in devices:
        models = [d for d in devices if d.startswith(f"{device} (")]
        out[device] = models[0] if len(models) == 1 else device
    return out


def one_device(readings: list[Reading], mix_devices: bool) -> tuple[list[Reading], str]:
    """The readings a verdict uses and what they were computed on, with the seeds left out.

    By default a verdict reads one device's seeds: the device with the most (ties: by name),
    leaving out every seed computed elsewhere or across two devices (a ticket on a GPU against
    its dense reference on a CPU). ``mix_devices`` reads all of them, and says so. Where the
    results came from (this store or a bundle) is the index's source column: results moved
    between stores keep their verdicts."""
    named = _named(set().union(*(r.devices for r in readings)))
    readings = [replace(r, devices=frozenset(named[d] for d in r.devices)) for r in readings]
    devices = sorted(set().union(*(r.devices for r in readings)))
    if len(devices) <= 1 or mix_devices:
        return readings, ("mixed: " if len(devices) > 1 else "") + ", ".join(devices)
    counts = {d: sum(r.devices == {d} for r in readings) for d in devices}
    chosen = min(devices, key=lambda d: (-counts[d], d))
    left_out = ", ".join(str(r.seed) for r in readings if r.devices != {chosen})
    others = ", ".join(d for d in devices if d != chosen)
    return [r for r in readings if r.devices == {chosen}], (
        f"{chosen}; seed(s) {left_out} on {others} left out (--mix-devices reads them)"
    )
