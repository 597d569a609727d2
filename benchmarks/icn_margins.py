"""Chapter 3: the margin of each of the notebook's ci assertions over seeds (not run in CI).

Runs, at each seed, what the chapter runs in the ci profile (both arms on 1,000 digits and on the
reduced-label sizes, first draw), two seeds at a time on one CPU thread each. Per-seed claims are
checked at each seed; claims about the mean over the notebook's 3 seeds on every window of 3
consecutive seeds. A margin is how far the asserted quantity is on the right side of its
threshold (positive: passes).

    python benchmarks/icn_margins.py --seeds 0 1 2 3 4 5 6 7 8 9 10 11
"""
import argparse
import multiprocessing as mp

import numpy as np
import torch

from rep_utils import icn
from rep_utils.data import load_images

from common import margin_table

SIZES = [100]  # the ci profile's reduced-label sweep


def both_arms(mnist, cfg, s):
    out = {}
    for name, c in icn.arms(cfg).items():
        run = icn.train_icn(mnist, c, torch.device("cpu"), s, progress=False)
        out[name] = {"err": run.test_err,
                     "score_gain": min([st["score_synth"] - st["score_noise"] for st in run.stats] or [float("inf")])}
        if name == "ICN":
            out[name]["rejected"] = run.judge(mnist.for_config(cfg))["rejected"]
    return out


def one_seed(s):
    torch.set_num_threads(1)
    cfg = icn.ICNConfig.for_profile("ci")
    mnist = load_images("mnist", "ci", verbose=False)
    res = {1000: both_arms(mnist, cfg, s)}
    for n in SIZES:
        res[n] = both_arms(mnist, cfg.with_labels(n, cfg.n_train), s)
    print(s, {n: {k: round(100 * v["err"], 1) for k, v in r.items()} for n, r in res.items()}, flush=True)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", nargs="+", type=int, default=list(range(12)))
    seeds = ap.parse_args().seeds
    with mp.get_context("spawn").Pool(2) as pool:
        res = dict(zip(seeds, pool.map(one_seed, seeds)))
    per_seed = []
    for s in seeds:
        r, m = res[s], {}
        for n in (1000, *SIZES):
            m[f"{n} digits: ICN score rise > 1 nat (every round)"] = r[n]["ICN"]["score_gain"] - 1
        m["1000 digits: ICN error < 0.3"] = 0.3 - r[1000]["ICN"]["err"]
        m["1000 digits: ICN rejects > 0.9 of round-1 negatives"] = r[1000]["ICN"]["rejected"] - 0.9
        m["1000 digits: baseline error < 0.08 (stable baseline)"] = 0.08 - r[1000]["baseline"]["err"]
        for n in SIZES:
            m[f"{n} digits: ICN error < 0.5"] = 0.5 - r[n]["ICN"]["err"]
        per_seed.append(m)
    margin_table(f"per-seed assertions over {len(seeds)} seeds", per_seed)
    windows = []
    for s in seeds:
        w = [res[s + i] for i in range(3) if s + i in res]
        if len(w) < 3:
            continue
        mean = {(n, a): np.mean([r[n][a]["err"] for r in w]) for n in (1000, *SIZES) for a in ("ICN", "baseline")}
        m = {f"{a}: mean error at {SIZES[0]} > at 1000 digits": mean[SIZES[0], a] - mean[1000, a] for a in ("ICN", "baseline")}
        m[f"{SIZES[0]} digits: ICN mean error < baseline's"] = mean[SIZES[0], "baseline"] - mean[SIZES[0], "ICN"]
        m["1000 digits: baseline spread (max - min) < 0.03"] = 0.03 - np.ptp([r[1000]["baseline"]["err"] for r in w])
        windows.append(m)
    margin_table(f"mean-over-seeds assertions over {len(windows)} windows of 3 seeds", windows)
    for n in (1000, *SIZES):
        d = [100 * (res[s][n]["ICN"]["err"] - res[s][n]["baseline"]["err"]) for s in seeds]
        print(f"{n} digits: ICN - baseline (pp) per seed {np.round(d, 1).tolist()}, "
              f"ICN better in {sum(x < 0 for x in d)} of {len(d)}")


if __name__ == "__main__":
    main()
