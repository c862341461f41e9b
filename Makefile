# The two commands a newcomer runs: `make demo` and `make test`.
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= 2

.PHONY: all deps build test test-asan demo bench clean ui-screenshots

all: build

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# Unit, CLI and crash tests on the release build, then the unit tests again
# under AddressSanitizer + UndefinedBehaviorSanitizer.
test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	$(MAKE) test-asan

test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DNCEN_SANITIZE=ON -DNCEN_TOOLS=OFF
	cmake --build $(BUILD_ASAN) -j$(JOBS)
	cd $(BUILD_ASAN) && ctest --output-on-failure -j$(JOBS) -L unit

demo: build
	@scripts/demo $(BUILD)

# The browser tests again, writing their screenshots of the main pages to docs/ui/.
ui-screenshots: build
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error && \
	  node run.mjs ../../$(BUILD)/node/ncen-node ../../$(BUILD)/tools/ncenctl --screenshots ../../docs/ui && \
	  for test in two_nodes pages entry_form edit_form conflict_delete; do \
	    node $$test.mjs ../../$(BUILD)/node/ncen-node ../../$(BUILD)/tools/ncenctl --screenshots ../../docs/ui || exit 1; \
	  done

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
