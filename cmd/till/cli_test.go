package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	_ "modernc.org/sqlite"
)

// runTill runs the binary with args and returns stdout, stderr and the exit
// code.
func runTill(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(tillBinary, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestAccountsAndKeysCommands(t *testing.T) {
	data := t.TempDir()
	out, stderr, code := runTill(t, nil, "accounts", "create", "--name", "Bäckerei Schmidt", "--country", "at", "--json", "--data", data)
	if code != 0 {
		t.Fatalf("accounts create: %d %s", code, stderr)
	}
	var keys api.NewAccountKeys
	if err := json.Unmarshal([]byte(out), &keys); err != nil {
		t.Fatalf("accounts create --json printed %q: %v", out, err)
	}
	for prefix, k := range map[string]string{"sk_test_": keys.TestSecretKey, "pk_test_": keys.TestPublishableKey,
		"sk_live_": keys.LiveSecretKey, "pk_live_": keys.LivePublishableKey} {
		if !strings.HasPrefix(k, prefix) || len(k) != len(prefix)+48 {
			t.Fatalf("key %q does not look like %s…", k, prefix)
		}
	}
	if !strings.HasPrefix(keys.ID, "acct_") {
		t.Fatalf("account id %q", keys.ID)
	}
	// The database holds the keys only hashed.
	db, err := os.ReadFile(filepath.Join(data, "till.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(data, "till.db-wal"))
	for _, k := range []string{keys.TestSecretKey, keys.LiveSecretKey} {
		if bytes.Contains(db, []byte(k)) || bytes.Contains(wal, []byte(k)) || bytes.Contains(db, []byte(k[8:])) {
			t.Fatalf("a key is stored in plain text")
		}
	}

	// The flags come from TILL_DATA as well; a new live key works.
	out, stderr, code = runTill(t, []string{"TILL_DATA=" + data}, "keys", "create", "--account", keys.ID, "--mode", "live", "--json")
	if code != 0 {
		t.Fatalf("keys create: %d %s", code, stderr)
	}
	var key api.Key
	if err := json.Unmarshal([]byte(out), &key); err != nil || !strings.HasPrefix(key.Secret, "sk_live_") || !key.Livemode || key.Kind != "secret" {
		t.Fatalf("keys create printed %q (%v)", out, err)
	}

	p := startTill(t, data)
	live := client.New(p.url, key.Secret)
	acct, err := live.Account(ctx(t))
	if err != nil || acct.ID != keys.ID || !acct.Livemode || acct.OriginCountry != "AT" || acct.Name != "Bäckerei Schmidt" {
		t.Fatalf("account via new key: %+v %v", acct, err)
	}
	// A server that already has accounts does not create another.
	if _, err := os.Stat(filepath.Join(data, "keys.json")); !os.IsNotExist(err) {
		t.Fatalf("keys.json written although accounts existed: %v", err)
	}
	p.kill()

	out, stderr, code = runTill(t, nil, "keys", "revoke", "--data", data, key.ID)
	if code != 0 || !strings.Contains(out, key.ID) {
		t.Fatalf("keys revoke: %d %s %s", code, out, stderr)
	}
	p = startTill(t, data)
	_, err = client.New(p.url, key.Secret).Account(ctx(t))
	if ce, ok := err.(*client.Error); !ok || ce.Status != http.StatusUnauthorized || ce.Code != "api_key_invalid" {
		t.Fatalf("revoked key: %v", err)
	}
	if _, err := client.New(p.url, keys.TestSecretKey).Account(ctx(t)); err != nil {
		t.Fatalf("other keys still work: %v", err)
	}
}

func TestCommandErrors(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"accounts"}, 2, "usage: till accounts create"},
		{[]string{"accounts", "create", "--data", data}, 1, "name is required"},
		{[]string{"accounts", "create", "--name", "X", "--country", "XX", "--data", data}, 1, "country"},
		{[]string{"keys", "create", "--data", data}, 2, "--account is required"},
		{[]string{"keys", "revoke", "--data", data, "key_nope"}, 1, "No such key"},
		{[]string{"serve", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"serve", "--data", data, "--database-url", "mysql://u:secret@h/db"}, 1, "mysql://…@h/db"},
	} {
		_, stderr, code := runTill(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("till %v: exit %d, stderr %q; want exit %d containing %q", tc.args, code, stderr, tc.code, tc.want)
		}
		if strings.Contains(stderr, "secret@") {
			t.Errorf("till %v printed a database password", tc.args)
		}
	}
}

func TestVersionAndMigrate(t *testing.T) {
	out, _, code := runTill(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "till ") {
		t.Fatalf("version: %d %q", code, out)
	}
	data := t.TempDir()
	out, stderr, code := runTill(t, nil, "migrate", "--data", data)
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %d %q %q", code, out, stderr)
	}
	out, _, code = runTill(t, nil, "help")
	for _, c := range []string{"serve", "migrate", "accounts", "keys", "version"} {
		if code != 0 || !strings.Contains(out, c) {
			t.Fatalf("help lacks %s: %q", c, out)
		}
	}
	_, stderr, code = runTill(t, nil, "serve", "-h")
	for _, f := range []string{"TILL_ADDR", "TILL_DATA", "TILL_DATABASE_URL", "TILL_PUBLIC_BASE_URL", "TILL_ADMIN_TOKEN", "TILL_LOG_LEVEL"} {
		if code != 0 || !strings.Contains(stderr, f) {
			t.Fatalf("serve -h does not document %s: %q", f, stderr)
		}
	}
}

