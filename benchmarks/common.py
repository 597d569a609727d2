"""Helpers the benchmark scripts share: config overrides from the command line, margin tables."""
from dataclasses import fields

CONVERT = {"bool": lambda v: v.lower() == "true", "int": int, "float": float,
           "int | None": lambda v: None if v.lower() == "none" else int(v)}


def parse_set(cls, items):
    """``["lr=0.005", "n_test=none"]`` -> the typed overrides of config class ``cls``."""
    types = {f.name: f.type for f in fields(cls)}
    return {k: CONVERT.get(types[k], str)(v) for k, v in (i.split("=") for i in items)}


def margin_table(title, margins):
    """One markdown row per assertion over a list of {assertion: margin} dicts: the worst margin and
    how many pass (margin > 0; margin 0 passes an assertion written with >=)."""
    print(f"\n{title}\n| assertion | worst margin | passing |\n|---|---|---|")
    for k in margins[0]:
        v = [m[k] for m in margins]
        print(f"| {k} | {min(v):.3f} | {sum(x > 0 or (x == 0 and '>=' in k) for x in v)} of {len(v)} |")


def per_seed_results(one_seed):
    """``--seeds`` (default 0-11), ``--save`` and ``--load`` from the command line: ``one_seed(s)`` at
    each seed, two at a time on one thread each, or the results saved by an earlier run."""
    import argparse
    import json
    import multiprocessing as mp

    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", nargs="+", type=int, default=list(range(12)))
    ap.add_argument("--save", help="write the per-seed results to this JSON file")
    ap.add_argument("--load", help="read the per-seed results from this JSON file instead of running")
    a = ap.parse_args()
    if a.load:
        return json.load(open(a.load))
    with mp.get_context("spawn").Pool(2) as pool:
        res = dict(zip(map(str, a.seeds), pool.map(one_seed, a.seeds)))
    if a.save:
        json.dump(res, open(a.save, "w"))
    return res
