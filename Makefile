# The two commands: `make demo` and `make test`. Both install what they need first.
SWIFT ?= swift
PYTHON ?= python3

.PHONY: all deps build test test-postgres failover failover-long test-swift test-python test-web test-deploy asan tsan check-deps fuzz fuzz-long fuzz-replay demo proto bench bench-ingest sweep dist deploy-check clean validate

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

## Every test: Swift (codec, runtime, storage, executables, generated-code freshness, the JSON mapping
## against json_format, lvctl call/describe on every method), the Python package in a fresh venv and the
## C client (clients/, via Tests/python), the Moore-level
## rules' operating characteristics (200 simulated activities per scenario, on their own so their CPU
## does not slow the timing-bound suites), Python interop, the deploy/ files through their tools and
## the services in separate network namespaces, the fuzz corpus replayed, the codec tests again under
## AddressSanitizer, and libFuzzer on each fuzz target (FUZZ_SECONDS each). The release tarball's own tests (a release build, ~10-15
## min here) are `make deploy-check`.
## The Swift suites run one suite at a time (--no-parallel): most start real executables, and run
## together on 2 cores they starved each other's connection set-up (HELLO timeouts, deadlines passed
## while connecting) in a clean-clone run; one at a time costs ~140 s instead of ~75 s.
test: build
	$(MAKE) check-deps
	$(SWIFT) test --no-parallel --skip OperatingCharacteristics
	$(SWIFT) test --filter OperatingCharacteristics
	$(MAKE) test-postgres
	$(MAKE) failover
	LV_BIN_DIR=$$($(SWIFT) build --show-bin-path) $(PYTHON) -m pytest -q Tests/python
	$(MAKE) test-web
	$(MAKE) test-deploy
	$(MAKE) fuzz-replay
	$(MAKE) asan
	$(MAKE) tsan
	$(MAKE) fuzz

## The store and service suites again on PostgreSQL 15 (LV_TEST_DATABASE): a throwaway server on a free
## loopback port in a temporary directory, run as the postgres user when we are root, removed afterwards
## (scripts/pg-throwaway.py). The PostgreSQL backend's own tests (LVStorePostgresTests) skip without it.
## Then backup and restore: pg_basebackup during ingest plus the WAL archive, restored on a new server, every
## acknowledged event there (scripts/pg-backup-test.py, ~45 s).
test-postgres: build
	$(PYTHON) scripts/pg-throwaway.py run -- $(SWIFT) test --no-parallel --filter 'LVStorePostgresTests|RegistrationTests|EngagementTests|AssessmentTests'
	LV_BIN_DIR=$$($(SWIFT) build --show-bin-path) $(PYTHON) scripts/pg-backup-test.py

## Failover: 3 etcd + 3 PostgreSQL under Patroni (synchronous_mode) on loopback in a private network namespace,
## lv-engagement (events) and lv-registration (registrations, enrollments, check-ins, credit claims) writing through
## a multi-host URL, 10 failovers (SIGKILL of the primary's postgres; every 5th a network cut: iptables drops the
## primary's PostgreSQL, Patroni REST and etcd ports); fails if an acknowledged write of any kind is lost or
## duplicated (~3-4 min). Skips, saying why, without root or the packages; without iptables or namespaces, the
## cuts are skipped with a SKIP line. failover-long: 20 failovers, every 2nd a cut (~7 min; not in make test).
failover: build
	scripts/install-deps.sh --failover
	LV_BIN_DIR=$$($(SWIFT) build --show-bin-path) $(PYTHON) scripts/failover.py

failover-long: build
	scripts/install-deps.sh --failover
	LV_BIN_DIR=$$($(SWIFT) build --show-bin-path) $(PYTHON) scripts/failover.py --failovers 20 --cut-every 2

## lv-web end to end in headless Chromium (Tests/web): every page against the gateway's view, screenshots and
## the outcomes-report PDFs in .build/test-output/web, access rules, a partial view. The browser parts skip,
## saying so, where Chromium is not installed.
test-web: build
	LV_BIN_DIR=$$($(SWIFT) build --show-bin-path) $(PYTHON) -m pytest -q -rs Tests/web

## deploy/ checked by systemd-analyze, hadolint and kubernetes-validate; services in separate
## network namespaces (root; skips with the reason elsewhere). Uses dist/'s tarball when present.
test-deploy: build
	LV_BIN_DIR=$$($(SWIFT) build --show-bin-path) $(PYTHON) -m pytest -q -rs Tests/deploy

test-swift: build
	$(SWIFT) test --no-parallel --skip OperatingCharacteristics
	$(SWIFT) test --filter OperatingCharacteristics

test-python: build
	LV_BIN_DIR=$$($(SWIFT) build --show-bin-path) $(PYTHON) -m pytest -q Tests/python

## The codec and framing tests under AddressSanitizer (every protobuf-c allocation freed). LV_CORE_ONLY leaves
## everything but the codec, runtime and store (BoringSSL, Hummingbird, the services) out of this build.
asan: deps
	LV_CORE_ONLY=1 LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp $(SWIFT) test --scratch-path .build-asan --sanitize=address --filter 'LVMessagesTests|ProtocolVectorTests|FrameDecoderTests'

