# Runnel's build, run and test entry points. `make run` and `make test` are
# the two commands the README promises on a fresh machine.

GO        ?= go
BIN       := bin/runnel
PKGS      := ./...
# How much each fuzz target runs in `make test` (a smoke run; `make fuzz`
# runs longer). Counts, not durations: with a duration, Go 1.26's fuzz
# coordinator can fail a clean run with "context deadline exceeded" at the
# deadline (golang/go#75804, fixed in Go 1.27).
FUZZTIME  ?= 100000x
FUZZLONG  ?= 5000000x

# package:FuzzTarget pairs: every decoder of untrusted bytes has one, and
# every hand-written codec a differential one against kmsg.
FUZZ_TARGETS := \
	./bench:FuzzRawReadResponse \
	./kernel:FuzzRequestHeader \
	./kernel:FuzzServeRequest \
	./kernel:FuzzValidateProduceBatch \
	./kernel:FuzzGroupCoordinator \
	./kernel:FuzzFetchResponseEncoding \
	./sdk:FuzzSplitKeys \
	./segments:FuzzValidateBatch \
	./segments:FuzzRecover \
	./segments/compact:FuzzReadRecords \
	./segments/compact:FuzzFilterBatch

# Modules of their own inside the repository (example plugins): tested
# with the main module, since they build against its sdk.
MODULES   := plugins/examples/rackaware

.PHONY: all build run test lint unit fuzz-smoke fuzz bench-compile bench-micro bench clean generate check-generate

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/runnel

# The single-node broker on its embedded default: 127.0.0.1:9092, ./data.
run: build
	./$(BIN) serve

test: lint check-generate unit fuzz-smoke bench-compile

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	@sc=$$($(GO) tool -n staticcheck); for m in $(MODULES); do \
		echo "vet, staticcheck $$m"; \
		(cd $$m && $(GO) vet ./... && $$sc ./...) || exit 1; \
	done

unit:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	@for m in $(MODULES); do \
		echo "test $$m"; \
		(cd $$m && $(GO) test -race -count=1 -timeout 10m ./...) || exit 1; \
	done

# The plugin wire protocol: protoc from apt (protobuf-compiler), its Go
# generators pinned as tools in go.mod. The generated code is committed.
PROTOS := sdk/internal/pb/plugin.proto

generate:
	@command -v protoc >/dev/null 2>&1 || { echo "make generate: protoc is missing (apt-get install protobuf-compiler)" >&2; exit 1; }
	$(GO) build -o bin/ google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc
	protoc --plugin=protoc-gen-go=bin/protoc-gen-go --plugin=protoc-gen-go-grpc=bin/protoc-gen-go-grpc \
		--go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative $(PROTOS)

# Fails when the generated code is not what make generate writes from
# the .proto (compared with the files as they were, so it works on
# uncommitted changes too). Without protoc (a developer machine) it says
# so and passes; CI installs protoc, so there it always checks.
check-generate:
	@if ! command -v protoc >/dev/null 2>&1; then \
		echo "check-generate: protoc is missing; not checking the generated code"; exit 0; fi; \
	was=$$(mktemp -d) && cp sdk/internal/pb/*.go "$$was"/ && \
	$(MAKE) --no-print-directory generate >/dev/null && \
	for f in "$$was"/*.go; do \
		cmp -s "$$f" sdk/internal/pb/$$(basename "$$f") || { \
			echo "sdk/internal/pb/$$(basename "$$f") was stale (now regenerated): commit it" >&2; rm -rf "$$was"; exit 1; }; \
	done; rm -rf "$$was"; echo "check-generate: generated code is up to date"

fuzz-smoke:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s $$pkg || exit 1; \
	done

fuzz:
	$(MAKE) fuzz-smoke FUZZTIME=$(FUZZLONG)

# Every benchmark once, so they keep compiling and running.
bench-compile:
	$(GO) test -run='^$$' -bench=. -benchtime=1x $(PKGS)

# Microbenchmarks in benchstat-friendly form.
bench-micro:
	$(GO) test -run='^$$' -bench=. -benchmem -count=6 $(PKGS)

# Runnel against franz-go's kfake and the machine's limits (loopback TCP
# with iperf3, disk write+fdatasync): writes bench/RESULTS.md and
# bench/results.png. Takes a while; for a quick look:
#   make bench BENCHFLAGS="--records 200000 --reps 1"
# Without iperf3 (and not root to install it) the loopback limit is
# reported as not measured.
BENCHFLAGS ?=

bench: build
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/kfake ./bench/kfake
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/bench-suite ./bench/suite
	@command -v iperf3 >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			DEBIAN_FRONTEND=noninteractive apt-get install -y iperf3 >/dev/null 2>&1 || \
			{ apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y iperf3 >/dev/null 2>&1; } || \
			echo "make bench: could not install iperf3; the loopback limit will be missing" >&2; \
		else \
			echo "make bench: iperf3 is missing and we cannot install it; the loopback limit will be missing" >&2; \
		fi; \
	}
	./bin/bench-suite --runnel $(BIN) --kfake bin/kfake --out bench/RESULTS.md --png bench/results.png $(BENCHFLAGS)

clean:
	rm -rf bin
