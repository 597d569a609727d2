"""Chapter 3: test error of the ICN and its baseline for recipes given on the command line, over
seeds and draws of the labelled digits (CPU; not run in CI).

    python benchmarks/icn_sweep.py --n 1000 --seeds 0 1 2 3 4 --arms baseline --set lr_decay=false

One line per recipe and arm: the test errors per seed, their mean and standard deviation.
"""
import argparse
import json
import time
from dataclasses import replace

import numpy as np
import torch

from rep_utils.data import load_images
from rep_utils.icn import ICNConfig, train_icn

from common import parse_set


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="ci")
    ap.add_argument("--data", default="ci", help="the data profile: ci (the exact subset) or full (all of MNIST)")
    ap.add_argument("--n", type=int, default=1000, help="labelled training digits")
    ap.add_argument("--draw", type=int, default=0, help="which draw of the labelled digits")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--arms", nargs="+", default=["baseline", "ICN"])
    ap.add_argument("--set", nargs="*", default=[])
    a = ap.parse_args()
    base = ICNConfig.for_profile(a.profile)
    cfg = replace(base.with_labels(a.n, base.n_train or a.n, a.draw), **parse_set(ICNConfig, a.set))
    data = load_images("mnist", a.data)
    for arm in a.arms:
        errs, t0 = [], time.perf_counter()
        for s in a.seeds:
            run = train_icn(data, replace(cfg, introspective=arm == "ICN"), torch.device("cpu"), s, progress=False)
            errs.append(round(100 * run.test_err, 2))
        print(json.dumps(dict(arm=arm, n=a.n, draw=a.draw, recipe=a.set, err=errs, mean=round(float(np.mean(errs)), 2),
                              sd=round(float(np.std(errs, ddof=1)), 2), s=round(time.perf_counter() - t0))), flush=True)


if __name__ == "__main__":
    main()
