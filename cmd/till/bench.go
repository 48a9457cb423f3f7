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
	var cfg bench.Config
	var asJSON, noVerify bool
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: till bench [flags]

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
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.WriteText(stdout)
	}
	if !rep.OK {
		return errBenchFailed
	}
	return nil
}
