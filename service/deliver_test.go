package service

import (
	"testing"

	"github.com/tillpay/till"
)

// runnerWith returns a delivery runner with the default bounds (64 sends, 8
// per endpoint) holding held deliveries of each endpoint.
func runnerWith(held map[string]int) *deliveryRunner {
	r := &deliveryRunner{opts: DeliveryOptions{Concurrency: 64, PerEndpoint: 8}, maxEP: heldPerSlot * 8,
		eps: map[string]*endpointQueue{}}
	r.maxHeld = max(2*64, 2*r.maxEP)
	for id, n := range held {
		r.eps[id] = &endpointQueue{held: n}
		r.held += n
	}
	return r
}

// pendingOf returns n sent deliveries to endpoint id.
func pendingOf(id string, n int) []*delivery {
	out := make([]*delivery, n)
	for i := range out {
		out[i] = &delivery{t: &till.Task{Ref2: id}}
	}
	return out
}

func TestClaimLimit(t *testing.T) {
	maxEP := heldPerSlot * 8
	tests := []struct {
		name      string
		held      map[string]int
		pending   []*delivery
		polled    bool
		crowdedOK bool
		want      int
	}{
		{name: "idle", held: nil, want: maxEP},
		{name: "one endpoint partly held", held: map[string]int{"we_a": maxEP - 56}, want: 56},
		{name: "pending deliveries free their room", held: map[string]int{"we_a": maxEP - 56}, pending: pendingOf("we_a", 50), want: 106},
		{name: "the fullest endpoint bounds the claim", held: map[string]int{"we_a": 10, "we_b": maxEP - 20}, want: 20},
		{name: "a full endpoint: no claim between polls", held: map[string]int{"we_a": maxEP, "we_b": 10}, want: 0},
		{name: "a full endpoint: a small claim on a poll", held: map[string]int{"we_a": maxEP, "we_b": 10}, polled: true, want: 8},
		{name: "a full endpoint, the last claim found others: the room of the others", held: map[string]int{"we_a": maxEP, "we_b": 10},
			crowdedOK: true, want: maxEP - 10},
		{name: "no room at all", held: map[string]int{"we_a": maxEP, "we_b": maxEP}, polled: true, crowdedOK: true, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runnerWith(tt.held)
			r.crowdedOK = tt.crowdedOK
			if got := r.claimLimit(tt.pending, tt.polled); got != tt.want {
				t.Errorf("claimLimit = %d, want %d", got, tt.want)
			}
		})
	}
}
