# Two commands from a fresh clone: `make demo` and `make test`. Each creates or refreshes .venv first.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN := tools/isolated

.PHONY: venv demo test lint docs bench bench-quick bench-peers bench-remote soak clean test-compat test-humble

$(STAMP): requirements.txt constraints.txt setup.py setup.cfg airo_mp_camera/codecs/_rvl.c
	command -v ffmpeg >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null; }
	command -v ffmpeg >/dev/null || echo "note: no ffmpeg (apt install ffmpeg): video recorder tests will be skipped"
	command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	command -v chromium >/dev/null || echo "note: no chromium (apt install chromium): the web viewer browser test will be skipped"
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

# The documentation site (mkdocs.yml, docs/): MkDocs with Material and mkdocstrings (requirements-docs.txt), built
# with --strict (a broken link, a missing page or an API path that does not resolve fails it) into build/site,
# offline: tools/isolated runs it without a network when run as root.
DOCS_STAMP := $(VENV)/.installed-docs
$(DOCS_STAMP): $(STAMP) requirements-docs.txt
	$(PY) -m pip install -q -c constraints.txt -r requirements-docs.txt
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(RUN) $(PY) -m mkdocs build --strict --site-dir build/site

# The suite on Jazzy's Python and numpy (3.12, numpy 1.26.4) with ROS 2 Jazzy's own wheels (rclpy 7.1.6, Fast DDS 2.14),
# in a venv from pyenv's 3.12.1: the ROS tests run there too.
pyenv_python = $(or $(shell pyenv prefix $(1) 2>/dev/null),$(HOME)/.pyenv/versions/$(1))/bin/python$(2)
COMPAT_VENVS := .venv-py312
.venv-py312/.installed: PYTHON_COMPAT = $(call pyenv_python,3.12.1,3.12)
.venv-py312/.installed: CONSTRAINTS_COMPAT = constraints-py312.txt
.venv-py%/.installed: requirements-compat.txt constraints-py%.txt setup.py setup.cfg airo_mp_camera/codecs/_rvl.c
	@test -x $(PYTHON_COMPAT) || { echo "no $(PYTHON_COMPAT): install it with pyenv" >&2; exit 1; }
	rm -rf $(@D)
	$(PYTHON_COMPAT) -m venv $(@D)
	$(@D)/bin/python -m pip install -q -U pip
	$(@D)/bin/python -m pip install -q -c $(CONSTRAINTS_COMPAT) -r requirements-compat.txt
	$(@D)/bin/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

test-compat: $(addsuffix /.installed,$(COMPAT_VENVS))
	status=0; for venv in $(COMPAT_VENVS); do \
		echo "== $$venv: $$($$venv/bin/python -c 'import sys, numpy; print(sys.version.split()[0], "numpy", numpy.__version__)')"; \
		VIRTUAL_ENV=$(CURDIR)/$$venv $(RUN) $$venv/bin/python -m pytest -p no:cacheprovider $(PYTEST_ARGS) || status=1; \
	done; exit $$status

# The suite on ROS 2 Humble itself (../shared/ros-humble: rclpy 3.3.15, Fast DDS 2.6.12, launch 1.0.7, rosbag2,
# image_transport, cv_bridge, rviz2), Python 3.10 and numpy 1.21.5; tools/humble sets it all up outside the clone
# (the tree in a cache, .venv-humble, a colcon build in build/humble). The launch tests run here with the real
# `ros2 launch` and launch_testing.
test-humble:
	tools/humble python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# Benchmarks (benchmarks/run.py): the full set writes benchmarks/results.json (a few minutes); quick is under a minute.
bench: $(STAMP)
	$(RUN) $(PY) -m benchmarks.run

bench-quick: $(STAMP)
	$(RUN) $(PY) -m benchmarks.run --quick

# Camera topics to another machine: two simulated hosts (network + mount namespaces, a veth pair shaped to
# 1 Gbit/s) built by the benchmark itself; needs root. Writes benchmarks/results-remote.json and its figures
# (about 10 minutes, the changing-link runs included; BENCH_REMOTE_ARGS=--quick: about 4 minutes, writes
# benchmarks/results-remote-quick.json). LLVM's llc builds the packet-loss classifier (benchmarks/loss.ll).
bench-remote: $(STAMP)
	command -v ip >/dev/null && command -v tc >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }
	command -v llc >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq llvm >/dev/null; }
	$(RUN) $(PY) -m benchmarks.remote $(BENCH_REMOTE_ARGS)

# The peers in their own venv, so that they never touch .venv: airo-camera-toolkit (from PyPI, with open3d),
# and the transports users would pick instead (benchmarks/zenoh_peer.py, benchmarks/iceoryx2_peer.py).
PEERS ?= .venv-peers
bench-peers:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install -q -U pip
	$(PEERS)/bin/python -m pip install -q airo-camera-toolkit==2026.10.1
	$(PEERS)/bin/python -m pip install -q eclipse-zenoh==1.10.2 iceoryx2==0.10.0
	$(PEERS)/bin/python -m pip check

# Soak (not in CI): 10 minutes by default, SOAK_ARGS="--minutes 1" for a short run; writes build/soak-report.json.
soak: $(STAMP)
	$(RUN) $(PY) tools/soak.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) $(COMPAT_VENVS) .venv-humble build install log *.egg-info
