#!/usr/bin/env bash
# fuzz.sh finds every fuzz target (func FuzzXxx) in the given packages and fuzzes each one in turn.
#
# Usage: scripts/fuzz.sh [-t SECONDS] [-b SECONDS] [packages...]      (packages default to ./...)
#
#   -t  how long to fuzz each target (default 10)
#   -b  a budget for the whole run, 0 for none (default 0). With a budget, each target gets budget/targets seconds
#       (at least 3, at most -t), and targets still waiting when the budget is spent are skipped with a warning,
#       so that `make test` stays bounded however many targets the project grows.
#
# A failing input is written by `go test` to the package's testdata/fuzz/FuzzXxx/ folder; commit it with the fix and
# it becomes a regression case that plain `go test` replays. The exit status is 1 if any target failed.
set -euo pipefail
# shellcheck source=scripts/job.sh
source "$(dirname "${BASH_SOURCE[0]}")/job.sh" # job_run: Ctrl-C stops the whole run, not just one target

per_target=10
budget=0
while getopts 't:b:' opt; do
	case "$opt" in
	t) per_target=$OPTARG ;;
	b) budget=$OPTARG ;;
	*)
		echo "usage: $0 [-t SECONDS] [-b SECONDS] [packages...]" >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
packages=("$@")
((${#packages[@]} > 0)) || packages=(./...)

# List the targets. `go test -list` prints, per package, the matching names and then an "ok <package>" line, so the
# names seen before each "ok" line belong to that package. A package that does not build makes the listing fail;
# `go test` has reported that already, so say so and stop.
if ! listing="$(go test -list '^Fuzz' "${packages[@]}" 2>&1)"; then
	echo "fuzz: cannot list fuzz targets (does everything build?):" >&2
	echo "$listing" >&2
	exit 1
fi
targets=() # "package name" pairs
names=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) names+=("$line") ;;
	ok*)
		pkg="$(awk '{ print $2 }' <<<"$line")"
		for name in "${names[@]}"; do targets+=("$pkg $name"); done
		names=()
		;;
	esac
done <<<"$listing"

if ((${#targets[@]} == 0)); then
	echo "fuzz: no fuzz targets found"
	exit 0
fi

# Share the budget out among the targets.
seconds=$per_target
if ((budget > 0 && ${#targets[@]} * per_target > budget)); then
	seconds=$((budget / ${#targets[@]}))
	((seconds >= 3)) || seconds=3
fi
note=""
((budget == 0)) || note=" (budget ${budget}s)"
echo "fuzz: ${#targets[@]} target(s), ${seconds}s each$note"

status=0
start=$SECONDS
for i in "${!targets[@]}"; do
	read -r pkg name <<<"${targets[$i]}"
	if ((budget > 0 && SECONDS - start >= budget)); then
		echo "fuzz: warning: budget of ${budget}s spent; skipped $((${#targets[@]} - i)) target(s):" >&2
		printf '  %s\n' "${targets[@]:$i}" >&2
		break
	fi
	echo "fuzz: $pkg $name"
	# A crasher is written to the package's testdata/fuzz/<name>/; note what is there before the run.
	dir="$(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$name"
	before="$(find "$dir" -type f 2>/dev/null | sort || true)"
	log="$(mktemp)"
	# -run '^$' skips the package's ordinary tests, which `go test ./...` has already run.
	run_status=0
	job_run go test -run '^$' -fuzz "^${name}\$" -fuzztime "${seconds}s" "$pkg" >"$log" 2>&1 || run_status=$?
	cat "$log"
	if ((run_status != 0)); then
		after="$(find "$dir" -type f 2>/dev/null | sort || true)"
		if [[ "$before" == "$after" ]] && grep -q 'context deadline exceeded' "$log"; then
			# Go 1.26's fuzz coordinator can report its own -fuzztime deadline as a failure
			# (golang/go#75804, fixed in Go 1.27): no input failed, none was written.
			echo "fuzz: warning: $name stopped with Go's fuzztime deadline race (golang/go#75804); no failing input was found" >&2
		else
			status=1
		fi
	fi
	rm -f "$log"
done
exit "$status"
