package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/tillpay/till/bench"
	"github.com/tillpay/till/internal/testenv"
)

// runBenchJSON runs `till bench --json` with args and returns the report, the
// stderr and the exit code.
func runBenchJSON(t *testing.T, env []string, args ...string) (*bench.Report, string, int) {
	t.Helper()
	out, stderr, code := runTill(t, env, append([]string{"bench", "--json"}, args...)...)
	var rep bench.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		if code == 0 {
			t.Fatalf("till bench printed no JSON report: %v\nstdout: %s\nstderr: %s", err, out, stderr)
		}
		return nil, stderr, code
	}
	return &rep, stderr, code
}

// checkLatency fails unless the percentiles are positive and ordered.
func checkLatency(t *testing.T, l bench.Latency) {
	t.Helper()
	if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Errorf("latency percentiles out of order: %+v", l)
	}
}

// TestBenchClosedLoop runs the bench as a user would, starting its own
// server: charges are made without error, the latency figures are ordered,
// the floor is measured, and the verification (invoices, till reconcile)
// passes; the server's data folder is removed afterwards.
func TestBenchClosedLoop(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	rep, stderr, code := runBenchJSON(t, nil, "--tmp", tmp, "--duration", "2s", "--warmup", "0", "--customers", "10",
		"--concurrency", "4", "--floor-duration", "1s")
	if code != 0 {
		t.Fatalf("till bench exited %d\n%s", code, stderr)
	}
	if rep.Mode != "closed" || !rep.Server.Started || rep.Server.Store != "sqlite" || !strings.HasPrefix(rep.Server.URL, "http://127.0.0.1:") {
		t.Errorf("mode %q, server %+v", rep.Mode, rep.Server)
	}
	if rep.Charges <= 0 || rep.Errors != 0 || rep.Requests != rep.Charges || len(rep.ErrorsByKind) != 0 || !rep.OK {
		t.Errorf("requests %d, charges %d, errors %d %v, ok %v", rep.Requests, rep.Charges, rep.Errors, rep.ErrorsByKind, rep.OK)
	}
	if rep.ChargesPerSecond <= 0 || rep.ElapsedSeconds < 2 || rep.ElapsedSeconds > 3 {
		t.Errorf("%.1f charges/s over %.3f s", rep.ChargesPerSecond, rep.ElapsedSeconds)
	}
	checkLatency(t, rep.LatencyMs)
	if f := rep.Floor; f == nil || f.Requests <= 0 || f.PerSecond <= 0 || f.Errors != 0 || f.Concurrency != 4 {
		t.Errorf("floor %+v", rep.Floor)
	}
	v := rep.Verification
	if v == nil || !v.OK || v.Reconcile != "clean" || v.Succeeded != v.Charges || v.Invoices != v.Succeeded ||
		v.Charges < rep.Charges || len(v.InvoiceSeries) != 1 || len(v.Problems) != 0 {
		t.Fatalf("verification %+v", v)
	}
	if m := rep.Machine; m.NumCPU < 1 || m.GOOS == "" || m.GOARCH == "" {
		t.Errorf("machine %+v", m)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the server's data folder was left after a successful run: %v", left)
	}
}

// TestBenchOpenLoop checks that the open loop sends at the rate asked for,
// whatever the answers, and reports how late it sent.
func TestBenchOpenLoop(t *testing.T) {
	t.Parallel()
	rep, stderr, code := runBenchJSON(t, nil, "--tmp", t.TempDir(), "--rate", "50", "--duration", "2s", "--warmup", "0",
		"--customers", "5", "--floor-duration", "0")
	if code != 0 {
		t.Fatalf("till bench exited %d\n%s", code, stderr)
	}
	if rep.Mode != "open" || rep.Rate != 50 || rep.Floor != nil || rep.SendLagMs == nil {
		t.Errorf("mode %q rate %v floor %+v lag %+v", rep.Mode, rep.Rate, rep.Floor, rep.SendLagMs)
	}
	if rep.Requests < 80 || rep.Requests > 120 || rep.Charges != rep.Requests || rep.Errors != 0 {
		t.Errorf("sent %d requests at 50/s for 2 s (want about 100), %d charges, %d errors", rep.Requests, rep.Charges, rep.Errors)
	}
	if rep.ChargesPerSecond < 40 || rep.ChargesPerSecond > 60 {
		t.Errorf("%.1f charges/s at a rate of 50/s", rep.ChargesPerSecond)
	}
	checkLatency(t, rep.LatencyMs)
	if v := rep.Verification; v == nil || !v.OK || v.Invoices != rep.Charges {
		t.Fatalf("verification %+v", v)
	}
}

// TestBenchURL measures a server that is already running: with a wrong key
// the bench fails at once and says why; with the right one it measures and
// verifies through the API, leaving the reconcile to the operator.
func TestBenchURL(t *testing.T) {
	data := t.TempDir()
	p := startTill(t, data)
	keys := readKeys(t, data)

	_, stderr, code := runTill(t, nil, "bench", "--url", p.url, "--key", "sk_test_"+strings.Repeat("x", 48), "--duration", "1s")
	if code != 1 || !strings.Contains(stderr, "refused the key") || !strings.Contains(stderr, "api_key_invalid") {
		t.Errorf("a wrong key: exit %d, %q", code, stderr)
	}
	_, stderr, code = runTill(t, nil, "bench", "--url", p.url, "--key", keys.LiveSecretKey, "--duration", "1s")
	if code != 1 || !strings.Contains(stderr, "test secret key") {
		t.Errorf("a live key: exit %d, %q", code, stderr)
	}
	_, stderr, code = runTill(t, []string{"TILL_KEY="}, "bench", "--url", p.url)
	if code != 2 || !strings.Contains(stderr, "--key") {
		t.Errorf("no key: exit %d, %q", code, stderr)
	}

	rep, stderr, code := runBenchJSON(t, nil, "--url", p.url, "--key", keys.TestSecretKey, "--duration", "1s", "--warmup", "0",
		"--customers", "3", "--concurrency", "2", "--floor-duration", "0")
	if code != 0 {
		t.Fatalf("till bench --url exited %d\n%s", code, stderr)
	}
	if rep.Server.Started || rep.Server.Store != "unknown" || rep.Charges <= 0 || rep.Errors != 0 {
		t.Errorf("server %+v, %d charges, %d errors", rep.Server, rep.Charges, rep.Errors)
	}
	if v := rep.Verification; v == nil || !v.OK || v.Invoices != v.Succeeded || !strings.HasPrefix(v.Reconcile, "skipped") {
		t.Fatalf("verification %+v", v)
	}
}

// TestBenchPostgres runs the bench on a scratch PostgreSQL database, where
// it makes its own account before starting the server.
func TestBenchPostgres(t *testing.T) {
	url := testenv.FreshDatabase(t)
	rep, stderr, code := runBenchJSON(t, nil, "--tmp", t.TempDir(), "--database-url", url, "--duration", "1s", "--warmup", "0",
		"--customers", "3", "--concurrency", "4", "--floor-duration", "0")
	if code != 0 {
		t.Fatalf("till bench exited %d\n%s", code, stderr)
	}
	if rep.Server.Store != "postgres" || rep.Charges <= 0 || rep.Errors != 0 {
		t.Errorf("store %q, %d charges, %d errors", rep.Server.Store, rep.Charges, rep.Errors)
	}
	if v := rep.Verification; v == nil || !v.OK || v.Reconcile != "clean" {
		t.Fatalf("verification %+v", v)
	}
}
