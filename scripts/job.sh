# shellcheck shell=bash
# job.sh lets a script run a long command (go test) so that an interrupt stops it at once, whole process tree and all,
# and the script's own EXIT trap still runs. Source it, then:
#
#   job_run go test ./...        runs the command and returns its exit status
#
# Without this, bash waits for a foreground command before acting on a signal, and `go test -fuzz` treats Ctrl-C as
# "stop fuzzing" and returns normally, so a script would carry on with its next step. Here the command runs in a
# process group of its own, the script waits with the `wait` builtin (which a trapped signal interrupts), and on
# SIGINT or SIGTERM the trap ends that group with SIGTERM and exits with 130 or 143.

job_pid=0

# job_run runs "$@" as a job in its own process group and waits for it.
job_run() {
	set -m # job control: the next background command gets its own process group
	"$@" &
	job_pid=$!
	set +m
	local status=0
	wait "$job_pid" || status=$?
	job_pid=0
	return "$status"
}

# job_stop ends the running job's process group, if any, and waits for it.
job_stop() {
	if ((job_pid > 0)); then
		kill -TERM -- "-$job_pid" 2>/dev/null || true
		wait "$job_pid" 2>/dev/null || true
		job_pid=0
	fi
}

trap 'job_stop; exit 130' INT
trap 'job_stop; exit 143' TERM
