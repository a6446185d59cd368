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
	./kernel:FuzzRequestHeader \
	./kernel:FuzzServeRequest \
	./kernel:FuzzValidateProduceBatch \
	./kernel:FuzzGroupCoordinator \
	./kernel:FuzzFetchResponseEncoding \
	./segments:FuzzValidateBatch \
	./segments:FuzzRecover \
	./segments/compact:FuzzReadRecords \
	./segments/compact:FuzzFilterBatch

.PHONY: all build run test lint unit fuzz-smoke fuzz bench-compile bench-micro clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/runnel

# The single-node broker on its embedded default: 127.0.0.1:9092, ./data.
run: build
	./$(BIN) serve

test: lint unit fuzz-smoke bench-compile

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

unit:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

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

clean:
	rm -rf bin
