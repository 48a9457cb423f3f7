package testenv

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// StripeMockVersion is the stripe-mock that make test installs (go install
// from the Go module proxy).
const StripeMockVersion = "v0.203.0"

// stripeMockStart bounds stripe-mock's start: it loads Stripe's whole API
// description (about a second on a quiet machine, more under a loaded
// parallel go test).
const stripeMockStart = 30 * time.Second

// stripeMockBinary finds stripe-mock on PATH, in $GOBIN or in
// $(go env GOPATH)/bin (by default ~/go/bin), where go install puts it.
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
	} else if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		dirs = append(dirs, filepath.Join(filepath.SplitList(strings.TrimSpace(string(out)))[0], "bin"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "stripe-mock")
		if isExecutable(p) {
			return p
		}
	}
	return ""
}

// stripeMockListening is the line with which stripe-mock names its HTTP
// address.
const stripeMockListening = "Listening for HTTP at address: "

// StripeMock starts stripe-mock (Stripe's API description served, every
// request validated against it) on a free loopback port for tb and returns
// its base URL, such as http://127.0.0.1:41234; it stops when tb ends. It
// skips tb, with a one-line reason, when stripe-mock is not installed, and
// fails it, with stripe-mock's output, when stripe-mock does not start.
//
// Any number of them may run at once (parallel tests, go test running
// packages side by side): each listens for HTTP and HTTPS on ports the
// system picks (stripe-mock otherwise opens HTTPS on :12112 as well, and a
// second one exits), and reports the HTTP one on its standard output.
func StripeMock(tb testing.TB) string {
	tb.Helper()
	bin := stripeMockBinary()
	if bin == "" {
		tb.Skip("stripe-mock not installed: run make test or go install github.com/stripe/stripe-mock@" + StripeMockVersion)
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var log lockedBuffer
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		tb.Fatalf("testenv: starting stripe-mock: %v", err)
	}
	exited := make(chan struct{})
	addr := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			log.WriteString(line + "\n")
			if a, ok := strings.CutPrefix(line, stripeMockListening); ok {
				select {
				case addr <- strings.TrimSpace(a):
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
		cmd.Wait()
	}()
	tb.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	var url string
	select {
	case a := <-addr:
		url = "http://" + a
	case <-exited:
		tb.Fatalf("testenv: stripe-mock exited at start:\n%s", log.String())
	case <-time.After(stripeMockStart):
		tb.Fatalf("testenv: stripe-mock named no address within %v:\n%s", stripeMockStart, log.String())
	}
	// It names its address once it listens; one request makes sure it
	// answers.
	for deadline := time.Now().Add(stripeMockStart); ; time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get(url + "/v1/payment_methods/pm_card_visa"); err == nil {
			res.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			tb.Fatalf("testenv: stripe-mock did not answer at %s:\n%s", url, log.String())
		}
	}
}

// lockedBuffer collects a program's output from its own goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.WriteString(s)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
