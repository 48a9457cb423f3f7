#!/usr/bin/env bash
# test.sh runs Till's whole test suite, the same way on a developer's machine and in CI (`make test`, `.ci/run`):
#
#   1. installs what is missing from Debian packages (scripts/deps.sh: PostgreSQL, Chromium, a C compiler);
#   2. starts a private, throwaway PostgreSQL server (scripts/pg.sh) unless TILL_TEST_DATABASE_URL already names one,
#      and exports TILL_TEST_DATABASE_URL and TILL_TEST_CHROMIUM for the tests (see internal/testenv);
#   3. installs the pinned npm packages the webhook verification tests and the browser tests' accessibility audit
#      (axe-core) use (npm ci in e2e/testdata/node) when node_modules is missing or older than package-lock.json;
#   4. installs stripe-mock (go install from the Go module proxy) for the Stripe connector's tests when missing;
#   5. runs go test -race -count=1 on the packages, then a short fuzz run of every fuzz target (scripts/fuzz.sh);
#   6. stops the server and removes its directory, whatever happened, and exits with the tests' status.
#
# Usage: scripts/test.sh [packages...]              (packages default to ./...)
#
# Settings (environment):
#   TILL_TEST_DATABASE_URL  use this server instead of starting one (tests create their own databases on it)
#   TILL_TEST_CHROMIUM      the browser for browser tests (default /usr/bin/chromium)
#   TILL_FUZZTIME           seconds per fuzz target (default 10)
#   TILL_FUZZ_BUDGET        seconds for all fuzzing together (default 120); 0 skips fuzzing
#   GOFLAGS                 extra go flags, e.g. GOFLAGS=-v
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/deps.sh
source scripts/deps.sh # also brings in scripts/pg.sh
# shellcheck source=scripts/job.sh
source scripts/job.sh # job_run; on SIGINT/SIGTERM it stops the running step and exits, and finish cleans up

started=$SECONDS
pg_dir="" # the directory of the server we started, if any

# finish runs on every exit: it stops our server and reports the outcome and how long it took, keeping the status.
# shellcheck disable=SC2317 # only ever called by the EXIT trap
finish() {
	local status=$?
	if [[ -n "$pg_dir" ]]; then
		pg_stop "$pg_dir"
	fi
	local took=$((SECONDS - started)) verdict=PASS
	((status == 0)) || verdict="FAIL (exit status $status)"
	echo "test: $verdict in $((took / 60))m$((took % 60))s"
	exit "$status"
}
trap finish EXIT

# phase prints a step of the run with the time elapsed so far.
phase() { echo "test: [$((SECONDS - started))s] $*"; }

packages=("$@")
((${#packages[@]} > 0)) || packages=(./...)

# A bare CI shell may not have Go on PATH; the machine's Go lives in /usr/local/go.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
	export PATH="/usr/local/go/bin:$PATH"
fi

deps_install

if [[ -n "${TILL_TEST_DATABASE_URL:-}" ]]; then
	phase "using the PostgreSQL server in TILL_TEST_DATABASE_URL"
elif ! pg_bin_dir >/dev/null 2>&1; then
	deps_warn "no PostgreSQL on this machine; PostgreSQL tests will skip"
else
	pg_reap_orphans
	# The server belongs to this shell: if it is killed without cleaning up, a later run reaps the server.
	pg_start "$$"
	pg_dir=$PG_DIR
	export TILL_TEST_DATABASE_URL=$PG_URL
	phase "PostgreSQL ($("$PG_BIN_DIR/postgres" --version | awk '{ print $3 }')) at $PG_URL, log in $PG_DIR"
fi

if [[ -z "${TILL_TEST_CHROMIUM:-}" ]]; then
	if [[ -x /usr/bin/chromium ]]; then
		export TILL_TEST_CHROMIUM=/usr/bin/chromium
	else
		deps_warn "no /usr/bin/chromium; browser tests will skip"
	fi
fi

# The e2e webhook tests verify deliveries with the official stripe and standardwebhooks npm packages, and the browser
# tests audit pages with axe-core; without them those tests skip. npm ci reinstalls exactly package-lock.json, so it
# runs only when node_modules is older than it.
node_dir=e2e/testdata/node
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	deps_warn "no node and npm on this machine; the webhook verification tests (stripe, standardwebhooks) and the axe-core accessibility audits will skip"
elif [[ ! -d "$node_dir/node_modules" || "$node_dir/package-lock.json" -nt "$node_dir/node_modules" ]]; then
	phase "npm ci --prefix $node_dir (node $(node --version))"
	if job_run npm ci --prefix "$node_dir" --no-audit --no-fund; then
		touch "$node_dir/node_modules" # npm ci may keep the folder's old time; mark it as up to date with the lock
	else
		deps_warn "npm ci in $node_dir failed; the webhook verification tests and the axe-core accessibility audits will skip"
	fi
fi

# The Stripe connector's tests send every request to stripe-mock, which validates it against Stripe's API
# description. It comes from the Go module proxy (go install), never a downloaded binary; the version is
# testenv.StripeMockVersion's.
stripe_mock_version=$(sed -n 's/^const StripeMockVersion = "\(.*\)"$/\1/p' internal/testenv/stripemock.go)
stripe_mock_bin="$(go env GOPATH | cut -d: -f1)/bin/stripe-mock"
if [[ -n "${GOBIN:-}" ]]; then stripe_mock_bin="$GOBIN/stripe-mock"; fi
if [[ ! -x "$stripe_mock_bin" ]] || ! go version -m "$stripe_mock_bin" 2>/dev/null | grep -q "mod.*github.com/stripe/stripe-mock.*$stripe_mock_version"; then
	phase "go install github.com/stripe/stripe-mock@$stripe_mock_version"
	job_run go install "github.com/stripe/stripe-mock@$stripe_mock_version" ||
		deps_warn "go install of stripe-mock failed; the Stripe connector's tests against it will skip"
fi

phase "go test -race -count=1 ${packages[*]}"
status=0
job_run go test -race -count=1 "${packages[@]}" || status=$?

budget=${TILL_FUZZ_BUDGET:-120}
if ((status != 0)); then
	phase "tests failed; skipping the fuzz run"
elif ((budget == 0)); then
	phase "TILL_FUZZ_BUDGET=0; skipping the fuzz run"
else
	phase "fuzzing"
	job_run scripts/fuzz.sh -t "${TILL_FUZZTIME:-10}" -b "$budget" "${packages[@]}" || status=$?
fi
exit "$status"
