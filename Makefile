# modelkeep: the two set-up commands are `make demo` and `make test`; both install the
# Debian packages they need (scripts/install-deps.sh) and build first.
BUILD_DIR ?= build
PREFIX ?= /usr/local
CMAKE_FLAGS ?=
SANITIZE ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: build deps configure demo test bench install clean format

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

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# Benchmarks (not tests): each against a reference run in the same invocation; about 8
# minutes on 2 cores. Table and bench/results/latest.json, plot in bench/results/throughput.png.
bench: build
	scripts/install-deps.sh --bench
	cmake --build $(BUILD_DIR) --target merge_bench list_bench record_bench store_bench bench_report
	$(BUILD_DIR)/bench/store_bench $(BUILD_DIR) $(BUILD_DIR)/bench-work bench/results/store.json
	$(BUILD_DIR)/bench/merge_bench $(BUILD_DIR)/consolidate/consolidate-model $(BUILD_DIR)/bench-work bench/results/merge.json
	$(BUILD_DIR)/bench/list_bench $(BUILD_DIR)/versioner/model-versioner $(BUILD_DIR)/bench-work bench/results/list.json
	$(BUILD_DIR)/bench/record_bench $(BUILD_DIR)/bench-work bench/results/record.json
	$(BUILD_DIR)/bench/bench_report bench/results

install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD_DIR)

format:
	find common versioner tests -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i
