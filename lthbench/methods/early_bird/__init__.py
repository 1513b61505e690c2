"""``early_bird``: You et al.'s Early-Bird tickets, drawn early and trained slim (EB-Train).

Per seed, from one entry:

- **search**: the dense network trained with network slimming's L1 penalty on BatchNorm
  scales. At every evaluation (entries evaluate every epoch: the paper's rule) the channel mask
  of each pruning ratio p (one global |γ| threshold) is logged and fed to an
  :class:`EarlyBirdDetector`; when the masks stop changing the ticket is drawn and the weights
  of that moment are kept. Optionally at 8 bits
  with stochastic rounding (``search_precision: int8``) and with the learning rate decayed
  from the start (``search_schedule: early_decay``) instead of the entry's schedule.
- **EB-Train**: the drawn network, physically slimmed to its channels (Torch-Pruning),
  trained at full precision for the rest of the budget under the entry's schedule as if
  training had never stopped, keeping the search's L1 penalty on BatchNorm scales (the
  official ``retrain_continue.sh`` passes ``--sparsity-regularization``).
- baselines: the ``dense`` network (the same stored run as a dense entry), standard
  ``network_slimming`` (the search run to the end, pruned, fine-tuned without the penalty),
  ``scratch`` (the EB ticket's architecture from a fresh initialisation, full budget, with
  the penalty, as the official ``retrain_scratch.sh``), and ``lottery_oneshot`` (Table 2's
  "LT (one-shot)" column read as a structured lottery ticket: the channels network slimming
  keeps at the end of the search, reset to θ0 and trained for the full budget).

Training cost is counted with FlopCounterMode per step of each architecture; EB-Train's cost is
the search up to the draw on the dense network, the detector's own work, and the rest on the
slim one. It is compared with dense training and with the prune-after-training pipeline.
"""

from lthbench.methods.early_bird.method import EarlyBird
from lthbench.methods.early_bird.params import EarlyBirdParams

__all__ = ["EarlyBird", "EarlyBirdParams"]
