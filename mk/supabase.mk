# The pinned Supabase CLI for the external tier (EXT-1, PA-MIG-1, PS-MIG-1).
#
# `make supabase-cli` installs it into the git-ignored .tools/supabase and is a
# no-op when that version is already installed there. The npm package
# `supabase` has no install scripts: its JS shim (node_modules/.bin/supabase)
# only execs the native binary from the optional dependency
# @supabase/cli-<platform>, so nothing is fetched outside the npm registry.
# SUPABASE is that native binary (no Node needed to run it); export it to Go
# as SUPABASE_BIN (package conformance/supabasecli finds it there by default).
#
# The lockfile in conformance/supabasecli/npm pins every package version; it
# holds only @supabase/cli-linux-x64 (glibc, the CI platform) because the
# registry reachable here serves no other platform package at 3.1.0 (E404).
# That is also why this runs `npm install` on the copied lockfile, not
# `npm ci`: ci refuses a lockfile that lacks the other optional platform
# packages, while install keeps the locked versions and skips the missing
# optional ones. On another platform the matching binary package is added at
# the same exact version.

SUPABASE_VERSION := 3.1.0
SUPABASE_NPM_DIR := conformance/supabasecli/npm
SUPABASE_DIR     := .tools/supabase

SUPABASE_OS   := $(shell uname -s | tr A-Z a-z)
SUPABASE_ARCH := $(shell uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/')
SUPABASE_LIBC := $(shell (ldd --version 2>&1 | grep -qi musl) && echo -musl)
SUPABASE_PLATFORM ?= $(SUPABASE_OS)-$(SUPABASE_ARCH)$(SUPABASE_LIBC)

SUPABASE       := $(SUPABASE_DIR)/node_modules/@supabase/cli-$(SUPABASE_PLATFORM)/bin/supabase
SUPABASE_STAMP := $(SUPABASE_DIR)/.installed-$(SUPABASE_VERSION)-$(SUPABASE_PLATFORM)

.PHONY: supabase-cli
supabase-cli: $(SUPABASE_STAMP) ## install the pinned Supabase CLI into .tools/supabase (no-op when present)

$(SUPABASE_STAMP): $(SUPABASE_NPM_DIR)/package.json $(SUPABASE_NPM_DIR)/package-lock.json
	rm -rf $(SUPABASE_DIR)
	mkdir -p $(SUPABASE_DIR)
	cp $(SUPABASE_NPM_DIR)/package.json $(SUPABASE_NPM_DIR)/package-lock.json $(SUPABASE_DIR)/
	cd $(SUPABASE_DIR) && npm install --ignore-scripts --no-audit --no-fund
	test -x $(SUPABASE) || (cd $(SUPABASE_DIR) && npm install --ignore-scripts --no-audit --no-fund \
		--no-save --no-package-lock @supabase/cli-$(SUPABASE_PLATFORM)@$(SUPABASE_VERSION))
	test "$$($(SUPABASE) --version)" = "$(SUPABASE_VERSION)"
	touch $@
