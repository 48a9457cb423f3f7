package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tillpay/till/bench"
)

// errBenchFailed makes `till bench` exit non-zero when a charge failed or a
// check after the load did not pass; the report says which.
var errBenchFailed = errors.New("some requests failed or the verification did not pass (see the report)")

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "webhooks" {
		return runBenchWebhooks(ctx, args[1:], stdout, stderr)
	}
	var cfg bench.Config
	var asJSON, noVerify bool
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: till bench [flags]
       till bench webhooks [flags]   (webhook deliveries; see till bench webhooks -h)

Drives full charges (a customer's saved card, tax, invoice, ledger, outbox;
a new Idempotency-Key each) through the HTTP API and reports charges/s,
latency percentiles and errors, the floor (GET /healthz on the same server),
and then verifies what was stored. Exits 1 on any error or failed check.

By default it starts this binary as "till serve" on a fresh data folder and a
free port of 127.0.0.1 (SQLite; with --database-url that PostgreSQL database,
used as is: give it a scratch database), and stops it at the end. Other TILL_*
variables of the environment (TILL_MASTER_KEY, tuning settings) reach it.
With --url and --key it measures a running server instead.

Closed loop (default): --concurrency clients, each sending its next charge
when the last is answered. Open loop (--rate R): R charges per second whatever
the answers, latency measured from each charge's scheduled time.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.URL, "url", "", "measure the running server at this `URL` instead of starting one (needs --key)")
	fs.StringVar(&cfg.Key, "key", os.Getenv("TILL_KEY"), "test secret `key` (sk_test_…) for --url (TILL_KEY)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", os.Getenv("TILL_DATABASE_URL"),
		"PostgreSQL `URL` for the started server, a scratch database used as is; empty for SQLite (TILL_DATABASE_URL)")
	fs.Func("server-arg", "extra `argument` for the started till serve, e.g. a tuning flag (repeatable)", func(s string) error {
		cfg.ServerArgs = append(cfg.ServerArgs, s)
		return nil
	})
	fs.StringVar(&cfg.ServerLog, "server-log", "", "write the started server's output to this `file` and keep it (default: server.log in its data folder)")
	fs.StringVar(&cfg.TempDir, "tmp", "", "parent `folder` of the started server's data folder (default: $TMPDIR or /tmp; its disk is the one measured)")
	fs.BoolVar(&cfg.KeepData, "keep-data", false, "keep the started server's data folder after a successful run (a failed run always keeps it)")
	fs.IntVar(&cfg.Customers, "customers", 200, "customers with a saved card to charge, created before the load (not timed)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 32, "clients of the closed loop and of the floor")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop: charges per `second`, sent on schedule; 0 for the closed loop")
	fs.IntVar(&cfg.MaxInFlight, "max-inflight", 2048, "open loop: most charges outstanding; a charge due beyond that is dropped and counted as an error")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long the load is measured")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "load before the measurement, not measured (its charges are verified)")
	fs.DurationVar(&cfg.FloorDuration, "floor-duration", 3*time.Second, "how long GET /healthz is measured as the floor; 0 skips it")
	fs.BoolVar(&noVerify, "no-verify", false, "skip the checks after the load (charges succeeded, invoice numbers, till reconcile)")
	fs.BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	if cfg.URL == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding the till binary to start: %w", err)
		}
		cfg.Binary = exe
	} else if cfg.Key == "" {
		return usageError{"--url needs --key (or TILL_KEY): a test secret key of that server"}
	}
	cfg.Verify = !noVerify
	cfg.Progress = stderr

	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := writeBenchReport(stdout, rep, asJSON); err != nil {
		return err
	}
	if !rep.OK {
		return errBenchFailed
	}
	return nil
}

func runBenchWebhooks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg bench.WebhookConfig
	var asJSON bool
	fs := flag.NewFlagSet("bench webhooks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: till bench webhooks [flags]

Measures webhook deliveries end to end. Starts this binary as "till serve"
(as till bench does: SQLite on a fresh data folder, or with --database-url
that PostgreSQL database), starts a receiver on 127.0.0.1 that verifies every
delivery's Till-Signature and records its arrival, registers it as a webhook
endpoint for every event type, then creates --events customers (one
customer.created event each) with --concurrency clients, waits until every
event the server wrote has arrived, and reports events/s delivered, the delay
from each event's createdAt (and from the creating call's answer) to its
delivery, duplicates and missing events, and the floor (GET /healthz on the
same server). Exits 1 when a call failed, an event is missing after
--timeout, or a signature did not verify.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.DatabaseURL, "database-url", os.Getenv("TILL_DATABASE_URL"),
		"PostgreSQL `URL` for the started server, a scratch database used as is; empty for SQLite (TILL_DATABASE_URL)")
	fs.Func("server-arg", "extra `argument` for the started till serve, e.g. --cpu-profile=FILE (repeatable)", func(s string) error {
		cfg.ServerArgs = append(cfg.ServerArgs, s)
		return nil
	})
	fs.StringVar(&cfg.ServerLog, "server-log", "", "write the started server's output to this `file` and keep it (default: server.log in its data folder)")
	fs.StringVar(&cfg.TempDir, "tmp", "", "parent `folder` of the started server's data folder (default: $TMPDIR or /tmp)")
	fs.BoolVar(&cfg.KeepData, "keep-data", false, "keep the started server's data folder after a successful run (a failed run always keeps it)")
	fs.IntVar(&cfg.Events, "events", 10000, "events to produce: customers created, one customer.created each")
	fs.IntVar(&cfg.Concurrency, "concurrency", 32, "creating calls in flight at most, and clients of the floor")
	fs.Float64Var(&cfg.Rate, "rate", 0, "pace the creating calls at this many per `second`; 0 sends them as fast as the clients go")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Minute, "bound on producing the events and waiting for their deliveries")
	fs.DurationVar(&cfg.FloorDuration, "floor-duration", 3*time.Second, "how long GET /healthz is measured as the floor; 0 skips it")
	fs.BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the till binary to start: %w", err)
	}
	cfg.Binary = exe
	cfg.Progress = stderr

	rep, err := bench.RunWebhooks(ctx, cfg)
	if err != nil {
		return err
	}
	if err := writeBenchReport(stdout, rep, asJSON); err != nil {
		return err
	}
	if !rep.OK {
		return errWebhookBenchFailed
	}
	return nil
}

// errWebhookBenchFailed makes `till bench webhooks` exit non-zero when a
// call failed, an event was not delivered or a delivery did not verify.
var errWebhookBenchFailed = errors.New("some calls failed, events are missing or deliveries did not verify (see the report)")

// writeBenchReport prints a bench's report: as one indented JSON object
// when asJSON is set, else as text.
func writeBenchReport(w io.Writer, rep interface{ WriteText(io.Writer) }, asJSON bool) error {
	if !asJSON {
		rep.WriteText(w)
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
