package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/webhook"
)

// apiFlags are the flags of the commands that talk to a running server
// through its API (listen, trigger): where it is and which key to use.
type apiFlags struct {
	api  string
	key  string
	data string
}

func (f *apiFlags) register(fs *flag.FlagSet) {
	def := "http://127.0.0.1:4000"
	if addr := os.Getenv("TILL_ADDR"); addr != "" {
		def = "http://" + addr
	}
	fs.StringVar(&f.api, "api", envOr("TILL_API", def), "base `URL` of the running till serve (TILL_API; default http:// and TILL_ADDR, or http://127.0.0.1:4000)")
	fs.StringVar(&f.key, "key", os.Getenv("TILL_KEY"), "test secret `key` sk_test_… (TILL_KEY; default: the first account's, from keys.json in --data)")
	fs.StringVar(&f.data, "data", envOr("TILL_DATA", "./till-data"), "data `folder` of till serve, whose keys.json holds the first account's keys, used without --key (TILL_DATA)")
}

// client returns a client of the server with a test secret key: --key, or
// the first account's test key that till serve wrote to keys.json.
func (f *apiFlags) client() (*client.Client, error) {
	u, err := url.Parse(f.api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Sprintf("--api %q is not an http:// or https:// URL", f.api)}
	}
	key := f.key
	if key == "" {
		path := filepath.Join(f.data, "keys.json")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, usageError{fmt.Sprintf("no key: pass --key sk_test_… or set TILL_KEY (no %s to take the first account's test key from: %v)", path, err)}
		}
		var k api.NewAccountKeys
		if err := json.Unmarshal(b, &k); err != nil || k.TestSecretKey == "" {
			return nil, usageError{fmt.Sprintf("no key: pass --key sk_test_… or set TILL_KEY (%s holds no test secret key)", path)}
		}
		key = k.TestSecretKey
	}
	if !strings.HasPrefix(key, "sk_test_") {
		return nil, usageError{"the key must be a test secret key (sk_test_…): this command works in test mode only"}
	}
	return client.New(f.api, key), nil
}

