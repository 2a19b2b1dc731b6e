# The two commands a fresh machine needs: `make book` and `make test`.
# Both create .venv from requirements.txt (once) and install this package into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Quiet logs: no TensorFlow start-up chatter, no Keras progress bars in pages or CI logs.
export TF_CPP_MIN_LOG_LEVEL := 3
export LENET_COURSE_QUIET := 1

CHAPTERS  = $(wildcard book/*.ipynb)
EXERCISES = $(wildcard exercises/*.ipynb)
SOLUTIONS = $(wildcard solutions/*.ipynb)

# The pages load MathJax 3 from jsdelivr, which this machine cannot reach; the browser check
# serves the same files, npm's package, from here, so its screenshots show the math a reader sees.
MATHJAX_VERSION = 3.2.2
MATHJAX_SHA256 = 1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
MATHJAX_HOME = $(VENV)/mathjax-$(MATHJAX_VERSION)
MATHJAX = $(MATHJAX_HOME)/es5
$(MATHJAX)/tex-mml-chtml.js:
	mkdir -p $(MATHJAX_HOME)
	curl -sSfL -o $(MATHJAX_HOME).tgz https://registry.npmjs.org/mathjax/-/mathjax-$(MATHJAX_VERSION).tgz
	echo "$(MATHJAX_SHA256)  $(MATHJAX_HOME).tgz" | sha256sum --check --quiet
	tar xzf $(MATHJAX_HOME).tgz -C $(MATHJAX_HOME) --strip-components=1 package/es5
	rm $(MATHJAX_HOME).tgz

.PHONY: book test test-package test-notebooks test-colab test-minimum check-book chromium bubblewrap sync clean

# The chapters run two at a time (tools/execute_book.py, into the cache the build then reads),
# their kernels with one TensorFlow thread per operation: LeNet-5's operations on a batch of 32
# digits are too small to gain from a second thread (measured: README, "Reproducing the paper",
# the whole book with full data).
BOOK_THREADS := TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
# Started first: chapter 2, which trains the network chapters 3 to 11 load, and the two longest.
BOOK_FIRST := book/02_c1_convolution.md book/13_reproducing_the_paper.md book/12_paper_seed_modern.md

book: $(STAMP)            ## build the HTML book into _build/html, executing every chapter
	$(BOOK_THREADS) $(BIN)/python tools/execute_book.py $(BOOK_FIRST) $(filter-out $(BOOK_FIRST),$(wildcard book/*.md))
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "Book: _build/html/index.html"

# Two stages at a time, the longest first (much of a stage is building a venv, installing and
# starting kernels); each stage's output is printed whole when it ends. The system packages come
# first: two apt-gets at once would fight over dpkg's lock.
test: chromium bubblewrap   ## every test (README)
	$(MAKE) --jobs=2 --output-sync=target test-minimum test-package check-book test-colab test-notebooks

test-package: $(STAMP) chromium bubblewrap $(MATHJAX)/tex-mml-chtml.js   # pages open in Chromium; the grader sandboxes with bubblewrap
	$(BIN)/lenet-course exercises --check
	MATHJAX=$(MATHJAX) $(BIN)/python -m pytest tests

# Each notebook runs where it matters, once: the chapters in `make book` (this environment), in
# Colab's and on the oldest versions; the exercises in Colab's; the solutions here with nbval
# (the grader's tests also grade every solution and every untouched exercise).
test-notebooks: $(STAMP)  ## the solution notebooks, cell by cell (nbval)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:cacheprovider $(SOLUTIONS)

# Where learners run the notebooks: a separate environment with Colab's own versions and nothing
# of requirements.txt; then the oldest versions pyproject.toml allows. Both cached in
# ~/.cache/lenet_course/envs, keyed by their file (the first run downloads them: a few minutes).
test-colab:               ## every chapter and exercise in a Colab-like environment (envs/colab.txt)
	$(PYTHON) tools/learner_env.py envs/colab.txt --notebooks $(CHAPTERS) $(EXERCISES)

test-minimum: bubblewrap  ## the package tests and every chapter on the declared minimum versions
	$(PYTHON) tools/learner_env.py envs/minimum.txt --pytest --notebooks $(CHAPTERS)

check-book: book chromium $(MATHJAX)/tex-mml-chtml.js   ## open every page of the built book in headless Chromium; screenshots in _build/screenshots
	$(BIN)/python tools/check_book_in_browser.py _build/html --chromium $(CHROMIUM) --mathjax $(MATHJAX)

CHROMIUM ?= /usr/bin/chromium
# With a colour emoji font, as learners' browsers have: the checks print ✅ and ❌.
EMOJI_FONT = /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
chromium:                 ## Debian's chromium and an emoji font, installed once if missing (needs root and apt)
	@test -x $(CHROMIUM) && test -e $(EMOJI_FONT) || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null)

BWRAP ?= /usr/bin/bwrap
bubblewrap:               ## Debian's bubblewrap (the grader's sandbox), installed once if missing (needs root and apt)
	@test -x $(BWRAP) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null)

sync: $(STAMP)            ## after editing a .md: regenerate the paired .ipynb files and exercises/
	for md in book/*.md; do grep -q '{code-cell}' $$md && $(BIN)/jupytext --quiet --update --to ipynb $$md || true; done
	$(BIN)/lenet-course exercises

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

.PHONY: bench bench-quick book-time bench-draw bench-grading bench-recipe
bench: $(STAMP)           ## training speed: the seed tutorial's code vs the package (README "Performance"; ~2 min)
	$(BIN)/python benchmarks/train_speed.py

bench-quick: $(STAMP)     ## the same, as a 20-second smoke test (numbers not meaningful)
	$(BIN)/python benchmarks/train_speed.py --quick

bench-draw: $(STAMP) chromium   ## one forward pass of the "Draw a digit" page's lenet5.js in headless Chromium (median ms)
	$(BIN)/python benchmarks/draw_page_speed.py --chromium $(CHROMIUM)

bench-grading: $(STAMP) bubblewrap   ## grading a class of 200, 1 job vs all cores (README "Grading a class"; long)
	$(BIN)/python benchmarks/grade_class.py

bench-recipe: $(STAMP)    ## the paper's recipe with one TensorFlow thread vs the default (README "Reproducing the paper"; ~3 min)
	$(BIN)/python benchmarks/recipe_threads.py

book-time: $(STAMP)       ## execute every chapter and exercise notebook, seconds per notebook and total
	$(BOOK_THREADS) $(BIN)/python benchmarks/book_time.py

clean:
	rm -rf _build
