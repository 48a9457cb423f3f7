package middleware

import (
	"sync"
	"time"
)

// maxBuckets bounds a Limiter's memory: past it, every bucket is dropped
// and refilled (a burst's worth of requests is the most this forgives).
const maxBuckets = 100000

// Limiter is a token bucket per key (an API key, a client address): each
// key may make a burst of requests at once and rate requests per second
// sustained (see NewLimiter). It is safe for concurrent use; the time is
// passed in, so tests need no sleeping.
type Limiter struct {
	rate  float64
	burst float64
	mu    sync.Mutex
	m     map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter returns a Limiter of rate requests per second with buckets of
// burst tokens; a burst of 0 or less is twice the rate. A rate of 0 or less
// allows everything.
func NewLimiter(rate float64, burst int) *Limiter {
	if burst <= 0 {
		burst = int(2 * rate)
	}
	return &Limiter{rate: rate, burst: float64(burst), m: map[string]*bucket{}}
}

// Allow takes a token from key's bucket at time now and reports whether
// there was one. A new key starts with a full bucket.
func (l *Limiter) Allow(key string, now time.Time) bool {
	if l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		if len(l.m) > maxBuckets {
			clear(l.m)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.m[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Shared returns l when it is set (one Limiter shared by every API the
// server mounts, so that a key's budget is one whatever API it calls), or a
// Limiter of its own of rate and burst.
func Shared(l *Limiter, rate float64, burst int) *Limiter {
	if l != nil {
		return l
	}
	return NewLimiter(rate, burst)
}