// parseEventTypes splits a comma-separated list of event types, checking
// each; empty means every type.
func parseEventTypes(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if !slices.Contains(till.EventTypes, t) {
			return nil, usageError{fmt.Sprintf("--events: unknown event type %q; known types: %s", t, strings.Join(till.EventTypes, ", "))}
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// newSigningSecret returns a fresh secret in the form webhook endpoints get:
// whsec_ and 32 random bytes in standard base64.
func newSigningSecret() (string, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return "", err
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key[:]), nil
}

// listenPollTimeout is how long each poll waits on the server for events.
const listenPollTimeout = 25 * time.Second

func runListen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var af apiFlags
	var forwardTo, events, secret string
	fs := flag.NewFlagSet("listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: till listen --forward-to URL [--events TYPE,…] [--api URL] [--key sk_test_…] [--secret whsec_…]

Forwards the test-mode events of the key's account, as they happen, to a URL
on your machine, each POSTed and signed exactly as a webhook delivery is
(Till-Signature and the Standard Webhooks headers, 10 s timeout, redirects
not followed), so a receiver under development sees real deliveries without
a webhook endpoint. It prints the signing secret at start (verify with it),
then one line per event: time, type, id and the receiver's answer.
Runs until interrupted (Ctrl-C). Events come from GET /v1/test/events/poll.

Flags:
`)
		fs.PrintDefaults()
	}
	af.register(fs)
	fs.StringVar(&forwardTo, "forward-to", "", "`URL` to POST each event to, e.g. http://localhost:3000/hooks (required)")
	fs.StringVar(&events, "events", "", "comma-separated event `types` to forward (default: all)")
	fs.StringVar(&secret, "secret", os.Getenv("TILL_WEBHOOK_SECRET"), "signing `secret` whsec_… to sign with (TILL_WEBHOOK_SECRET; default: a new one each run)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	if forwardTo == "" {
		return usageError{"--forward-to is required: the URL of your receiver, e.g. --forward-to http://localhost:3000/hooks"}
	}
	if u, err := url.Parse(forwardTo); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{fmt.Sprintf("--forward-to %q is not an http:// or https:// URL", forwardTo)}
	}
	types, err := parseEventTypes(events)
	if err != nil {
		return err
	}
	if secret == "" {
		if secret, err = newSigningSecret(); err != nil {
			return err
		}
	} else if k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_")); !strings.HasPrefix(secret, "whsec_") || err != nil || len(k) < 16 {
		return usageError{"--secret must be whsec_ followed by at least 16 bytes in standard base64 (as webhook endpoint secrets are)"}
	}
	cl, err := af.client()
	if err != nil {
		return err
	}

	// The first poll answers at once with the cursor of "now": every event
	// written after Ready! is forwarded.
	start, err := cl.PollEvents(ctx, client.PollParams{Types: types})
	if err != nil {
		return fmt.Errorf("polling %s: %w", af.api, err)
	}
	acct, err := cl.Account(ctx)
	if err != nil {
		return fmt.Errorf("reading the account at %s: %w", af.api, err)
	}
	which := "all events"
	if len(types) > 0 {
		which = strings.Join(types, ", ")
	}
	fmt.Fprintf(stdout, "Ready! Forwarding to %s with signing secret %s\n", forwardTo, secret)
	fmt.Fprintf(stdout, "  %s of account %s (test mode) from %s; Ctrl-C to stop\n", which, acct.ID, af.api)

	sender := webhook.New(webhook.Options{})
	cursor := start.NextCursor
	backoff := time.Duration(0)
	for {
		page, err := cl.PollEvents(ctx, client.PollParams{After: cursor, Types: types, Timeout: listenPollTimeout})
		if ctx.Err() != nil {
			fmt.Fprintln(stdout, "Stopped.")
			return nil
		}
		if err != nil {
			var ae *client.Error
			if errors.As(err, &ae) && ae.Status < 500 && ae.Status != http.StatusTooManyRequests {
				return fmt.Errorf("polling %s: %w", af.api, err)
			}
			// The server is restarting or overloaded: the cursor stays
			// valid, so try again.
			backoff = min(max(2*backoff, time.Second), 10*time.Second)
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // the URL holds the cursor: long, and no help
			}
			fmt.Fprintf(stderr, "till listen: polling %s failed (%v); retrying in %s\n", af.api, err, backoff)
			select {
			case <-ctx.Done():
				fmt.Fprintln(stdout, "Stopped.")
				return nil
			case <-time.After(backoff):
			}
			continue
		}
		if backoff > 0 {
			fmt.Fprintf(stderr, "till listen: polling %s again\n", af.api)
			backoff = 0
		}
		cursor = page.NextCursor
		for _, ev := range page.Data {
			res := sender.Send(ctx, till.WebhookRequest{URL: forwardTo, MessageID: ev.ID, Body: ev.Raw,
				Secrets: []string{secret}, Timestamp: time.Now()})
			if ctx.Err() != nil {
				fmt.Fprintln(stdout, "Stopped.")
				return nil
			}
			fmt.Fprintf(stdout, "%s  %-26s %s  %s\n", time.Now().Format("2006-01-02 15:04:05"), ev.Type, ev.ID, outcome(res))
		}
	}
}

// outcome describes a forwarding's result: [status] and latency, or the
// error.
func outcome(res till.WebhookResult) string {
	ms := res.Latency.Milliseconds()
	switch {
	case res.Error != "" && res.StatusCode != 0:
		return fmt.Sprintf("[%d] %s", res.StatusCode, res.Error)
	case res.Error != "":
		return "[error] " + res.Error
	}
	return fmt.Sprintf("[%d] %d ms", res.StatusCode, ms)
}
