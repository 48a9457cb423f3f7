package testenv

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// StripeMockVersion is the stripe-mock that make test installs (go install
// from the Go module proxy).
const StripeMockVersion = "v0.203.0"

// stripeMockBinary finds stripe-mock on PATH, in $GOBIN or in $GOPATH/bin
// (by default ~/go/bin), where go install puts it.
func stripeMockBinary() string {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if d := os.Getenv("GOPATH"); d != "" {
		dirs = append(dirs, filepath.Join(filepath.SplitList(d)[0], "bin"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "stripe-mock")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// StripeMock starts stripe-mock (Stripe's API description served, every
// request validated against it) on a free loopback port for tb and returns
// its base URL; it stops when tb ends. It skips tb, with a one-line reason,
// when stripe-mock is not installed.
func StripeMock(tb testing.TB) string {
	tb.Helper()
	bin := stripeMockBinary()
	if bin == "" {
		tb.Skip("stripe-mock not installed: run make test or go install github.com/stripe/stripe-mock@" + StripeMockVersion)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// Without -https-addr it would also listen for HTTPS on 12112, which a
	// second stripe-mock (another package's tests) would find taken.
	cmd := exec.Command(bin, "-http-addr", addr, "-https-addr", "127.0.0.1:0")
	if err := cmd.Start(); err != nil {
		tb.Fatalf("testenv: starting stripe-mock: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	url := "http://" + addr
	// stripe-mock reads Stripe's whole API description first: seconds, more
	// on a loaded machine.
	for deadline := time.Now().Add(90 * time.Second); ; {
		if res, err := http.Get(url + "/v1/payment_methods/pm_card_visa"); err == nil {
			res.Body.Close()
			return url
		}
		select {
		case err := <-exited:
			exited <- err
			tb.Fatalf("testenv: stripe-mock exited before answering at %s: %v", url, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("testenv: stripe-mock did not answer at %s within 90 s", url)
		}
	}
}
