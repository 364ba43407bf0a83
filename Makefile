# modelkeep: the two set-up commands are `make demo` and `make test`; both install the
# Debian packages they need (scripts/install-deps.sh) and build first.
BUILD_DIR ?= build
PREFIX ?= /usr/local
CMAKE_FLAGS ?=
SANITIZE ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: build deps configure demo test test-browser bench fuzz torture modelcheck crashcheck test-sanitize tidy install clean format

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

deps:
	scripts/install-deps.sh

configure: deps
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then \
	  cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DMODELKEEP_SANITIZE='$(SANITIZE)' $(CMAKE_FLAGS); \
	fi

demo: build
	scripts/demo.sh $(BUILD_DIR)

# In CI (CI=true) the suites run a second time under AddressSanitizer and UBSan. Chromium is
# installed too, so that the dashboard's browser test runs instead of skipping.
test: build
	scripts/install-deps.sh --browser
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)
	@if [ "$(CI)" = true ] && [ -z "$(SANITIZE)" ]; then $(MAKE) test-sanitize; fi

# The dashboard in headless chromium (`make test` runs it too); the screenshot it takes becomes
# docs/dashboard.png.
test-browser: build
	scripts/install-deps.sh --browser
	ctest --test-dir $(BUILD_DIR) --output-on-failure -R cli_browser
	cp $(BUILD_DIR)/dashboard.png docs/dashboard.png

# Benchmarks (not tests): each against a reference run in the same invocation, then time
# against data size (256 MiB to 8 GiB) and against the number of versions (100 to 100,000);
# about 20 minutes on 2 cores and 40 GB of free disk. Table and bench/results/latest.json; the
# curves go to docs/bench/size.png and docs/bench/versions.png.
bench: build
	scripts/install-deps.sh --bench
	cmake --build $(BUILD_DIR) --target merge_bench list_bench record_bench store_bench bench_report
	$(BUILD_DIR)/bench/store_bench $(BUILD_DIR) $(BUILD_DIR)/bench-work bench/results/store.json
	$(BUILD_DIR)/bench/merge_bench $(BUILD_DIR)/consolidate/consolidate-model $(BUILD_DIR)/bench-work bench/results/merge.json
	$(BUILD_DIR)/bench/list_bench $(BUILD_DIR)/versioner/model-versioner $(BUILD_DIR)/bench-work bench/results/list.json
	$(BUILD_DIR)/bench/record_bench $(BUILD_DIR)/bench-work bench/results/record.json
	bench/serve_bench.sh $(abspath $(BUILD_DIR))/versioner/model-versioner $(abspath $(BUILD_DIR))/bench-work $(abspath bench/results)/serve.json
	$(BUILD_DIR)/bench/bench_report bench/results
	mkdir -p docs/bench && cp bench/results/size.png bench/results/versions.png docs/bench/

# libFuzzer (clang, ASan, UBSan) on every fuzz target for FUZZ_SECONDS each; new inputs that
# reach new code go into a scratch corpus, crashes into build-fuzz/crashes/ (add them to
# tests/fuzz/corpus/<target>/ once fixed: make test replays that corpus).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = safetensors model_index adapter_config metadata names archive list_index
fuzz:
	scripts/install-deps.sh --fuzz
	@if [ ! -f build-fuzz/build.ninja ]; then \
	  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DMODELKEEP_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo; \
	fi
	cmake --build build-fuzz -j $(JOBS)
	@mkdir -p build-fuzz/crashes; total=0; \
	for t in $(FUZZ_TARGETS); do \
	  rm -rf build-fuzz/corpus/$$t; mkdir -p build-fuzz/corpus/$$t; \
	  build-fuzz/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=build-fuzz/crashes/$$t- build-fuzz/corpus/$$t tests/fuzz/corpus/$$t \
	    2> build-fuzz/fuzz_$$t.log || { tail -30 build-fuzz/fuzz_$$t.log; exit 1; }; \
	  runs=$$(grep -o 'Done [0-9]* runs' build-fuzz/fuzz_$$t.log | grep -o '[0-9]*'); \
	  echo "fuzz_$$t: $$runs executions, no crash"; total=$$((total + runs)); \
	done; echo "fuzzing done: $$total executions over $(words $(FUZZ_TARGETS)) targets, no crash"

# Random command sequences checked against the trust invariants (MODELCHECK_SEQUENCES, default
# 2,000, a fresh seed each run unless MODELCHECK_SEED is set; about 10 minutes on 2 cores).
MODELCHECK_SEQUENCES ?= 2000
MODELCHECK_SEED ?=
modelcheck: build
	python3 tests/modelcheck/modelcheck.py --build $(BUILD_DIR) --sequences $(MODELCHECK_SEQUENCES) \
	  --jobs $(JOBS) $(if $(MODELCHECK_SEED),--seed $(MODELCHECK_SEED))

# Random SIGKILLs at every kind of write, then the store's invariants (TORTURE_KILLS, default 1000;
# about 9 minutes on 2 cores).
TORTURE_KILLS ?= 1000
torture: build
	MODELKEEP_BUILD_DIR=$(abspath $(BUILD_DIR)) tests/torture/torture.sh $(TORTURE_KILLS)

# Every state a power cut may leave, for each workload, under both persistence models (see
# docs/DESIGN.md, "Power loss"), checked against the store's invariants. CRASHCHECK_BUDGET
# distinct states per workload at most (default 8,000); about 5 minutes on 2 cores.
CRASHCHECK_BUDGET ?= 8000
CRASHCHECK_SEED ?= 1
crashcheck: build
	cmake --build $(BUILD_DIR) --target crashcheck
	$(BUILD_DIR)/tests/crashcheck/crashcheck --model barrier --budget $(CRASHCHECK_BUDGET) --seed $(CRASHCHECK_SEED) > $(BUILD_DIR)/crashcheck-barrier.log & \
	  $(BUILD_DIR)/tests/crashcheck/crashcheck --model posix --budget $(CRASHCHECK_BUDGET) --seed $(CRASHCHECK_SEED) > $(BUILD_DIR)/crashcheck-posix.log; \
	  posix=$$?; wait $$!; barrier=$$?; \
	  cat $(BUILD_DIR)/crashcheck-barrier.log $(BUILD_DIR)/crashcheck-posix.log; \
	  total=$$(grep -h '^crashcheck: .* states explored' $(BUILD_DIR)/crashcheck-*.log | awk '{s += $$4; v += $$7} END {print s " states explored, " v " violations"}'); \
	  echo "crashcheck total (both models): $$total"; \
	  test $$posix = 0 && test $$barrier = 0

# The unit and CLI suites under AddressSanitizer and UndefinedBehaviorSanitizer (without
# LibTorch: consolidate-model and its tests run in the normal build only; -O1 without debug
# information, which halves the build on 2 cores).
test-sanitize:
	$(MAKE) test SANITIZE=address,undefined BUILD_DIR=build-sanitize \
	  CMAKE_FLAGS="-DMODELKEEP_WITH_TORCH=OFF -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1"

# clang-tidy with the checked-in .clang-tidy over every source folder (the library, the three
# tools, the server and the benchmarks).
SOURCE_DIRS = common versioner backup consolidate bench
tidy: configure
	scripts/install-deps.sh --fuzz
	run-clang-tidy -quiet -p $(BUILD_DIR) -j $(JOBS) '$(abspath .)/($(subst $(eval) ,|,$(SOURCE_DIRS)))/.*\.cpp$$'

install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD_DIR)

format:
	find $(SOURCE_DIRS) tests -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i
