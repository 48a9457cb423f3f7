# Till's developer commands. The logic lives in scripts/; each target here is a one-liner.
#
#   make build     build bin/till
#   make vet       check formatting (gofmt) and run go vet
#   make test      the whole suite, as CI runs it: installs PostgreSQL and Chromium if missing, starts a throwaway
#                  PostgreSQL, go test -race, a short fuzz run (scripts/test.sh; PKG=./service/... narrows it)
#   make pg        start a throwaway PostgreSQL for interactive use and print its URL; make pg-stop stops it
#   make fuzz      fuzz every target for FUZZTIME seconds each (default 60)
#   make bench     run the benchmarks
#   make deps      install missing PostgreSQL, Chromium, gcc from Debian packages (needs root)

SHELL := bash
FUZZTIME ?= 60
PKG ?= ./...

.PHONY: build vet test pg pg-stop fuzz bench deps

build:
	go build -o bin/till ./cmd/till

vet:
	@out="$$(gofmt -l .)"; if [[ -n "$$out" ]]; then echo "gofmt -w needed on:"; echo "$$out"; exit 1; fi
	go vet ./...

test:
	scripts/test.sh $(PKG)

pg:
	@scripts/pg.sh start

pg-stop:
	@scripts/pg.sh stop

fuzz:
	scripts/fuzz.sh -t $(FUZZTIME) $(PKG)

bench:
	go test -run '^$$' -bench . $(PKG)

deps:
	scripts/deps.sh
