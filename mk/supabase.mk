# The pinned Supabase CLI for the external tier (EXT-1, PA-MIG-1, PS-MIG-1).
#
# scripts/setup installs it (with everything else a fresh machine lacks) into
# the git-ignored .tools/supabase and is a no-op when that version is already
# there. The npm package `supabase` has no install scripts: its JS shim
# (node_modules/.bin/supabase) only execs the native binary from the optional
# dependency @supabase/cli-<platform>, so nothing is fetched outside the npm
# registry. Package conformance/supabasecli finds that native binary there
# (no Node needed to run it), or at $SUPABASE_BIN.
#
# The lockfile in conformance/supabasecli/npm pins every package version; it
# holds only @supabase/cli-linux-x64 (glibc, the CI platform) because the
# registry reachable here serves no other platform package at 3.1.0 (E404).
# That is also why the script runs `npm install` on the copied lockfile, not
# `npm ci`: ci refuses a lockfile that lacks the other optional platform
# packages, while install keeps the locked versions and skips the missing
# optional ones. On another platform the script adds the matching binary
# package at the same exact version.

.PHONY: supabase-cli
supabase-cli: ## install the pinned Supabase CLI into .tools/supabase (no-op when present)
	@scripts/setup npm
