# make book : create .venv, install rep_utils with the book and test tools (and MathJax, npm), build the site into _build/html
# make test : ruff, unit tests, every notebook in the ci profile (papermill, then nbval), the book build
#             and its pages checked in headless Chromium
VENV   ?= .venv
export PATH := $(abspath $(VENV))/bin:$(PATH)
export JUPYTER_PLATFORM_DIRS := 1
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
TMP    := $(abspath _build/ci)

.PHONY: book test lint browser notebooks chapter clean

$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	pip install -q -c constraints.txt -e ".[book,test]"
	touch $@

# npm: the MathJax copy the site serves (the book build copies it in) and playwright-core for the
# browser test.
BROWSER := book/browser
$(BROWSER)/node_modules/.installed: $(BROWSER)/package.json $(BROWSER)/package-lock.json
	npm ci --prefix $(BROWSER) --no-audit --no-fund
	touch $@

book: $(VENV)/.installed $(BROWSER)/node_modules/.installed
	jupyter-book build . --warningiserror --keep-going

# ruff (pyproject.toml): pyflakes, pycodestyle errors and import order, first because it takes a second.
lint: $(VENV)/.installed
	ruff check .

# Execute each notebook in the ci profile into _build/ci (the committed notebooks stay as they are);
# the notebooks' own assertions check the papers' claims at small scale. Two notebooks at a time, the
# longest first, on one CPU thread each: a notebook alone runs faster on both threads (chapter 5: 406 s
# against 711 s), but two at once finish the stage sooner (872 s against 1,050 s one after the other).
# Each notebook's log is shown only where it fails.
CI_ENV := OMP_NUM_THREADS=1 REP_CHECKPOINT_DIR=$(TMP)/checkpoints
notebooks: $(VENV)/.installed
	rm -rf $(TMP) && mkdir -p $(TMP)
	ls -r $(NOTEBOOKS) | xargs -P 2 -I{} sh -c 'nb=$$(basename {}); t=$$(date +%s); \
	  if $(CI_ENV) papermill --cwd $(TMP) -p profile ci {} $(TMP)/$$nb > $(TMP)/$$nb.log 2>&1; \
	  then echo "$$nb: executed in $$(( $$(date +%s) - t )) s"; else tail -n 60 $(TMP)/$$nb.log; echo "$$nb: FAILED"; exit 1; fi'

# nbval re-runs the executed notebooks from the checkpoints their first run left (the path a reader
# takes after an interruption): cells tagged nbval-check-output must reproduce. Same seed, same numbers
# from scratch is the unit tests' check (tests/test_train.py and each method's). pytest-xdist runs
# the notebooks, longest first, and the unit tests on two processes of one thread each.
test: lint notebooks browser
	$(CI_ENV) pytest -q -p no:cacheprovider -n 2 --dist loadscope --nbval-lax $$(ls -r $(TMP)/*.ipynb) tests

# The real-browser check of the built (committed) pages at 1280 and 400 px: MathJax errors, raw
# tables or math, bare values, sideways scrolling, figures shown too small, outside requests
# (book/browser/check_pages.mjs) in Debian's Chromium; a screenshot of every page in _build/browser.
browser: book
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)
	node $(BROWSER)/check_pages.mjs _build/html _build/browser

# Regenerate one chapter's committed outputs, then strip papermill's injected-parameters cell (on
# Colab it would override the reader's profile; papermill's metadata keeps the parameters):
#   make chapter NB=01_byol PROFILE=ci ARGS="-y 'extra_seeds: [1, 2]'"   (-p passes strings; lists go with -y)
PROFILE ?= ci
chapter: $(VENV)/.installed
	cd notebooks && REP_CHECKPOINT_DIR=checkpoints papermill --cwd . -p profile $(PROFILE) $(ARGS) $(NB).ipynb $(NB).ipynb
	python -c "import json, sys; p = sys.argv[1]; nb = json.load(open(p)); \
	  nb['cells'] = [c for c in nb['cells'] if 'injected-parameters' not in c['metadata'].get('tags', [])]; \
	  json.dump(nb, open(p, 'w'), indent=1, ensure_ascii=False); open(p, 'a').write('\\n')" notebooks/$(NB).ipynb

clean:
	rm -rf _build $(VENV)

# make gpu : the GPU suite on one GPU machine, offline (benchmarks/gpu_suite.py; carry .whl and
# .device_data, filled by `python benchmarks/gpu_suite.py --prepare`); GPU_ARGS=--dry-run on a CPU
GPU_OUT ?= _build/gpu
.PHONY: gpu
gpu:
	python3 benchmarks/gpu_suite.py --out $(GPU_OUT) $(GPU_ARGS)
