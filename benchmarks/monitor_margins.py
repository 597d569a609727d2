"""Chapter 2: the margin of each of the notebook's ci assertions over seeds (not run in CI).

Runs, at each seed, what the chapter runs in the ci profile (SimCLR, MoCo v2, SimSiam and BYOL for
SimCLR's ci epochs, the monitor at every epoch), two seeds at a time on one CPU thread each, and
prints the margin table: how far each asserted quantity is on the right side of its threshold.

    python benchmarks/monitor_margins.py --seeds 0 1 2 3 4 5 6 7 8 9 10 11 --save /tmp/monitor_margins.json
"""
import math
from dataclasses import replace

import torch

from rep_utils.byol import BYOLConfig, train_byol
from rep_utils.data import load_images
from rep_utils.moco import MoCoConfig, train_moco
from rep_utils.monitor import Monitor
from rep_utils.simclr import SimCLRConfig, train_simclr
from rep_utils.simsiam import SimSiamConfig, train_simsiam
from rep_utils.train import seed_everything

from common import margin_table, per_seed_results

METHODS = {"SimCLR": (SimCLRConfig, train_simclr), "MoCo v2": (MoCoConfig, train_moco),
           "SimSiam": (SimSiamConfig, train_simsiam), "BYOL": (BYOLConfig, train_byol)}


def one_seed(s):
    torch.set_num_threads(1)
    epochs = SimCLRConfig.for_profile("ci").epochs
    cfgs = {m: replace(C.for_profile("ci"), epochs=epochs) for m, (C, _) in METHODS.items()}
    c = cfgs["SimCLR"]
    data = load_images("cifar10", "ci", verbose=False).subset(c.n_train, c.n_test).resized(c.image_size)
    out = {}
    for m, (_, train) in METHODS.items():
        seed_everything(s)
        _, out[m] = train(data, cfgs[m], torch.device("cpu"), s, monitor=Monitor(data, torch.device("cpu")),
                          progress=False)
    print(s, {m: round(h[-1]["ami_labels"] - h[0]["ami_labels"], 3) for m, h in out.items()}, flush=True)
    return out


def claims(r):
    """The notebook's assertions as margins (keep in step with chapter 2's assertion cell)."""
    m = {}
    for name, h in r.items():
        m[f"{name}: AMI with labels rises (last - epoch 0)"] = h[-1]["ami_labels"] - h[0]["ami_labels"]
        m[f"{name}: silhouette in [-1, 1], AMIs <= 1 (worst slack)"] = min(
            min(1 - abs(x["silhouette"]), 1 + 1e-9 - x["ami_seeds"], 1 + 1e-9 - x["ami_labels"]) for x in h)
        m[f"{name}: entropy finite, RankMe >= 1 (worst RankMe - 1)"] = min(
            x["rankme"] - 1 if math.isfinite(x["entropy"]) else -1.0 for x in h)
    return m


def main():
    res = per_seed_results(one_seed)
    margin_table(f"per-seed assertions over {len(res)} seeds", [claims(r) for r in res.values()])


if __name__ == "__main__":
    main()