// TestFirstServe checks the newcomer's first minute: an empty data folder,
// `till serve` prints a test key and a curl that works as printed.
func TestFirstServe(t *testing.T) {
	data := t.TempDir()
	addr := freeAddr(t)
	cmd := exec.Command(tillBinary, "serve", "--data", data, "--addr", addr)
	var out syncBuffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	keyRe := regexp.MustCompile(`export TILL_KEY=(sk_test_[0-9A-Za-z]{48})`)
	var m []string
	for range 400 {
		if m = keyRe.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "Then save a card") {
			break
		}
		sleep()
	}
	if m == nil {
		t.Fatalf("no test key printed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "test publishable key: pk_test_") {
		t.Fatalf("no publishable key printed:\n%s", out.String())
	}
	keys := readKeys(t, data)
	if keys.TestSecretKey != m[1] {
		t.Fatalf("printed key differs from keys.json")
	}
	info, err := os.Stat(filepath.Join(data, "master.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("master.key: %v %v", info, err)
	}
	// Run the printed curl line as printed.
	var curl string
	lines := strings.Split(out.String(), "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "curl ") {
			curl = strings.TrimSuffix(strings.TrimSpace(l), "\\") + " " + strings.TrimSpace(lines[i+1])
		}
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	res, err := exec.Command("bash", "-c", "export TILL_KEY="+m[1]+"; "+curl).CombinedOutput()
	if err != nil || !strings.Contains(string(res), `"object":"customer"`) {
		t.Fatalf("printed curl (%s) answered %s (%v)", curl, res, err)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func sleep() { time.Sleep(25 * time.Millisecond) }

// TestReconcileCommand runs `till reconcile` on books made through the API
// (clean, exit 0) and again after a journal entry was tampered with
// (differences listed, exit 1).
func TestReconcileCommand(t *testing.T) {
	data := t.TempDir()
	p := startTill(t, data)
	keys := readKeys(t, data)
	c := client.New(p.url, keys.TestSecretKey)
	cust, err := c.CreateCustomer(ctx(t), api.CustomerCreate{Email: "r@example.com", Address: &api.Address{Country: "DE"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddPaymentMethod(ctx(t), cust.ID, api.PaymentMethodCreate{Card: &api.CardInput{Number: "4242424242424242", ExpMonth: 1, ExpYear: 2040}}); err != nil {
		t.Fatal(err)
	}
	pay, err := c.Charge(ctx(t), api.ChargeRequest{CustomerID: cust.ID, Amount: func() *int64 { n := int64(1000); return &n }(), Currency: "EUR", Description: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRefund(ctx(t), pay.ID, api.RefundRequest{}); err != nil {
		t.Fatal(err)
	}
	p.kill()
	out, stderr, code := runTill(t, nil, "reconcile", "--data", data)
	if code != 0 || !strings.Contains(out, "clean") || !strings.Contains(out, "1 payments, 1 refunds, 2 journal entries") {
		t.Fatalf("reconcile of clean books: %d %q %q", code, out, stderr)
	}
	db, err := sql.Open("sqlite", filepath.Join(data, "till.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE journal_entries SET doc = json_set(doc, '$.Postings[0].debit', 1000) WHERE kind = 'capture'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, _, code = runTill(t, nil, "reconcile", "--data", data)
	if code != 1 || !strings.Contains(out, "DIFFERENCE") || !strings.Contains(out, "does not balance") {
		t.Fatalf("reconcile of tampered books: %d %q", code, out)
	}
}
