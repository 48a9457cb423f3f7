#!/usr/bin/env bash
# deps.sh installs, from Debian packages, what the test suite needs and the machine lacks:
#
#   PostgreSQL   when no initdb/pg_ctl pair is found (see pg_bin_dir in pg.sh)
#   Chromium     when /usr/bin/chromium is missing (browser tests; never a downloaded browser)
#   gcc          when there is no C compiler (go test -race needs cgo)
#
# Nothing is installed when everything is present. When something is missing and we are not root (or apt-get is
# absent), it prints a warning and carries on: the tests that need the missing piece skip themselves.
#
# Usage: scripts/deps.sh            (or source it and call deps_install)
set -euo pipefail

scripts_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/pg.sh
source "$scripts_dir/pg.sh"

# deps_warn prints a warning to stderr.
deps_warn() { echo "deps: warning: $*" >&2; }

# deps_missing prints the Debian packages for whatever is missing, one a line.
deps_missing() {
	if ! pg_bin_dir >/dev/null 2>&1; then
		echo postgresql
	fi
	if [[ ! -x /usr/bin/chromium ]]; then
		echo chromium
		echo fonts-liberation # a predictable font for pages rendered in tests
	fi
	if ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
		echo gcc
		echo libc6-dev
	fi
}

# deps_install installs the missing packages with apt-get, quietly and without questions. It returns 0 even when it
# cannot install (not root, no apt-get) so that a developer's `make test` still runs what it can.
deps_install() {
	local -a packages
	mapfile -t packages < <(deps_missing)
	if ((${#packages[@]} == 0)); then
		return 0
	fi
	if [[ $(id -u) -ne 0 ]]; then
		deps_warn "missing ${packages[*]}; not root, so not installing (run: sudo apt-get install ${packages[*]})"
		return 0
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		deps_warn "missing ${packages[*]}; no apt-get on this machine, install them by hand"
		return 0
	fi

	echo "deps: installing ${packages[*]} (apt-get)"
	local -a apt=(apt-get -qq -y -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 --no-install-recommends)
	# A fresh image has empty package lists; refresh them once before installing.
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get -qq -o DPkg::Lock::Timeout=300 update >/dev/null; then
		deps_warn "apt-get update failed; trying the install with the lists we have"
	fi
	if ! "${apt[@]}" install "${packages[@]}" >/dev/null; then
		deps_warn "apt-get install ${packages[*]} failed; tests needing them will skip or fail"
	fi
	return 0
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	deps_install
fi
