package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/client"
	tillhttp "github.com/tillpay/till/http"
	"github.com/tillpay/till/service"
)

// aheadClock is the wall clock moved forward by d.
type aheadClock time.Duration

func (c aheadClock) Now() time.Time { return time.Now().UTC().Add(time.Duration(c)) }

// TestIdempotencyRetention: a completed key is replayed while it is kept,
// the workers forget it after the retention (default 7 days, at least 24
// hours), and a forgotten key starts a new request.
func TestIdempotencyRetention(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b, Options{NoWorkers: true})
		body := []byte(`{"email":"kept@example.com","name":"Kept"}`)
		post := func() *client.Response {
			return Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "POST", "/v1/customers", body, client.IdempotencyKey("retained")))
		}
		first := post()
		if first.Status != 200 {
			t.Fatalf("create: %d %s", first.Status, first.Body)
		}
		scope := till.Scope{AccountID: env.Keys.ID}
		kept := func() bool {
			err := env.Store.View(env.Ctx(), func(tx till.Tx) error {
				_, err := tx.IdempotencyRecord(env.Ctx(), scope, tillhttp.APIName, "retained")
				return err
			})
			if err != nil && till.ErrorCode(err) != till.ENotFound {
				t.Fatal(err)
			}
			return err == nil
		}
		at := func(ahead, retention time.Duration) *service.Service {
			return service.New(service.Config{Store: env.Store, Keyring: env.Keyring, Clock: aheadClock(ahead), IdempotencyRetention: retention})
		}

		// Six days on, the default retention (7 days) still keeps it.
		if n, err := at(6*24*time.Hour, 0).PurgeIdempotencyKeys(env.Ctx()); err != nil || n != 0 || !kept() {
			t.Fatalf("purge at +6 d with the default retention: %d, %v, kept %v", n, err, kept())
		}
		// A retention under 24 hours is raised to 24 hours.
		if n, err := at(2*time.Hour, time.Hour).PurgeIdempotencyKeys(env.Ctx()); err != nil || n != 0 || !kept() {
			t.Fatalf("purge at +2 h with a 1 h retention: %d, %v, kept %v", n, err, kept())
		}
		if again := post(); again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
			t.Fatalf("a kept key is not replayed: %s", again.Body)
		}

		// Eight days on, the workers forget it.
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			at(8*24*time.Hour, 0).RunWorkers(ctx, service.WorkerOptions{Poll: 10 * time.Millisecond})
		}()
		deadline := time.Now().Add(10 * time.Second)
		for kept() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		stop()
		<-done
		if kept() {
			t.Fatal("the workers did not purge a key past its retention")
		}
		fresh := post()
		if fresh.Status != 200 || fresh.Header.Get("Idempotent-Replayed") != "" || string(fresh.Body) == string(first.Body) {
			t.Fatalf("a forgotten key should start a new request: %d %s", fresh.Status, fresh.Body)
		}
	})
}
