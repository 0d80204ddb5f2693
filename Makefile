# Motive — build, test and run. `make deps` installs what the build needs on Debian.
SHELL := /bin/bash
SWIFT ?= swift
# The oldest Swift the dependencies build with; `make deps` checks it first (scripts/check-swift.sh).
SWIFT_MINIMUM := 6.2
# libavdevice-dev: capture devices (V4L2) for live streams; ffmpeg: the stream tests serve video over TCP, HTTP and
# pipes with it; chromium: the web page's browser test (headless, driven over the DevTools protocol);
# libopenmpi-dev, openmpi-bin: training over MPI (`mpirun -np N motive train`) and its tests; nginx: the
# replicated-serving test puts two daemons behind it; iproute2: the two-namespace MPI benchmark.
DEB_PACKAGES := libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libavdevice-dev libopenblas-dev libdnnl2 zlib1g-dev pkg-config \
  ffmpeg chromium libopenmpi-dev openmpi-bin nginx iproute2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Numeric code is far too slow unoptimised, so tests run as an optimised build with testing enabled.
TEST_FLAGS := -c release -Xswiftc -enable-testing
# In CI the release build takes the test build's flags, so that the quickstart check after
# `make test` (.ci/quickstart.sh runs `make serve`) reuses the build instead of building again.
RELEASE_FLAGS := $(if $(CI),$(TEST_FLAGS) --build-tests,-c release)
# SwiftPM's compile commands name their temporary files, so builds keep one TMPDIR inside .build:
# a new one each time would rebuild everything, and /tmp would collect SwiftPM's leftovers.
BUILD_TMP := $(CURDIR)/.build/tmp
SWIFT_BUILD = mkdir -p $(BUILD_TMP) && TMPDIR=$(BUILD_TMP) $(SWIFT) build
# OpenBLAS chooses its kernels from the CPU model and falls back to slow SSE3 kernels on models it
# does not know. The executables then restart with the best kernels the CPU flags allow
# (Engine's BLASCore); tests get the same kernels here. A value already set is kept.
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
ifeq ($(origin OPENBLAS_CORETYPE),undefined)
  ifneq ($(and $(filter avx512f,$(CPU_FLAGS)),$(filter avx512dq,$(CPU_FLAGS)),$(filter avx512bw,$(CPU_FLAGS)),$(filter avx512vl,$(CPU_FLAGS))),)
    export OPENBLAS_CORETYPE := SkylakeX
  else ifneq ($(and $(filter avx2,$(CPU_FLAGS)),$(filter fma,$(CPU_FLAGS))),)
    export OPENBLAS_CORETYPE := Haswell
  endif
endif

.PHONY: deps build release test test-replicas test-asan test-tsan bench bench-zoo synth synth-flow train-quickstart default-model serve clean

deps:
	@bash scripts/check-swift.sh "$(SWIFT)" $(SWIFT_MINIMUM)
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "deps: all Debian packages present"; fi

build: deps
	$(SWIFT_BUILD)

release: deps
	$(SWIFT_BUILD) $(RELEASE_FLAGS)

# The tests write their temporary files under a fresh TMPDIR, removed afterwards whether they
# pass or not, so runs leave nothing in /tmp.
test: deps
	@echo "OpenBLAS kernels: $${OPENBLAS_CORETYPE:-chosen by OpenBLAS}"
	$(SWIFT_BUILD) $(TEST_FLAGS) --build-tests
	tmp=$$(mktemp -d -t motive-test.XXXXXX) && trap 'rm -rf "$$tmp"' EXIT && TMPDIR=$$tmp $(SWIFT) test $(TEST_FLAGS) --skip-build
	$(REPLICA_TEST)

# Two `motive serve` replicas behind nginx (docker/nginx.conf) on loopback, one killed with SIGKILL
# under load: 0 client errors, and it rejoins (docs/server.md#replicas-behind-nginx). `make test`
# runs it after the Swift tests, on the motive binary of the test build; about a minute.
REPLICA_TEST = MOTIVE=$$($(SWIFT) build $(TEST_FLAGS) --show-bin-path)/motive bash Tests/Scripts/replicas.sh
test-replicas: deps
	$(SWIFT_BUILD) $(TEST_FLAGS) --product motive
	$(REPLICA_TEST)

