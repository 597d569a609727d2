"""Point the course at another GitHub repository: `python book/set_repository.py OWNER/NAME [--branch B]`.

Rewrites `repository.url`/`branch` in _config.yml, and from it every notebook's Colab badge and
install-cell REPO, `repository-code` in CITATION.cff and the old URL anywhere in README.md.
Plain text substitution (comments and the notebooks' JSON formatting survive); files that would not
change are not written, so running it with the current URL leaves everything byte-identical.
"""
import argparse
import re
import sys
from pathlib import Path

import yaml

GITHUB = "https://github.com/"


def parse_repo(arg):
    """`OWNER/NAME` or `https://github.com/OWNER/NAME[.git][/]` -> `OWNER/NAME`."""
    slug = arg.strip().removeprefix(GITHUB).removesuffix("/").removesuffix(".git")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+", slug):
        raise SystemExit(f"expected OWNER/NAME or {GITHUB}OWNER/NAME, got {arg!r}")
    return slug


def read(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def write_if_changed(path, old, new, root):
    if new != old:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(new)
        lines = len(set(new.splitlines()) - set(old.splitlines()))
        print(f"changed {path.relative_to(root)} ({lines} line{'s' * (lines != 1)} rewritten)")
    return new != old


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", help="OWNER/NAME or https://github.com/OWNER/NAME")
    ap.add_argument("--branch", help="branch the Colab badges open (default: keep the current one)")
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    root = args.root
    config_path = root / "_config.yml"
    config_text = read(config_path)
    repository = yaml.safe_load(config_text)["repository"]
    old_url, old_branch = repository["url"].rstrip("/"), str(repository.get("branch", "main"))
    url, branch = GITHUB + parse_repo(args.repo), args.branch or old_branch
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", branch):
        raise SystemExit(f"bad branch name {branch!r}")
    old_url_re = re.escape(old_url) + r"(?![\w.-])"  # not a prefix of a longer name
    changed = []

    # _config.yml: only the `url:`/`branch:` lines of the `repository:` block, keeping the rest.
    block = re.search(r"^repository:[^\n]*\n((?:[ \t]+[^\n]*\n|[ \t]*\n)*)", config_text, re.M)
    value = r"[ \t]*)[\"']?[^\s\"'#]+[\"']?"
    body, n1 = re.subn(r"^([ \t]+url:" + value, lambda m: m[1] + url, block[1], count=1, flags=re.M)
    body, n2 = re.subn(r"^([ \t]+branch:" + value, lambda m: m[1] + branch, body, count=1, flags=re.M)
    if not n1:
        raise SystemExit("no `url:` line under `repository:` in _config.yml")
    if not n2 and branch != old_branch:
        body = re.sub(r"^([ \t]+)(url:[^\n]*\n)", lambda m: f"{m[1]}{m[2]}{m[1]}branch: {branch}\n",
                      body, count=1, flags=re.M)
    new = config_text[:block.start(1)] + body + config_text[block.end(1):]
    if write_if_changed(config_path, config_text, new, root):
        changed.append(config_path)

    # Notebooks: badge links and the install cell's REPO (inside JSON strings, so quotes are \").
    part = r"[^/\s\"\\)]+"
    badge = re.compile(rf"https://colab\.research\.google\.com/github/{part}/{part}/blob/[^\s\"\\)]+?/notebooks/")
    install = re.compile(r'(REP_UTILS, REPO = \\"[^"\\]*\\", \\")[^"\\]*(\\")')
    colab = f"https://colab.research.google.com/github/{parse_repo(url)}/blob/{branch}/notebooks/"
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        text = read(path)
        new = badge.sub(lambda m: colab, text)
        new = install.sub(lambda m: m[1] + url + m[2], new)
        if write_if_changed(path, text, new, root):
            changed.append(path)

    # CITATION.cff and README.md: the old URL wherever it appears, and `repository-code:` itself.
    for path in (root / "CITATION.cff", root / "README.md"):
        if not path.exists():
            continue
        text = read(path)
        new = re.sub(old_url_re, lambda m: url, text)
        if path.suffix == ".cff":
            new = re.sub(r"^(repository-code:[ \t]*[\"']?)[^\s\"']+", lambda m: m[1] + url, new, flags=re.M)
        if write_if_changed(path, text, new, root):
            changed.append(path)

    print(f"repository {url} (branch {branch}): {len(changed)} file(s) changed" if changed
          else f"repository {url} (branch {branch}): everything already agrees, nothing changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
