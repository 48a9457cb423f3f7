// Command till runs Till, a self-hosted payments service, and its
// administration commands. Run "till help" for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand: its name, a one-line summary and its run
// function, which parses its own flags.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP API, the checkout page and the background workers", runServe},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"accounts", "create accounts: till accounts create --name NAME [--country DE] [--json]", runAccounts},
		{"keys", "manage API keys: till keys create --account ID --mode test|live | till keys revoke KEY_ID", runKeys},
		{"listen", "forward a test account's events, signed, to a local URL: till listen --forward-to http://localhost:3000/hooks", runListen},
		{"trigger", "make a test event happen through the API: till trigger payment.succeeded (till trigger -h lists them)", runTrigger},
		{"bench", "measure full charges/s and latency through the HTTP API, then verify what was stored", runBench},
		{"reconcile", "check the ledger against payments, refunds and documents; exit 1 on any difference", runReconcile},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the exit code: 0 on success, 2
// for usage errors, 1 otherwise.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.As(err, new(usageError)):
				fmt.Fprintln(stderr, "till "+c.name+":", err)
				return 2
			default:
				fmt.Fprintln(stderr, "till "+c.name+":", err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "till: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Till is a self-hosted payments service.\n\nUsage: till <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'till <command> -h' for a command's flags. Every flag can also be set with its TILL_* variable.")
}

// usageError is a mistake in a command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
