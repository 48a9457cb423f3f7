package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
)

// errDifferences makes `till reconcile` exit non-zero when the books
// disagree.
var errDifferences = errors.New("the ledger disagrees with payments or refunds")

func runReconcile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sf storageFlags
	var asJSON bool
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf.register(fs)
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	svc, done, err := openService(ctx, &sf)
	if err != nil {
		return err
	}
	defer done()
	rep, err := svc.Reconcile(ctx)
	if err != nil {
		return err
	}
	if rep.Differences == nil {
		rep.Differences = []string{}
	}
	if asJSON {
		if err := json.NewEncoder(stdout).Encode(map[string]any{"clean": rep.Clean(), "accounts": rep.Accounts,
			"payments": rep.Payments, "refunds": rep.Refunds, "entries": rep.Entries, "differences": rep.Differences}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "checked %d accounts, %d payments, %d refunds, %d journal entries\n", rep.Accounts, rep.Payments, rep.Refunds, rep.Entries)
		for _, d := range rep.Differences {
			fmt.Fprintln(stdout, "DIFFERENCE:", d)
		}
		if rep.Clean() {
			fmt.Fprintln(stdout, "clean: every entry balances and the ledger agrees with payments, refunds and documents")
		}
	}
	if !rep.Clean() {
		return fmt.Errorf("%w (%d differences)", errDifferences, len(rep.Differences))
	}
	return nil
}
