# Two commands from a fresh clone: `make demo` and `make test`. Each creates or refreshes .venv first.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN := tools/isolated

.PHONY: venv demo test lint bench bench-quick bench-peers bench-remote soak clean

$(STAMP): requirements.txt constraints.txt setup.py setup.cfg
	command -v ffmpeg >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null; }
	command -v ffmpeg >/dev/null || echo "note: no ffmpeg (apt install ffmpeg): video recorder tests will be skipped"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -c constraints.txt -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(RUN) $(PY) examples/demo.py

test: $(STAMP)
	$(RUN) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check airo_mp_camera test benchmarks examples launch tools
	$(PY) -m ruff format --check airo_mp_camera test benchmarks examples launch tools
	$(PY) -m mypy airo_mp_camera

# Benchmarks (benchmarks/run.py): the full set writes benchmarks/results.json (a few minutes); quick is under a minute.
bench: $(STAMP)
	$(RUN) $(PY) -m benchmarks.run

bench-quick: $(STAMP)
	$(RUN) $(PY) -m benchmarks.run --quick

# Camera topics to another machine: two simulated hosts (network + mount namespaces, a veth pair shaped to
# 1 Gbit/s) built by the benchmark itself; needs root. Writes benchmarks/results-remote.json (about 5 minutes;
# BENCH_REMOTE_ARGS=--quick: about 2 minutes, writes benchmarks/results-remote-quick.json).
bench-remote: $(STAMP)
	command -v ip >/dev/null && command -v tc >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }
	$(RUN) $(PY) -m benchmarks.remote $(BENCH_REMOTE_ARGS)

# The peer (airo-camera-toolkit from PyPI, with open3d) in its own venv, so that it never touches .venv.
PEERS ?= .venv-peers
bench-peers:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install -q -U pip
	$(PEERS)/bin/python -m pip install -q airo-camera-toolkit==2026.10.1

# Soak (not in CI): 10 minutes by default, SOAK_ARGS="--minutes 1" for a short run; writes build/soak-report.json.
soak: $(STAMP)
	$(RUN) $(PY) tools/soak.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) build install log *.egg-info
