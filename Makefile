# make book : create .venv, install rep_utils with the book and test tools, build the site into _build/html
# make test : unit tests, every notebook in the ci profile (papermill, then nbval), the book build
VENV   ?= .venv
export PATH := $(abspath $(VENV))/bin:$(PATH)
export JUPYTER_PLATFORM_DIRS := 1
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
TMP    := $(abspath _build/ci)

.PHONY: book test notebooks clean

$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	pip install -q -c constraints.txt -e ".[book,test]"
	touch $@

book: $(VENV)/.installed
	jupyter-book build . --warningiserror --keep-going

# Execute each notebook in the ci profile into _build/ci (the committed notebooks stay as they are);
# the notebooks' own assertions check the papers' claims at small scale.
notebooks: $(VENV)/.installed
	rm -rf $(TMP) && mkdir -p $(TMP)
	for nb in $(NOTEBOOKS); do \
	  REP_CHECKPOINT_DIR=$(TMP)/checkpoints papermill --cwd $(TMP) -p profile ci $$nb $(TMP)/$$(basename $$nb) || exit 1; \
	done

# nbval re-runs the executed notebooks: cells tagged nbval-check-output must reproduce (same seed,
# same numbers); it runs with the unit tests so pytest prints one summary.
test: notebooks book
	REP_CHECKPOINT_DIR=$(TMP)/checkpoints-nbval pytest -q -p no:cacheprovider tests --nbval-lax $(TMP)/*.ipynb

clean:
	rm -rf _build $(VENV)
