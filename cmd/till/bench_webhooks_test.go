package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/tillpay/till/bench"
	"github.com/tillpay/till/internal/testenv"
)

// runWebhookBench runs `till bench webhooks --json` with args and returns
// the report, the stderr and the exit code.
func runWebhookBench(t *testing.T, args ...string) (*bench.WebhookReport, string, int) {
	t.Helper()
	out, stderr, code := runTill(t, nil, append([]string{"bench", "webhooks", "--json"}, args...)...)
	var rep bench.WebhookReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		if code == 0 {
			t.Fatalf("till bench webhooks printed no JSON report: %v\nstdout: %s\nstderr: %s", err, out, stderr)
		}
		return nil, stderr, code
	}
	return &rep, stderr, code
}

// checkWebhookReport fails unless every one of n events was written once,
// delivered with a valid signature, and none is missing or came twice; the
// figures are checked for consistency, not against a speed.
func checkWebhookReport(t *testing.T, rep *bench.WebhookReport, n int64) {
	t.Helper()
	if !rep.OK || len(rep.Problems) != 0 {
		t.Errorf("ok %v, problems %v", rep.OK, rep.Problems)
	}
	if rep.Calls != n || rep.Created != n || rep.CallErrors != 0 || rep.EventsWritten != n || rep.CustomerEvents != n {
		t.Errorf("calls %d, created %d, errors %d, written %d, customer events %d; want %d each and 0 errors",
			rep.Calls, rep.Created, rep.CallErrors, rep.EventsWritten, rep.CustomerEvents, n)
	}
	if rep.Delivered != n || rep.Missing != 0 || rep.Duplicates != 0 || rep.Unexpected != 0 || rep.BadSignatures != 0 ||
		rep.BadBodies != 0 || rep.Deliveries != n {
		t.Errorf("delivered %d, missing %d, duplicates %d, unexpected %d, bad signatures %d, bad bodies %d, requests %d",
			rep.Delivered, rep.Missing, rep.Duplicates, rep.Unexpected, rep.BadSignatures, rep.BadBodies, rep.Deliveries)
	}
	if rep.EventsPerSecond <= 0 || rep.WindowSeconds <= 0 {
		t.Errorf("%.1f events/s over %.3f s", rep.EventsPerSecond, rep.WindowSeconds)
	}
	d := rep.DelayMs
	if !(0 < d.P50 && d.P50 <= d.P90 && d.P90 <= d.P99 && d.P99 <= d.Max) {
		t.Errorf("delay percentiles out of order: %+v", d)
	}
	if rep.DelayFromAnswerMs.Max > d.Max {
		t.Errorf("the delay from the answer (%+v) exceeds the delay from createdAt (%+v)", rep.DelayFromAnswerMs, d)
	}
	if !strings.HasPrefix(rep.Receiver, "http://127.0.0.1:") || !strings.HasPrefix(rep.Server.URL, "http://127.0.0.1:") {
		t.Errorf("receiver %q, server %q", rep.Receiver, rep.Server.URL)
	}
}

// TestBenchWebhooks runs the delivery bench end to end with 200 events:
// its own server on SQLite, its receiver, and the accounting.
func TestBenchWebhooks(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	rep, stderr, code := runWebhookBench(t, "--tmp", tmp, "--events", "200", "--concurrency", "8", "--floor-duration", "200ms")
	if code != 0 {
		t.Fatalf("till bench webhooks exited %d\n%s", code, stderr)
	}
	if rep.Scenario != "webhooks" || rep.Server.Store != "sqlite" || !rep.Server.Started || rep.Requested != 200 {
		t.Errorf("scenario %q, server %+v, requested %d", rep.Scenario, rep.Server, rep.Requested)
	}
	checkWebhookReport(t, rep, 200)
	if f := rep.Floor; f == nil || f.Requests <= 0 || f.Errors != 0 || rep.FloorRatio <= 0 {
		t.Errorf("floor %+v, ratio %v", rep.Floor, rep.FloorRatio)
	}
	if m := rep.Machine; m.NumCPU < 1 || m.GOOS == "" {
		t.Errorf("machine %+v", m)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the server's data folder was left after a successful run: %v", left)
	}
}

// TestBenchWebhooksPostgres runs it on a scratch PostgreSQL database, paced.
func TestBenchWebhooksPostgres(t *testing.T) {
	url := testenv.FreshDatabase(t)
	rep, stderr, code := runWebhookBench(t, "--tmp", t.TempDir(), "--database-url", url, "--events", "100", "--concurrency", "4",
		"--rate", "500", "--floor-duration", "0")
	if code != 0 {
		t.Fatalf("till bench webhooks exited %d\n%s", code, stderr)
	}
	if rep.Server.Store != "postgres" || rep.Floor != nil || rep.ScheduleLagMs == nil {
		t.Errorf("store %q, floor %+v, schedule lag %+v", rep.Server.Store, rep.Floor, rep.ScheduleLagMs)
	}
	checkWebhookReport(t, rep, 100)
}

// TestBenchWebhooksUsage: bad flags are refused with exit 2, and the plain
// bench still refuses stray arguments.
func TestBenchWebhooksUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"bench", "webhooks", "--events", "0"},
		{"bench", "webhooks", "extra"},
		{"bench", "webhooks", "--url", "http://127.0.0.1:1"},
	} {
		_, stderr, code := runTill(t, nil, args...)
		if code == 0 {
			t.Errorf("%v: exit 0\n%s", args, stderr)
		}
	}
	if _, stderr, code := runTill(t, nil, "bench", "stray"); code != 2 || !strings.Contains(stderr, "unexpected arguments") {
		t.Errorf("till bench stray: exit %d, %q", code, stderr)
	}
}
