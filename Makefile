# mentordb — `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO      ?= go
SQLC    := $(GO) tool -modfile=tools/go.mod sqlc
OUT     := conformance/out
PKGS    := ./...
# gotestsum runs go test and writes, from the same run, the JSON event stream
# (the report's input) and JUnit XML (what CI test-report views read).
GOTESTSUM_VERSION := v1.13.0
GOTESTSUM := $(GO) run gotest.tools/gotestsum@$(GOTESTSUM_VERSION)

include mk/supabase.mk

.PHONY: help
help: ## list the targets
	@awk -F':.*## ' '/^[a-z0-9-]+:.*## /{printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: setup
setup: ## install what a fresh Debian machine lacks (Debian packages as root, pinned npm tools); no-op when present
	@scripts/setup

.PHONY: generate
generate: ## regenerate gen/ from sql/ with sqlc, and db/constraints_gen.go from a migrated disposable database
	$(SQLC) generate
	$(GO) run ./cmd/gen-constraints

.PHONY: verify
verify: ## fail when gen/ is stale (sqlc diff) or Go code is not gofmt'ed
	$(SQLC) diff
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

.PHONY: vet
vet: ## go vet
	$(GO) vet $(PKGS)

.PHONY: unit
unit: ## unit tier: everything but the conformance matrix itself
	$(GO) test -count=1 $$($(GO) list ./... | grep -v '/conformance$$')

.PHONY: conformance
conformance: setup ## boot PostgreSQL, migrate, run the whole matrix, print the report (report.md/.json, junit.xml in conformance/out)
	@mkdir -p $(OUT)
	@status=0; $(GOTESTSUM) --format pkgname --hide-summary=output --jsonfile $(OUT)/test.json --junitfile $(OUT)/junit.xml -- -count=1 $(PKGS) || status=$$?; \
	$(GO) run ./cmd/mentordb report --json $(OUT)/report.json --md $(OUT)/report.md --junit $(OUT)/junit.xml $(CONFORMANCE_SUMMARY) < $(OUT)/test.json || status=1; \
	if [ $$status -ne 0 ]; then \
	  echo; echo "failing tests:"; \
	  grep -E '"Action":"fail"' $(OUT)/test.json | sed -E 's/.*"Test":"([^"]*)".*/  \1/' | sort -u | head -50; \
	  echo "full report: $(OUT)/report.md; events: $(OUT)/test.json"; \
	fi; exit $$status

.PHONY: mutants
mutants: setup ## mutation testing of the matrix (CONF-4): every mutant of the schema must be killed by a behavioural test (conformance/out/mutants.json)
	@mkdir -p $(OUT)
	$(GO) run ./cmd/mentordb mutants --json $(OUT)/mutants.json

# The mutation run, then the report again with CONF-4 judged by it: part of
# `make test`, so CI fails on any surviving mutant. A run that did not
# finish leaves no mutants.json, and the report then fails on its absence
# rather than judging an old run.
.PHONY: mutants-report
mutants-report:
	@rm -f $(OUT)/mutants.json
	@status=0; $(GO) run ./cmd/mentordb mutants --json $(OUT)/mutants.json || status=$$?; \
	$(GO) run ./cmd/mentordb report --json $(OUT)/report.json --md $(OUT)/report.md --mutants $(OUT)/mutants.json < $(OUT)/test.json | grep -E '^[0-9]+ requirements:|^tests:' || status=1; \
	exit $$status

.PHONY: supabase-check
supabase-check: setup ## only the external tier: the Supabase CLI applies, advises and lints (also part of conformance)
	$(GO) test -count=1 ./conformance -run 'TestConformance/matrix/(Supabase|Lint)' -v | grep -E '^\s*(---|ok|FAIL)'

# The example consumer (examples/service) is a module of its own, built the
# way a team that imports db builds it. It must not compile the test-only
# tools of this module: FORBIDDEN matches their import paths.
CONSUMER  := examples/service
FORBIDDEN := github.com/(docker/|moby/|ory/dockertest|stretchr/testify|sqlc-dev/)

.PHONY: consumer
consumer: ## build and vet the example consumer module; fail if it compiles docker, dockertest, testify or sqlc
	cd $(CONSUMER) && $(GO) build -o /dev/null . && $(GO) vet ./...
	@deps=$$(cd $(CONSUMER) && $(GO) list -deps ./...); \
	bad=$$(grep -E '$(FORBIDDEN)' <<<"$$deps" || true); \
	if [ -n "$$bad" ]; then echo "the consumer compiles packages a consumer must not need:"; echo "$$bad"; exit 1; fi; \
	echo "consumer: $$(wc -l <<<"$$deps") packages, none of docker, dockertest, testify or sqlc; $$(cd $(CONSUMER) && $(GO) list -m all | wc -l) modules in its graph"

# In `make test` the report after the mutation run writes the CI summary
# ($$GITHUB_STEP_SUMMARY), with CONF-4 judged; the matrix's own report
# does not write a first one.
test: CONFORMANCE_SUMMARY := --summary ''

.PHONY: test
test: setup vet verify consumer conformance mutants-report ## everything CI checks: the matrix, then the mutation run (CONF-4); the report's last line counts the tests

.PHONY: bench
bench: ## measure the DESIGN.md performance targets on a disposable PostgreSQL; writes docs/benchmarks.md (~10 min)
	$(GO) run ./cmd/mentordb bench --out docs/benchmarks.md

.PHONY: clean
clean: ## remove build and report output
	rm -rf $(OUT)
