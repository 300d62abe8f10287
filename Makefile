# mentordb — `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO      ?= go
# The modules, each with its own go.mod; go.work lists them, so that the
# go command, run here, builds across them. The root module is what a
# consumer imports (db, db/token, db/migrate, db/platform, gen, sql); the
# others hold our test and tool dependencies, which a consumer never
# resolves.
MODULES := . internal/harness conformance cmd
# Every package of every module (go.work's "work" pattern; ./... here would
# be the root module's alone).
PKGS    := work
# sqlc lives in its own modfile, which the workspace does not list.
SQLC    := GOWORK=off $(GO) tool -modfile=tools/go.mod sqlc
MENTORDB := $(GO) run ./cmd/mentordb
# The PostgreSQL major the run targets (docker/suites lists those with an
# image): `make conformance PG=17`. The provider follows CONF-1's order
# unless CONFORMANCE_PROVIDER=docker|local|url names one. Output of the
# default major goes to conformance/out, of another to conformance/out/pgN.
PG      ?= 15
export CONFORMANCE_PG_MAJOR := $(PG)
OUT     := conformance/out$(if $(filter-out 15,$(PG)),/pg$(PG))
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
generate: ## regenerate gen/ from sql/ with sqlc, and db/constraints_gen.go and sql/schema.sql from a migrated disposable database
	$(SQLC) generate
	$(GO) run ./cmd/gen-constraints
	$(GO) run ./cmd/gen-schema

.PHONY: verify
verify: ## fail when gen/ is stale (sqlc diff), Go code is not gofmt'ed, or a module's go.mod/go.sum is not tidy
	$(SQLC) diff
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	@for m in $(MODULES) $(CONSUMER); do (cd $$m && GOWORK=off $(GO) mod tidy -diff) || { echo "$$m: go.mod or go.sum is not tidy: cd $$m && GOWORK=off go mod tidy"; exit 1; }; done

.PHONY: vet
vet: ## go vet, each module on its own (GOWORK=off: a module must build without the workspace)
	@for m in $(MODULES); do echo "go vet: $$m"; (cd $$m && GOWORK=off $(GO) vet ./...) || exit 1; done

# db's examples take their server from MENTORDB_TEST_DATABASE_URL, which
# `mentordb dev -- command` sets for the command.
.PHONY: unit
unit: ## unit tier: every module's tests but the conformance matrix itself, db's examples on a disposable PostgreSQL
	$(MENTORDB) dev -- $(GO) test -count=1 $$($(GO) list $(PKGS) | grep -v '/conformance$$')

.PHONY: conformance
conformance: setup ## boot PostgreSQL (PG=15 default, PG=17), migrate, run the whole matrix and every module's tests, print the report (report.md/.json, junit.xml in conformance/out[/pgN])
	@mkdir -p $(OUT)
	@status=0; $(MENTORDB) dev -- $(GOTESTSUM) --format pkgname --hide-summary=output --jsonfile $(OUT)/test.json --junitfile $(OUT)/junit.xml -- -count=1 $(PKGS) || status=$$?; \
	$(MENTORDB) report --json $(OUT)/report.json --md $(OUT)/report.md --junit $(OUT)/junit.xml $(CONFORMANCE_SUMMARY) < $(OUT)/test.json || status=1; \
	if [ $$status -ne 0 ]; then \
	  echo; echo "failing tests:"; \
	  grep -E '"Action":"fail"' $(OUT)/test.json | sed -E 's/.*"Test":"([^"]*)".*/  \1/' | sort -u | head -50; \
	  echo "full report: $(OUT)/report.md; events: $(OUT)/test.json"; \
	fi; exit $$status

.PHONY: mutants
mutants: setup ## mutation testing of the matrix (CONF-4): every mutant of the schema must be killed by a behavioural test (conformance/out/mutants.json)
	@mkdir -p $(OUT)
	$(MENTORDB) mutants --json $(OUT)/mutants.json

# The mutation run, then the report again with CONF-4 judged by it: part of
# `make test`, so CI fails on any surviving mutant. A run that did not
# finish leaves no mutants.json, and the report then fails on its absence
# rather than judging an old run.
.PHONY: mutants-report
mutants-report:
	@rm -f $(OUT)/mutants.json
	@status=0; $(MENTORDB) mutants --json $(OUT)/mutants.json || status=$$?; \
	$(MENTORDB) report --json $(OUT)/report.json --md $(OUT)/report.md --mutants $(OUT)/mutants.json < $(OUT)/test.json | grep -E '^[0-9]+ requirements:|^tests:' || status=1; \
	exit $$status

# The base is a git ref (a branch, tag or commit): `make review BASE=origin/main`;
# GATE=1 also runs the mutants of the new and changed objects (minutes).
.PHONY: review
review: ## what the schema change since BASE does (REV-1): conformance/out/review.md and review.json; fails when a guarantee is lost
	@test -n "$(BASE)" || { echo "usage: make review BASE=<git ref> [GATE=1]"; exit 2; }
	$(MENTORDB) review --base $(BASE) --out $(OUT) $(if $(GATE),--gate)

.PHONY: supabase-check
supabase-check: setup ## only the external tier: the Supabase CLI applies, advises and lints (also part of conformance)
	$(GO) test -count=1 ./conformance -run 'TestConformance/matrix/(Supabase|Lint)' -v | grep -E '^\s*(---|ok|FAIL)'

# The example consumer (examples/service) is a module of its own, built the
# way a team that imports db builds it (GOWORK=off: outside our workspace).
# It must not compile the test-only tools of this repository: FORBIDDEN
# matches their import paths. scripts/consumer-graph then measures the
# module graph a fresh consumer inherits (at most 25 modules; no test or tool
# module of ours downloaded by go mod tidy on an empty cache): it needs the
# module proxy.
CONSUMER  := examples/service
FORBIDDEN := github.com/(docker/|moby/|ory/dockertest|opencontainers/|sirupsen/logrus|schollz/progressbar|stretchr/testify|sqlc-dev/)

.PHONY: consumer
consumer: ## build and vet the example consumer; check a fresh consumer's module graph (needs the module proxy)
	cd $(CONSUMER) && GOWORK=off $(GO) build -o /dev/null . && GOWORK=off $(GO) vet ./...
	@deps=$$(cd $(CONSUMER) && GOWORK=off $(GO) list -deps ./...); \
	bad=$$(grep -E '$(FORBIDDEN)' <<<"$$deps" || true); \
	if [ -n "$$bad" ]; then echo "the consumer compiles packages a consumer must not need:"; echo "$$bad"; exit 1; fi; \
	echo "consumer: $$(wc -l <<<"$$deps") packages, none of our test or tool modules"
	@GO=$(GO) scripts/consumer-graph

# In `make test` the report after the mutation run writes the CI summary
# ($$GITHUB_STEP_SUMMARY), with CONF-4 judged; the matrix's own report
# does not write a first one.
test: CONFORMANCE_SUMMARY := --summary ''

.PHONY: test
test: setup vet verify consumer conformance mutants-report ## everything CI checks: the matrix, then the mutation run (CONF-4); the report's last line counts the tests

.PHONY: bench
bench: ## measure the DESIGN.md performance targets on a disposable PostgreSQL; writes docs/benchmarks.md (~10 min)
	$(MENTORDB) bench --out docs/benchmarks.md

.PHONY: clean
clean: ## remove build and report output
	rm -rf $(OUT)
