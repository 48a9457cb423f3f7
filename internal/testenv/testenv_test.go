package testenv

import (
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestPostgresURL(t *testing.T) {
	t.Run("set", func(t *testing.T) {
		const want = "postgres://postgres@127.0.0.1:5999/postgres?sslmode=disable"
		t.Setenv(DatabaseURLEnv, want)
		if got := PostgresURL(t); got != want {
			t.Errorf("PostgresURL = %q, want %q", got, want)
		}
	})

	// An unset (or empty) variable must skip the calling test, not fail it or return "".
	var sub *testing.T
	t.Run("unset", func(t *testing.T) {
		sub = t
		t.Setenv(DatabaseURLEnv, "")
		got := PostgresURL(t)
		t.Errorf("PostgresURL returned %q instead of skipping", got)
	})
	if !sub.Skipped() {
		t.Error("PostgresURL with TILL_TEST_DATABASE_URL unset did not skip the test")
	}
}

func TestNewDatabaseName(t *testing.T) {
	// A PostgreSQL identifier that needs no quoting: lower case, at most 63 bytes.
	valid := regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	seen := map[string]bool{}
	for range 1000 {
		name := NewDatabaseName()
		if !valid.MatchString(name) {
			t.Fatalf("NewDatabaseName = %q, not a plain identifier", name)
		}
		if seen[name] {
			t.Fatalf("NewDatabaseName returned %q twice", name)
		}
		seen[name] = true
	}
}

func TestDatabaseURL(t *testing.T) {
	tests := []struct {
		server, name, want string
	}{
		{
			"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "db1",
			"postgres://postgres@127.0.0.1:5432/db1?sslmode=disable",
		},
		{"postgresql://u:p%40ss@host:1/", "db2", "postgresql://u:p%40ss@host:1/db2"},
		{"postgres://host", "db3", "postgres://host/db3"},
		{"postgres:///postgres?host=/tmp/pg", "db4", "postgres:///db4?host=/tmp/pg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DatabaseURL(tt.server, tt.name)
			if err != nil {
				t.Fatalf("DatabaseURL(%q, %q): %v", tt.server, tt.name, err)
			}
			if got != tt.want {
				t.Errorf("DatabaseURL(%q, %q) = %q, want %q", tt.server, tt.name, got, tt.want)
			}
		})
	}

	bad := []struct{ server, name string }{
		{"host=127.0.0.1 user=postgres", "db"},
		{"mysql://root@127.0.0.1/x", "db"},
		{"postgres:///postgres", "db"},
		{"postgres://host/x", ""},
		{"postgres://host/x", "a/b"},
		{"postgres://[::1", "db"},
	}
	for _, tt := range bad {
		if got, err := DatabaseURL(tt.server, tt.name); err == nil {
			t.Errorf("DatabaseURL(%q, %q) = %q, want an error", tt.server, tt.name, got)
		}
	}
}

func FuzzDatabaseURL(f *testing.F) {
	f.Add("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "till_test_0")
	f.Add("postgresql://u:p@h/d?host=/tmp", "x")
	f.Add("host=localhost", "db")
	f.Fuzz(func(t *testing.T, server, name string) {
		got, err := DatabaseURL(server, name)
		if err != nil {
			return
		}
		// Whatever the input, a result names exactly the database asked for and keeps the server's address.
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("DatabaseURL(%q, %q) = %q, which does not parse: %v", server, name, got, err)
		}
		if u.Path != "/"+name {
			t.Errorf("DatabaseURL(%q, %q) = %q: path %q, want %q", server, name, got, u.Path, "/"+name)
		}
		orig, _ := url.Parse(server)
		if u.Host != orig.Host || u.User.String() != orig.User.String() || u.RawQuery != orig.RawQuery {
			t.Errorf("DatabaseURL(%q, %q) = %q changed more than the database", server, name, got)
		}
	})
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int // the sign of the result
	}{
		{"15", "15", 0},
		{"9.6", "15", -1},
		{"16", "15", 1},
		{"15", "15.1", -1},
	}
	for _, tt := range tests {
		got := compareVersions(tt.a, tt.b)
		if sign(got) != tt.want {
			t.Errorf("compareVersions(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestFreePort(t *testing.T) {
	port := FreePort(t)
	if port <= 0 || port > 65535 {
		t.Fatalf("FreePort = %d", port)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listening on the port FreePort returned: %v", err)
	}
	l.Close()
}

func TestChromiumFromEnvironment(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "chromium")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(ChromiumEnv, fake)
	if got := Chromium(t); got != fake {
		t.Errorf("Chromium = %q, want %q", got, fake)
	}
}

// TestFreshDatabase needs a server: it runs under `make test` and skips under a plain `go test`.
func TestFreshDatabase(t *testing.T) {
	server := PostgresURL(t)
	psql, err := findPsql()
	if err != nil {
		t.Fatal(err)
	}
	query := func(dbURL, sql string) string {
		t.Helper()
		out, err := exec.Command(psql, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", dbURL, "-c", sql).CombinedOutput()
		if err != nil {
			t.Fatalf("psql %q: %v: %s", sql, err, out)
		}
		return strings.TrimSpace(string(out))
	}

	// Databases made in parallel are distinct, usable, and gone after their test.
	var names [4]string
	t.Run("group", func(t *testing.T) {
		for i := range names {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				dbURL := FreshDatabase(t)
				names[i] = query(dbURL, "SELECT current_database()")
				query(dbURL, "CREATE TABLE t (id int PRIMARY KEY)")
			})
		}
	})
	seen := map[string]bool{}
	for _, name := range names {
		if !strings.HasPrefix(name, "till_test_") || seen[name] {
			t.Errorf("databases %q: want distinct till_test_ names", names)
		}
		seen[name] = true
		if n := query(server, "SELECT count(*) FROM pg_database WHERE datname = '"+name+"'"); n != "0" {
			t.Errorf("database %s still exists after its test", name)
		}
	}
}
