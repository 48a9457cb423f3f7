package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactPercentile is the nearest-rank percentile of sorted samples.
func exactPercentile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

func TestHistogramPercentiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		gen  func() time.Duration
		n    int
	}{
		{"lognormal around 5ms", func() time.Duration {
			return time.Duration(math.Exp(rng.NormFloat64()*0.8) * float64(5*time.Millisecond))
		}, 100_000},
		{"uniform 0-100µs", func() time.Duration { return time.Duration(rng.Int64N(int64(100 * time.Microsecond))) }, 50_000},
		{"tiny values are exact", func() time.Duration { return time.Duration(rng.Int64N(200)) }, 10_000},
		{"bimodal with a slow tail", func() time.Duration {
			if rng.IntN(1000) == 0 {
				return time.Duration(rng.Int64N(int64(2*time.Second))) + time.Second
			}
			return time.Duration(rng.Int64N(int64(time.Millisecond))) + time.Millisecond
		}, 200_000},
		{"one value", func() time.Duration { return 1234567 }, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			samples := make([]time.Duration, tc.n)
			for i := range samples {
				samples[i] = tc.gen()
				h.Record(samples[i])
			}
			slices.Sort(samples)
			if h.Count() != uint64(tc.n) || h.Min() != samples[0] || h.Max() != samples[len(samples)-1] {
				t.Fatalf("count/min/max = %d/%v/%v, want %d/%v/%v", h.Count(), h.Min(), h.Max(), tc.n, samples[0], samples[len(samples)-1])
			}
			var sum time.Duration
			for _, s := range samples {
				sum += s
			}
			if h.Mean() != sum/time.Duration(tc.n) {
				t.Errorf("mean %v, want %v", h.Mean(), sum/time.Duration(tc.n))
			}
			for _, q := range []float64{0, 0.001, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1} {
				got, want := h.Percentile(q), exactPercentile(samples, q)
				if diff := math.Abs(float64(got-want)) / math.Max(float64(want), 1); diff > 0.01 {
					t.Errorf("p%v = %v, want %v (off by %.2f %%)", q*100, got, want, diff*100)
				}
				if want < subCount && got != want {
					t.Errorf("p%v = %v, want exactly %v below %d ns", q*100, got, want, subCount)
				}
			}
		})
	}
}

func TestHistogramEmptyAndMerge(t *testing.T) {
	var empty Histogram
	if empty.Percentile(0.5) != 0 || empty.Max() != 0 || empty.Mean() != 0 || empty.Count() != 0 {
		t.Fatal("an empty histogram must report zeros")
	}
	var a, b, all Histogram
	for i := range 10_000 {
		d := time.Duration(i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var merged Histogram
	merged.Merge(&a)
	merged.Merge(&empty)
	merged.Merge(&b)
	if merged != all {
		t.Fatalf("merge differs: count %d/%d, min %v/%v, max %v/%v", merged.Count(), all.Count(), merged.Min(), all.Min(), merged.Max(), all.Max())
	}
	var neg Histogram
	neg.Record(-time.Second)
	if neg.Max() != 0 || neg.Percentile(1) != 0 {
		t.Fatal("a negative duration must count as zero")
	}
}

func TestBucketsCoverEveryValue(t *testing.T) {
	// Every bucket's range starts where the previous one ends, and values at
	// both ends of a bucket map back to it, up to the largest int64.
	var next uint64
	for i := range numBuckets {
		lo, width := bucketRange(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		if bucketOf(lo) != i || bucketOf(lo+width-1) != i {
			t.Fatalf("bucket %d [%d, +%d) does not map back", i, lo, width)
		}
		if lo >= subCount && float64(width)/float64(lo) > 1.0/halfCount {
			t.Fatalf("bucket %d is %d wide at %d: too coarse", i, width, lo)
		}
		next = lo + width
	}
	if next != 0 { // the last bucket ends at 2^64, which wraps to 0
		t.Fatalf("buckets end at %d", next)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	for i := range b.N {
		h.Record(time.Duration(i*7919) % (50 * time.Millisecond))
	}
}