# Sanitizer runs, by hand (too slow for `make test` and CI; docs/development.md#sanitizers). Each
# sanitizer builds in a scratch path of its own with its own stable TMPDIR. The reports of every
# process (the tests, and the job processes the daemon's tests start) are written to files in
# <scratch>/reports; a run that leaves any fails and prints them. Tests/Sanitizers/lsan.supp lists
# the leaks that are a dependency's, each with its reason.
# $(1): address or thread; $(2): the scratch path; $(3): what `swift test` runs (filters).
define sanitized_test
	@echo "OpenBLAS kernels: $${OPENBLAS_CORETYPE:-chosen by OpenBLAS}"
	mkdir -p $(2)/tmp && TMPDIR=$(2)/tmp $(SWIFT) build $(TEST_FLAGS) --build-tests --sanitize=$(1) --scratch-path $(2)
	rm -rf $(2)/reports && mkdir -p $(2)/reports
	tmp=$$(mktemp -d -t motive-$(1).XXXXXX) && trap 'rm -rf "$$tmp"' EXIT && \
	  TMPDIR=$$tmp ASAN_OPTIONS=log_path=$(2)/reports/asan LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Sanitizers/lsan.supp:print_suppressions=0 \
	  TSAN_OPTIONS=log_path=$(2)/reports/tsan \
	  $(SWIFT) test $(TEST_FLAGS) --sanitize=$(1) --scratch-path $(2) --skip-build --disable-xctest $(3); status=$$?; \
	  if compgen -G "$(2)/reports/*" >/dev/null; then cat $(2)/reports/*; echo "sanitizer reports in $(2)/reports"; exit 1; fi; \
	  exit $$status
endef

# The whole suite under the address sanitizer (with its leak checker).
test-asan: deps
	$(call sanitized_test,address,$(CURDIR)/.build-asan,)

# The suites that share work between threads, under the thread sanitizer: the clip loader, flow
# extraction with several jobs, TV-L1's parallel kernels, training (data-parallel replicas) and
# the daemon (inference pool, job worker).
TSAN_SUITES := ClipsTests\.(ClipLoaderTests|FlowExtractionTests)|FlowTests|TrainingTests|ServerTests
test-tsan: deps
	$(call sanitized_test,thread,$(CURDIR)/.build-tsan,--filter '$(TSAN_SUITES)')

# Coverage-guided fuzzing (docs/development.md#fuzzing): one libFuzzer target per parser (Fuzz/),
# added to the package by MOTIVE_FUZZ=1 and built with the address sanitizer in .build-fuzz, then
# each run for FUZZ_SECONDS from its seeds in Tests/Fuzz (`make fuzz FUZZ_TARGETS=config` runs
# one). A crash, hang or memory blow-up fails the run and prints the reproducer. The gold linker
# warns about every local symbol of the sanitizer runtime; those lines are dropped.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= safetensors torch-zip unpickler config multipart annotations importers flo pgm video
FUZZ_SCRATCH := $(CURDIR)/.build-fuzz
.PHONY: fuzz
fuzz: deps
	mkdir -p $(FUZZ_SCRATCH)/tmp
	set -o pipefail; for target in $(FUZZ_TARGETS); do \
	  MOTIVE_FUZZ=1 TMPDIR=$(FUZZ_SCRATCH)/tmp $(SWIFT) build --scratch-path $(FUZZ_SCRATCH) \
	    -Xswiftc -sanitize=fuzzer,address --product fuzz-$$target 2>&1 | grep -v 'Cannot export local symbol' || exit 1; \
	done
	bash Fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: deps
	$(SWIFT) run -c release motive-bench kernels

# The zoo chart (docs/benchmarks.md#the-zoo-on-the-synthetic-dataset): trains every RGB tiny preset on
# the synthetic dataset, or reuses its finished run in runs/, then benches them all on the
# validation list. EPOCHS=N shortens the configs' 30-epoch schedules; OUT=DIR picks the folder.
# Commits nothing; prints where the table and charts are.
bench-zoo: synth
	EPOCHS="$(EPOCHS)" OUT="$(OUT)" bash bench/zoo.sh

# The default synthetic motion dataset (10 classes, 800 train / 200 val videos), made once.
synth: release
	@[ -f data/synth/train.txt ] || .build/release/motive dataset synth --out data/synth

# TV-L1 flow of the synthetic dataset (data/synth/flow: flow folders, train.txt, val.txt), resumable.
synth-flow: synth
	.build/release/motive flow --list data/synth/train.txt --out data/synth/flow --jobs 2
	.build/release/motive flow --list data/synth/val.txt --out data/synth/flow --jobs 2

# Train, evaluate and plot the quickstart job (about seven minutes on two cores; 82% val top-1).
train-quickstart: synth
	.build/release/motive train Models/quickstart.yaml
	.build/release/motive eval runs/quickstart --data data/synth/val.txt
	@echo "run directory: runs/quickstart (curves.svg, metrics.csv, log.jsonl, best.safetensors);" \
	  "evaluation: runs/quickstart/eval-val (confusion.svg, predictions.json)"

# Trains the bundled default model (R(2+1)D-18 tiny on the synthetic dataset; deterministic, so
# this reproduces the committed Models/default) and writes it without optimizer state.
default-model: synth
	.build/release/motive train Models/tiny/r2plus1d_18_tiny.yaml --out runs/default-model
	.build/release/motive export runs/default-model --out Models/default/model.safetensors
	.build/release/motive eval Models/default/model.safetensors --data data/synth/val.txt --out Models/default/eval
	cp runs/default-model/metrics.csv runs/default-model/curves.svg Models/default/

# The daemon on 127.0.0.1:8080 with the models in Models/ (Models/default is `default`).
serve: release
	@mkdir -p data state
	.build/release/motive serve --host 127.0.0.1 --port 8080 --models Models --state-dir state --data-root data

clean:
	rm -rf .build
