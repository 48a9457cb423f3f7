// Package testenv connects tests to the outside programs the suite uses: a PostgreSQL server and Chromium.
//
// It starts nothing itself. `make test` (scripts/test.sh) installs what is missing, starts a throwaway PostgreSQL
// server and exports TILL_TEST_DATABASE_URL and TILL_TEST_CHROMIUM before running `go test`; `make pg` does the same
// for an interactive shell. A plain `go test` without them skips the tests that need them, each with a one-line
// reason, so the rest of the suite runs on any machine.
//
// The package uses only the standard library, so that any package's tests may import it without pulling in a
// database driver. It therefore creates databases by running psql.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The environment variables scripts/test.sh sets for the tests.
const (
	// DatabaseURLEnv names a PostgreSQL server on which the tests may create and drop databases, as a superuser URL
	// such as postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
	DatabaseURLEnv = "TILL_TEST_DATABASE_URL"
	// ChromiumEnv names the Chromium executable for browser tests.
	ChromiumEnv = "TILL_TEST_CHROMIUM"
)

// psqlTimeout bounds each psql run, so that a hung server fails a test instead of stalling the whole suite.
const psqlTimeout = 60 * time.Second

// PostgresURL returns the URL of the test PostgreSQL server from TILL_TEST_DATABASE_URL. When the variable is unset
// or empty it skips the test. Tests should not use the server's own database for their data: FreshDatabase gives
// each test a database of its own.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(DatabaseURLEnv)
	if u == "" {
		tb.Skip("PostgreSQL tests skipped: TILL_TEST_DATABASE_URL is not set (make test starts a server)")
	}
	return u
}

// FreshDatabase creates an empty database with a new name on the test PostgreSQL server and returns its URL; the
// database is dropped, its remaining connections ended, when the test and its subtests finish. It skips the test
// when there is no server (see PostgresURL) and fails it when psql is not installed or the database cannot be
// created.
//
// Packages that need many databases with the same schema can do better with NewDatabaseName, DatabaseURL and a
// template database of their own (CREATE DATABASE … TEMPLATE …), using their own driver.
func FreshDatabase(tb testing.TB) string {
	tb.Helper()
	server := PostgresURL(tb)
	name := NewDatabaseName()
	dbURL, err := DatabaseURL(server, name)
	if err != nil {
		tb.Fatalf("testenv: %s: %v", DatabaseURLEnv, err)
	}
	psql, err := findPsql()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	// FILE_COPY copies the small template1 in about 60 ms, five times faster than PostgreSQL 15's default of writing
	// it all to the WAL with fsync on. Servers before 15 do not know the option and get the plain statement.
	create := `CREATE DATABASE "` + name + `"`
	if err := runPsql(psql, server, create+" STRATEGY FILE_COPY"); err != nil {
		if err := runPsql(psql, server, create); err != nil {
			tb.Fatalf("testenv: creating database %s: %v", name, err)
		}
	}
	tb.Cleanup(func() {
		// DROP DATABASE fails while anyone is connected, and a test may have leaked a connection.
		terminate := `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + name + `'`
		if err := runPsql(psql, server, terminate, `DROP DATABASE IF EXISTS "`+name+`"`); err != nil {
			tb.Errorf("testenv: dropping database %s: %v", name, err)
		}
	})
	return dbURL
}

// NewDatabaseName returns a database name that no other call, in this or any other process, returns: "till_test_"
// followed by 16 random hex digits. It needs no quoting in SQL.
func NewDatabaseName() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on the platforms Go supports.
	return "till_test_" + hex.EncodeToString(b[:])
}

// DatabaseURL returns serverURL, a postgres:// or postgresql:// URL, with its database replaced by name; the user,
// host and parameters are kept. It returns an error for anything else, including key=value connection strings.
func DatabaseURL(serverURL, name string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", fmt.Errorf("not a URL: %w", err)
	}
	if (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Opaque != "" {
		return "", fmt.Errorf("not a postgres:// URL: %q", serverURL)
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return "", fmt.Errorf("no host in %q", serverURL)
	}
	if name == "" || strings.ContainsAny(name, "/?#") {
		return "", fmt.Errorf("bad database name %q", name)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

// Chromium returns the path of the Chromium executable for browser tests: TILL_TEST_CHROMIUM if set (the test fails
// when that is not an executable file), else /usr/bin/chromium, else chromium on PATH. It skips the test when there
// is none. When the tests run as root, as they do in CI, Chromium must be started with --no-sandbox.
func Chromium(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv(ChromiumEnv); p != "" {
		if !isExecutable(p) {
			tb.Fatalf("testenv: %s=%s is not an executable file", ChromiumEnv, p)
		}
		return p
	}
	if isExecutable("/usr/bin/chromium") {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	tb.Skip("browser tests skipped: no Chromium found (set TILL_TEST_CHROMIUM or apt-get install chromium)")
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another process may take it before the
// caller binds it, so code that can listen on port 0 itself should do that instead. It fails the test when no port
// can be had.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testenv: finding a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		tb.Fatalf("testenv: finding a free port: %v", err)
	}
	return port
}

// isExecutable reports whether path is a regular file that someone may execute.
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// findPsql returns psql from PATH or, failing that, from the newest /usr/lib/postgresql/VERSION/bin (Debian puts the
// server's programs there and not always on PATH).
func findPsql() (string, error) {
	if p, err := exec.LookPath("psql"); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(filepath.Dir(a))), filepath.Base(filepath.Dir(filepath.Dir(b))))
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if isExecutable(dirs[i]) {
			return dirs[i], nil
		}
	}
	return "", errors.New("psql not found on PATH or in /usr/lib/postgresql/*/bin (apt-get install postgresql-client)")
}

// compareVersions compares dotted version numbers such as "9.6" and "15" numerically, part by part.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// runPsql runs each SQL command in turn, each in its own transaction (CREATE and DROP DATABASE cannot run inside
// one), on the database at dbURL, stopping at the first error. The error carries psql's output.
func runPsql(psql, dbURL string, commands ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), psqlTimeout)
	defer cancel()
	args := []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dbURL}
	for _, c := range commands {
		args = append(args, "-c", c)
	}
	cmd := exec.CommandContext(ctx, psql, args...)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(psql), err, strings.TrimSpace(string(out)))
	}
	return nil
}
