# townline — make help lists the targets.
GO      ?= go
BIN     := bin/townline
WITHPG  := bin/withpg

.PHONY: help build run demo test bench fuzz mutate lint generate clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build bin/townline
	$(GO) build -o $(BIN) ./cmd/townline

run: build ## serve the bundled Oroville example on http://127.0.0.1:8080
	./$(BIN) serve

demo: build ## the whole system on this machine: text, call and mail the city from the terminal
	./$(BIN) demo

$(WITHPG): $(wildcard internal/localpg/*.go internal/cmd/withpg/*.go)
	$(GO) build -o $(WITHPG) ./internal/cmd/withpg

# SeaweedFS (Apache licence), the S3-compatible server the tests keep
# photos in when a city keeps them in a bucket. Debian does not ship it,
# and its go.mod replaces modules, so go install cannot build it from
# outside: its module is copied and built in place. The first build takes
# about ten minutes on two cores; the tests find it through WEED.
WEED_MODULE := github.com/seaweedfs/seaweedfs@v0.0.0-20261109003541-7506e5f91cd6
export WEED := $(CURDIR)/bin/weed

$(WEED):
	@mkdir -p bin
	src=$$($(GO) mod download -json $(WEED_MODULE) | grep '"Dir"' | cut -d'"' -f4) && tmp=$$(mktemp -d) && \
	cp -r "$$src"/. "$$tmp" && chmod -R u+w "$$tmp" && \
	(cd "$$tmp" && $(GO) build -o $(WEED) ./weed); rc=$$?; rm -rf "$$tmp"; exit $$rc

test: $(WITHPG) $(WEED) ## run every test against a throwaway PostgreSQL (or the one in DATABASE_URL)
	$(GO) vet ./...
	./$(WITHPG) -- $(GO) test -race -shuffle=on -count=1 ./...

bench: $(WITHPG) build ## Go benchmarks, the intake load test beside pgbench, page timings, import beside COPY
	./$(WITHPG) -- $(GO) test -run='^$$' -bench=. -benchmem -skip='Backlog|IdleDelay' ./...
	./$(WITHPG) -- $(GO) test -run='^$$' -bench='^BenchmarkBacklog$$' -benchtime=1000x ./channels/email/
	./$(WITHPG) -- $(GO) test -run='^$$' -bench='^BenchmarkIdleDelay$$' -benchtime=100x ./channels/email/
	$(GO) run ./internal/cmd/intakebench -townline $(BIN)
	./$(WITHPG) -- $(GO) run ./internal/cmd/pagebench
	./$(WITHPG) -- $(GO) run ./internal/cmd/importbench -townline $(BIN)

FUZZTIME ?= 20s
FUZZ := core:FuzzStripMetadata core:FuzzPhotoGPS channels/open311:FuzzParseFilter channels/open311:FuzzPostParams \
	channels/sms:FuzzInbound channels/sms:FuzzSegments channels/email:FuzzParse \
	channels/voice:FuzzInput channels/voice:FuzzHours

fuzz: ## fuzz every parser for a while each (FUZZTIME=20s)
	@for t in $(FUZZ); do \
		echo "fuzz $${t#*:}"; \
		$(GO) test -run='^$$' -fuzz="^$${t#*:}$$" -fuzztime=$(FUZZTIME) ./$${t%%:*}/ || exit 1; \
	done

GREMLINS := github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0
MUTATE ?= core channels/open311 channels/sms channels/voice channels/email channels/web channels/twilio channels/staff
ONLY ?=
RUN ?=

# Each change runs only the tests that reach its line (internal/cmd/testpick
# first runs each test alone with coverage, then stands in for go on
# gremlins' PATH: gremlins is built, not go run, which would put the real
# go first): the same figures as the whole suite, in a fraction of the time.
# ONLY="status.go deliver.go" changes those files of the package alone.
# RUN='^Test[^B]' leaves out the tests it does not match: the figures are
# then a lower bound of the whole suite's.
# Vet is off: a change vet flags would count as caught with no test run.
# Each package builds in a cache of its own, removed after: the changes'
# builds would otherwise grow Go's build cache by tens of gigabytes.
mutate: $(WITHPG) $(WEED) ## mutation-test MUTATE's packages, or ONLY some files with RUN some tests; prints efficacy and coverage
	@$(GO) build -o bin/testpick ./internal/cmd/testpick
	@for p in $(MUTATE); do \
		echo "== $$p $(ONLY) $(RUN)"; \
		others='^$$'; \
		if [ -n "$(ONLY)" ]; then \
			others="^($$(cd $$p && ls *.go | grep -v '_test\.go$$' | grep -vxF $(foreach f,$(ONLY),-e $(f)) | sed 's/\./\\./' | paste -sd'|'))\$$"; \
		fi; \
		work=$$(mktemp -d); trap "rm -rf $$work" EXIT; trap "exit 1" INT TERM; mkdir $$work/bin; \
		printf '#!/bin/sh\nexec %s go "$$@"\n' $(CURDIR)/bin/testpick > $$work/bin/go; chmod +x $$work/bin/go; \
		export GOCACHE=$$work/cache TESTPICK_GO=$$(command -v $(GO)) TESTPICK_SRC=$(CURDIR) TESTPICK_INDEX=$$work/index; \
		./$(WITHPG) -- bin/testpick index -o $$work/index $(if $(RUN),-run '$(RUN)') $$p || { rm -rf $$work; exit 1; }; \
		GOBIN=$$work/tools $(GO) install $(GREMLINS) || { rm -rf $$work; exit 1; }; \
		PATH=$$work/bin:$$PATH GOFLAGS="-parallel=8 -vet=off -ldflags=-w $(if $(RUN),-run=$(RUN))" ./$(WITHPG) -- $$work/tools/gremlins unleash \
			--workers 1 --timeout-coefficient 3 --exclude-files 'internal/db/' --exclude-files "$$others" ./$$p 2>&1 | \
			tee bin/mutate-$$(echo $$p | tr / -).log | grep --line-buffered -E '^(Killed|Timed out|Test efficacy|Mutator coverage|Mutation testing completed)|LIVED'; \
		found=$$?; rm -rf $$work; [ $$found -eq 0 ] || exit 1; \
	done

SQLC := github.com/sqlc-dev/sqlc/cmd/sqlc@v1.31.1

generate: ## compile core/queries/*.sql into core/internal/db with sqlc
	$(GO) run $(SQLC) generate -f core/sqlc.yaml

lint: ## vet and check formatting
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (gofmt -l .; exit 1)

clean: ## remove build output (not ./data)
	rm -rf bin
