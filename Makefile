# The two commands: `make demo` and `make test`. Both install what they need first.
SWIFT ?= swift
PYTHON ?= python3

.PHONY: all deps build test test-swift test-python asan demo proto bench clean validate

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

## Every test: Swift (codec, runtime, storage, executables, generated-code freshness), the Moore-level
## rules' operating characteristics (200 simulated activities per scenario, on their own so their CPU
## does not slow the timing-bound suites), Python interop, and the codec tests again under AddressSanitizer.
test: build
	$(SWIFT) test --skip OperatingCharacteristics
	$(SWIFT) test --filter OperatingCharacteristics
	LV_BIN_DIR=$$($(SWIFT) build --show-bin-path) $(PYTHON) -m pytest -q Tests/python
	$(MAKE) asan

test-swift: build
	$(SWIFT) test --skip OperatingCharacteristics
	$(SWIFT) test --filter OperatingCharacteristics

test-python: build
	LV_BIN_DIR=$$($(SWIFT) build --show-bin-path) $(PYTHON) -m pytest -q Tests/python

## The codec and framing tests under AddressSanitizer (every protobuf-c allocation freed).
asan: deps
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp $(SWIFT) test --scratch-path .build-asan --sanitize=address --filter 'LVMessagesTests|ProtocolVectorTests|FrameDecoderTests'

## The Moore-level rules' operating characteristics at 2,000 replicates per scenario (make test runs 200),
## in a release build: false-claim rates under null scenarios and power (docs/GATEWAY.md).
validate: deps
	LV_OC_REPLICATES=$${LV_OC_REPLICATES:-2000} $(SWIFT) test -c release --filter OperatingCharacteristics

## Start every service on loopback, show health and methods, stop them.
demo: build
	LV_BIN_DIR=$$($(SWIFT) build --show-bin-path) deploy/local/demo.sh

## Regenerate protoc-c C, Swift message types, the descriptor set and the protocol vectors.
proto: deps
	scripts/generate-proto.sh

## Benchmarks (release builds; results as JSON lines): unary and ingest, then the grpc-swift-2 and raw-echo baselines.
bench: deps
	scripts/bench.sh
	scripts/bench-baselines.sh

clean:
	rm -rf .build .build-asan var Benchmarks/Baselines/.build
