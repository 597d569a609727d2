"""GEDI on the 2-D toys: NMI of chosen variants over seeds, for one recipe given on the command line.

    OMP_NUM_THREADS=1 python benchmarks/gedi_toy_sweep.py --data moons circles --seeds 0 1 2 \
        --variants full nogen --set iterations=2000 warmup=800

Each run is one CPU thread; a line per run (NMI, largest cluster, density AUROC, wall time).
"""
import argparse
import json
from dataclasses import replace

import torch

from rep_utils.gedi import GEDIConfig
from rep_utils.gedi_scores import toy_run

from common import parse_set

VARIANTS = {"full": {}, "nogen": dict(gen=False), "energy": dict(inv=False, prior=False),
            "noprior": dict(prior=False), "noinv": dict(inv=False)}


def score(name, cfg, seed):
    r = toy_run(name, cfg, seed)
    return {k: r[k] for k in ("nmi", "density_auroc", "largest_cluster", "view_agreement", "seconds")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", nargs="+", default=["moons", "circles"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=["full", "nogen"])
    ap.add_argument("--profile", default="full")
    ap.add_argument("--set", nargs="*", default=[])
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = replace(GEDIConfig.for_profile(a.profile), **parse_set(GEDIConfig, a.set))
    print("recipe:", a.profile, a.set, flush=True)
    for name in a.data:
        for v in a.variants:
            rs = [score(name, replace(cfg, **VARIANTS[v]), s) for s in a.seeds]
            nmis = [round(r["nmi"], 2) for r in rs]
            print(json.dumps(dict(data=name, variant=v, nmi=nmis, mean=round(sum(nmis) / len(nmis), 3),
                                  largest=[round(r["largest_cluster"], 2) for r in rs],
                                  dens=[round(r["density_auroc"], 2) for r in rs],
                                  agree=[round(r["view_agreement"], 2) for r in rs],
                                  s=round(sum(r["seconds"] for r in rs), 1))), flush=True)


if __name__ == "__main__":
    main()
