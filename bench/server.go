package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tillpay/till/api"
)

// stopGrace is how long a started server has to stop after SIGTERM before
// it is killed.
const stopGrace = 10 * time.Second

// startTimeout bounds the wait for a started server's /healthz.
const startTimeout = 60 * time.Second

// server is a `till serve` the bench started as a child process, on a fresh
// data folder and a free port of 127.0.0.1.
type server struct {
	binary      string
	dir         string // the data folder
	databaseURL string
	logPath     string
	logFile     *os.File
	url         string
	key         string
	cmd         *exec.Cmd
	exited      chan struct{}
	waitErr     error
}

// childEnv is the environment of the till processes the bench starts: the
// bench's own, without TILL_DATABASE_URL (the bench passes the database
// explicitly, so that `--database-url ""` means SQLite whatever the
// environment says). Other TILL_* variables, such as TILL_MASTER_KEY or
// tuning settings, pass through.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TILL_DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	return env
}

// storageArgs are the flags that point a till command at the bench's store.
func (s *server) storageArgs() []string {
	args := []string{"--data", s.dir}
	if s.databaseURL != "" {
		args = append(args, "--database-url", s.databaseURL)
	}
	return args
}

// startServer creates the data folder under parent ("" for the system's
// temporary folder), starts `binary serve` on it with extra args, waits
// until it answers /healthz and finds a test secret key: the one the server
// wrote to keys.json on SQLite, or on PostgreSQL a new account's, made with
// `till accounts create` before the server starts. The server's output goes
// to logPath (default server.log in the data folder). On error the server
// is stopped.
func startServer(ctx context.Context, binary, parent, databaseURL, logPath string, extra []string, progress io.Writer) (_ *server, err error) {
	dir, err := os.MkdirTemp(parent, "till-bench-")
	if err != nil {
		return nil, err
	}
	s := &server{binary: binary, dir: dir, databaseURL: databaseURL, logPath: logPath}
	if s.logPath == "" {
		s.logPath = filepath.Join(dir, "server.log")
	}
	if s.logFile, err = os.Create(s.logPath); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.stop()
			err = fmt.Errorf("%w (server log: %s)", err, s.logPath)
		}
	}()
	if err := os.Chmod(dir, 0o700); err != nil {
		return s, err
	}
	if databaseURL != "" {
		key, err := s.createAccount(ctx)
		if err != nil {
			return s, err
		}
		s.key = key
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return s, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s.url = "http://" + addr
	args := append([]string{"serve"}, s.storageArgs()...)
	args = append(args, "--addr", addr, "--rate-limit", "0")
	args = append(args, extra...)
	fmt.Fprintf(progress, "starting %s %s\n  server log: %s\n", binary, strings.Join(redactArgs(args), " "), s.logPath)
	s.cmd = exec.Command(binary, args...)
	s.cmd.Env = childEnv()
	s.cmd.Stdout, s.cmd.Stderr = s.logFile, s.logFile
	// A process group of its own: Ctrl-C in the terminal reaches the bench,
	// which then stops the server itself, after its in-flight requests.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return s, err
	}
	s.exited = make(chan struct{})
	go func() { s.waitErr = s.cmd.Wait(); close(s.exited) }()
	if err := s.waitHealthy(ctx); err != nil {
		return s, err
	}
	if s.key == "" {
		b, err := os.ReadFile(filepath.Join(dir, "keys.json"))
		if err != nil {
			return s, fmt.Errorf("reading the started server's key: %w", err)
		}
		var k api.NewAccountKeys
		if err := json.Unmarshal(b, &k); err != nil || k.TestSecretKey == "" {
			return s, fmt.Errorf("keys.json holds no test secret key: %v", err)
		}
		s.key = k.TestSecretKey
	}
	return s, nil
}

// createAccount runs `till accounts create --json` on the database and
// returns the new account's test secret key.
func (s *server) createAccount(ctx context.Context) (string, error) {
	args := append([]string{"accounts", "create", "--json", "--name", "Till Bench Merchant", "--country", "DE"}, s.storageArgs()...)
	out, err := s.runChild(ctx, args...)
	if err != nil {
		return "", fmt.Errorf("till accounts create: %w", err)
	}
	var k api.NewAccountKeys
	if err := json.Unmarshal(out, &k); err != nil || k.TestSecretKey == "" {
		return "", fmt.Errorf("till accounts create printed %q", out)
	}
	return k.TestSecretKey, nil
}

// runChild runs the till binary to completion with args, its stderr to the
// server log, and returns its stdout.
func (s *server) runChild(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.binary, args...)
	cmd.Env = childEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, s.logFile
	err := cmd.Run()
	return out.Bytes(), err
}

func (s *server) waitHealthy(ctx context.Context) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/healthz", nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("the server exited at start: %v\n%s", s.waitErr, tail(s.logPath))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("the server did not answer /healthz within %v\n%s", startTimeout, tail(s.logPath))
}

// stop ends the server: SIGTERM, and SIGKILL if it has not exited after
// stopGrace. It returns how the process ended; stopping twice is harmless.
func (s *server) stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	select {
	case <-s.exited:
		return s.waitErr
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return s.waitErr
	case <-time.After(stopGrace):
	}
	s.cmd.Process.Kill()
	<-s.exited
	return errors.New("the server did not stop within 10 s of SIGTERM and was killed")
}

// reconcile runs `till reconcile --json` on the stopped server's store and
// returns "clean" or "differences" with the report.
func (s *server) reconcile(ctx context.Context) (string, string, error) {
	out, err := s.runChild(ctx, append([]string{"reconcile", "--json"}, s.storageArgs()...)...)
	var rep struct {
		Clean       bool     `json:"clean"`
		Differences []string `json:"differences"`
	}
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		return "", "", fmt.Errorf("till reconcile: %v: %s", err, bytes.TrimSpace(out))
	}
	report := strings.TrimSpace(string(out))
	if rep.Clean && err == nil {
		return "clean", report, nil
	}
	return "differences", report, nil
}

// close stops the server if it still runs, closes its log and, when
// remove, deletes the data folder (with the log, unless that was put
// elsewhere).
func (s *server) close(remove bool) {
	s.stop()
	if s.logFile != nil {
		s.logFile.Close()
	}
	if remove {
		os.RemoveAll(s.dir)
	}
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// redactArgs hides a database password in printed command lines.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if i > 0 && args[i-1] == "--database-url" {
			if at := strings.LastIndex(a, "@"); at > 0 {
				if sch := strings.Index(a, "://"); sch > 0 && sch < at {
					out[i] = a[:sch+3] + "…" + a[at:]
				}
			}
		}
	}
	return out
}
