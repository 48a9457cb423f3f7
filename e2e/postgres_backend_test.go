package e2e

import (
	"context"
	"testing"

	"github.com/tillpay/till/internal/testenv"
	"github.com/tillpay/till/postgres"
)

// The PostgreSQL backend runs every end-to-end test on a fresh database of
// the server named by TILL_TEST_DATABASE_URL; without one, each test's
// postgres subtest is skipped with the reason, and the sqlite half still runs.
func init() {
	Backends = append(Backends, Backend{Name: "postgres", Open: func(tb testing.TB) Store {
		tb.Helper()
		url := testenv.FreshDatabase(tb) // skips tb when there is no server
		st, err := postgres.Open(context.Background(), url, postgres.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		return st
	}})
}
