"""Chapter 1: how much BYOL's encoder gains over the same encoder untrained, for recipes given on
the command line (CPU; not run in CI). The diagnosis of chapter 1's recipe came from runs like

    python benchmarks/byol_sweep.py --set epochs=30 optimizer=lars base_lr=1.0 weight_decay=1e-5
    python benchmarks/byol_sweep.py --data full --n-train 50000 --set epochs=5

One JSON line per seed: ``rep_utils.byol.scores`` (linear probe and kNN in %, RankMe of the encoder
features f, spread and RankMe of the projections z), untrained and trained, and the training time.
"""
import argparse
import json
import time
from dataclasses import replace

import torch

from rep_utils.byol import BYOLConfig, build_byol, scores, train_byol
from rep_utils.data import load_images

from common import parse_set


def percent(r):
    return {k: round(100 * v if k in ("linear_probe", "knn") else v, 1 if k != "z_std" else 4) for k, v in r.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="ci", help="ci (the exact subset) or full (the JPEG re-encoded copy)")
    ap.add_argument("--n-train", type=int, default=None, help="default: the ci profile's")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--set", nargs="*", default=[])
    a = ap.parse_args()
    cfg = replace(BYOLConfig.for_profile("ci"), **parse_set(BYOLConfig, a.set))
    data = load_images("cifar10", "ci", verbose=False, full_size=a.data == "full")
    data = data.subset(a.n_train or cfg.n_train, cfg.n_test).resized(cfg.image_size)
    device = torch.device("cpu")
    for s in a.seeds:
        t0 = time.perf_counter()
        model, _ = train_byol(data, cfg, device, s, progress=False)
        print(json.dumps(dict(data=a.data, n_train=len(data.y_train), recipe=a.set, seed=s, s=round(time.perf_counter() - t0),
                              untrained=percent(scores(build_byol(cfg, 3, s, device), data, device)),
                              byol=percent(scores(model, data, device)))), flush=True)


if __name__ == "__main__":
    main()
