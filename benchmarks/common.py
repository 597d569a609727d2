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
