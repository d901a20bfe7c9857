# manta — see README.md. Every target works on a fresh clone: tools come
# from the Go module proxy at pinned versions.

GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packages with goroutines, shared memory or processes run under -race.
RACE_PKGS   := ./core/... ./node/... ./cluster/... ./shm/... ./sched/... ./rpc/... ./gcs/... ./rl/... ./benchmarks/... ./plots/... ./cmd/... ./transfer/... ./metrics/... ./events/... ./state/... ./dashboard/... ./sgd/... ./serve/... ./collective/...
PLAIN_PKGS  := ./sims/... ./sim/... ./examples/... ./internal/... ./probe/...
DURATION    ?= 2s

.PHONY: all build test check bench bench-peers microbenchmark fuzz clean

all: build

build:
	$(GO) build ./...
	$(GO) build -o bin/manta ./cmd/manta

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 $(RACE_PKGS)
	$(GO) test -count=1 $(PLAIN_PKGS)

check:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run ./cmd/importcheck

# The paper's evaluation at quick scale: results/<id>.json, figures and
# results/REPORT.md (manta bench --list shows every experiment).
bench: build
	./bin/manta bench --scale quick --out results

# make bench, after installing and running the peers it compares with
# (Ray's own microbenchmark, about 11 minutes on 2 cores): REPORT.md and
# the micro figure then show Ray measured on this machine.
bench-peers: build
	./bin/manta bench --scale quick --peers --out results

microbenchmark: build
	./bin/manta microbenchmark --duration $(DURATION)

# A short run (FUZZTIME each) of every fuzz target in the tree.
FUZZTIME    ?= 30s
fuzz:
	@set -e; grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$f"); do \
			echo "== $$t in $$(dirname $$f)"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) "./$$(dirname $$f)"; \
		done; \
	done

clean:
	rm -rf bin
