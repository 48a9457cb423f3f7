package service

import (
	"testing"
	"time"

	"github.com/tillpay/till"
)

// BenchmarkHashKey measures the stored form of an API key (SHA-256), paid on
// every request whose key is not in the authentication cache.
func BenchmarkHashKey(b *testing.B) {
	key := till.KeyPrefix(till.KeySecret, false) + till.RandomString(48)
	b.ReportAllocs()
	for b.Loop() {
		hashKey(key)
	}
}

// BenchmarkKeyCache measures authenticating a key found in the cache.
func BenchmarkKeyCache(b *testing.B) {
	c := newKeyCache()
	key := string(hashKey("sk_test_x"))
	c.put(key, cachedKey{key: &till.APIKey{}, acct: &till.Account{ID: "acct_x"}, until: farFuture})
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.get(key, farFuture.Add(-1)); !ok {
			b.Fatal("miss")
		}
	}
}

// BenchmarkNewID measures making an object id.
func BenchmarkNewID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		till.RandomIDs{}.NewID(till.PrefixPayment)
	}
}

var farFuture = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
