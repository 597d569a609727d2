"""Chapter 1: the margin of each of the notebook's ci assertions over seeds (not run in CI).

Runs, at each seed, what the chapter runs in the ci profile (the untrained network, BYOL and its
three ablations; rep_utils.byol.scores of each), two seeds at a time on one CPU thread each, and
prints one margin table: how far each asserted quantity is on the right side of its threshold
(positive: passes). ``--load`` recomputes the table from a saved run.

    python benchmarks/byol_margins.py --seeds 0 1 2 3 4 5 6 7 8 9 10 11 --save /tmp/byol_margins.json
"""
from dataclasses import replace

import torch

from rep_utils import byol
from rep_utils.data import load_images

from common import margin_table, per_seed_results


def one_seed(s):
    torch.set_num_threads(1)
    cfg, device = byol.BYOLConfig.for_profile("ci"), torch.device("cpu")
    data = load_images("cifar10", "ci", verbose=False).subset(cfg.n_train, cfg.n_test).resized(cfg.image_size)
    out = {"untrained": byol.scores(byol.build_byol(cfg, 3, s, device), data, device)}
    for name, c in {"BYOL": cfg, **{n: replace(cfg, **ch) for n, ch in byol.ABLATIONS.items()}}.items():
        model, history = byol.train_byol(data, c, device, s, progress=False)
        out[name] = {**byol.scores(model, data, device), "history": history}
    print(s, {k: round(100 * v["linear_probe"], 1) for k, v in out.items()}, flush=True)
    return out


def claims(r):
    """The notebook's assertions as margins (keep in step with chapter 1's assertion cell)."""
    u, b = r["untrained"], r["BYOL"]
    npred, tau0, tau1 = (r[n] for n in byol.ABLATIONS)
    return {
        "BYOL: linear probe > untrained's": b["linear_probe"] - u["linear_probe"],
        "BYOL: kNN > untrained's": b["knn"] - u["knn"],
        "BYOL: RankMe(z) > untrained's": b["rankme_z"] - u["rankme_z"],
        "no predictor: RankMe(z) < 0.8 x untrained's": 0.8 * u["rankme_z"] - npred["rankme_z"],
        "no predictor: RankMe(z) < 0.5 x BYOL's": 0.5 * b["rankme_z"] - npred["rankme_z"],
        "(not asserted) no predictor: RankMe(z) < 0.7 x untrained's": 0.7 * u["rankme_z"] - npred["rankme_z"],
        "(not asserted) tau = 0: RankMe(z) < 0.8 x untrained's": 0.8 * u["rankme_z"] - tau0["rankme_z"],
        "(not asserted) tau = 1: linear probe > untrained's": tau1["linear_probe"] - u["linear_probe"],
        "all losses finite (1 / 0)": float(all(h["loss"] == h["loss"] for v in r.values() if "history" in v
                                                for h in v["history"][1:])),
    }


def main():
    res = per_seed_results(one_seed)
    margin_table(f"per-seed assertions over {len(res)} seeds", [claims(r) for r in res.values()])
    for key in ("linear_probe", "knn", "rankme_z"):
        print(key, {n: [round(r[n][key], 3) for r in res.values()] for n in next(iter(res.values()))})


if __name__ == "__main__":
    main()