## Module boundaries: lvctl, lv-load and the simulator link no server module and no SQLite; LVDomain
## depends on neither LVRPC nor LVStore (the manifest, and the built lvctl through nm and ldd).
check-deps: build
	SWIFT=$(SWIFT) $(PYTHON) scripts/check-module-deps.py

## The codec, framing, protocol/runtime (in-process servers, clients, drain, CANCEL) and store tests under
## ThreadSanitizer, in their own scratch path; any data race fails the run (halt_on_error).
tsan: deps
	LV_CORE_ONLY=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/scripts/tsan.supp" \
		$(SWIFT) test --scratch-path .build-tsan --sanitize=thread --filter 'LVMessagesTests|LVRPCTests|LVStoreTests'

## The Moore-level rules' operating characteristics at 2,000 replicates per scenario (make test runs 200),
## in a release build: false-claim rates under null scenarios and power (docs/GATEWAY.md).
validate: deps
	LV_OC_REPLICATES=$${LV_OC_REPLICATES:-2000} $(SWIFT) test -c release --filter OperatingCharacteristics

## libFuzzer, FUZZ_SECONDS (default 50) per target, on: the wire pre-check + protobuf-c decode of every
## message (Fuzz/Codec), the frame decoder with reads split anywhere and the body budget checked
## (Fuzz/Frames), and every registration, engagement and assessment handler on temporary stores,
## never INTERNAL or UNKNOWN (Fuzz/Handlers). `make fuzz-long` runs each 20 min. Each target is
## built alone under --sanitize fuzzer,address in .build-fuzz. New inputs go to .build-fuzz/corpus-*;
## a crash is written to .build-fuzz/artifacts/ and fails the target; copy it into Fuzz/corpus/<target>/
## so fuzz-replay keeps it as a regression test.
FUZZ_SECONDS ?= 50
FUZZ_TARGETS = codec frames handlers
fuzz: deps
	mkdir -p .build-fuzz/artifacts
	set -e; for t in $(FUZZ_TARGETS); do \
		$(SWIFT) build --scratch-path .build-fuzz --product lv-fuzz-$$t --sanitize fuzzer --sanitize address -Xswiftc -DLV_FUZZ; \
		mkdir -p .build-fuzz/corpus-$$t; \
		LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan-fuzz.supp .build-fuzz/debug/lv-fuzz-$$t -max_total_time=$(FUZZ_SECONDS) \
			-rss_limit_mb=2048 -max_len=65536 -timeout=10 -print_final_stats=1 \
			-artifact_prefix=.build-fuzz/artifacts/$$t- .build-fuzz/corpus-$$t Fuzz/corpus/$$t; \
	done

fuzz-long:
	$(MAKE) fuzz FUZZ_SECONDS=1200

## Replays the committed corpora (seeds and every crash ever found) without the fuzzer, with the
## debug build's lv-fuzz-* binaries (built without -DLV_FUZZ they replay files given as arguments).
fuzz-replay: build
	set -e; bin=$$($(SWIFT) build --show-bin-path); for t in $(FUZZ_TARGETS); do $$bin/lv-fuzz-$$t Fuzz/corpus/$$t/*; done

## Start every service and lv-web on loopback, simulate two activities, print their views and lv-web's URL, stop them.
demo: build
	LV_BIN_DIR=$$($(SWIFT) build --show-bin-path) deploy/local/demo.sh

## Regenerate protoc-c C, Swift message types, the descriptor set and the protocol vectors.
proto: deps
	scripts/generate-proto.sh

## Benchmarks (release builds; results as JSON lines): unary and ingest, then the grpc-swift-2 and raw-echo baselines.
bench:
	@scripts/install-deps.sh --bench
	scripts/bench.sh
	scripts/bench-baselines.sh
	scripts/bench-ingest.sh

## Engagement ingest (synchronous=FULL, time-ordered then random ids, RUNS runs each) against raw C SQLite inserting the
## same rows the same way (Benchmarks/RawSQLite), in the same run: events/s, the ratio, and each run's load average.
bench-ingest: deps
	scripts/bench-ingest.sh

## The gateway view at 500, 2,000, 10,000 and 50,000 participants (a fifth as many comparison physicians): the view's
## time, where it went by backend method, each service's peak RSS (docs/BENCHMARKS.md "Cost grows as").
## SWEEP_SIZES="500 2000" make sweep for fewer points.
sweep: deps
	$(SWIFT) build -c release --product lv-registration
	$(SWIFT) build -c release --product lv-engagement
	$(SWIFT) build -c release --product lv-assessment
	$(SWIFT) build -c release --product lv-gateway
	$(SWIFT) build -c release --product lvctl
	LV_BIN_DIR=$$($(SWIFT) build -c release --show-bin-path) $(PYTHON) scripts/bench-sweep.py $(SWEEP_SIZES)

## The relocatable release: dist/lv-<version>-linux-<arch>.tar.gz (static Swift runtime; .build-dist/).
dist: deps
	scripts/dist.sh

## make dist, then every deploy test against the tarball: unpack-and-run with ldd, the
## network-namespace test on the release binaries, and the deploy/ file checks.
deploy-check: dist
	LV_REQUIRE_DIST=1 $(PYTHON) -m pytest -q -rs Tests/deploy

clean:
	rm -rf .build .build-asan .build-dist .build-fuzz dist var Benchmarks/Baselines/.build clients/c/build
