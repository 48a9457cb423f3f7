package service

import (
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till"
)

func TestAuthenticatedAttempt(t *testing.T) {
	charge := func(id, outcome string) till.Attempt {
		return till.Attempt{ID: id, Kind: till.AttemptCharge, Outcome: outcome}
	}
	p := &till.Payment{Attempts: []till.Attempt{
		charge("a1", till.OutcomeRequiresAction),
		charge("a2", till.OutcomeFailed),     // authenticated, then declined softly
		charge("a3", till.OutcomeProcessing), // an off-session retry
	}}
	q := &till.Payment{Attempts: []till.Attempt{charge("b1", till.OutcomeRequiresAction), charge("b2", till.OutcomeProcessing)}}
	tests := []struct {
		name string
		p    *till.Payment
		att  *till.Attempt
		want bool
	}{
		{"the first attempt", p, &p.Attempts[0], false},
		{"the attempt after requires_action", p, &p.Attempts[1], true},
		{"a later retry", p, &p.Attempts[2], false},
		{"processing after requires_action", q, &q.Attempts[1], true},
		{"nil", q, nil, false},
		{"another payment's attempt", p, &q.Attempts[1], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := authenticatedAttempt(tt.p, tt.att); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidLinkToken(t *testing.T) {
	for token, want := range map[string]bool{
		till.RandomString(32):    true,
		"":                       false,
		"abc-def":                false,
		"../etc":                 false,
		"tok%00":                 false,
		strings.Repeat("a", 128): true,
		strings.Repeat("a", 129): false,
		"ÄÖÜ":                    false,
		"ab cd":                  false,
	} {
		if got := validLinkToken(token); got != want {
			t.Errorf("validLinkToken(%q) = %v, want %v", token, got, want)
		}
	}
}

func TestNextDisputePoll(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	task := func(wait time.Duration) *till.Task { return &till.Task{CreatedAt: at, RunAt: at.Add(wait)} }
	tests := []struct {
		name  string
		t     *till.Task
		found bool
		want  time.Duration
	}{
		{"found resets", task(10 * time.Minute), true, disputePollMin},
		{"idle doubles", task(disputePollMin), false, 2 * disputePollMin},
		{"idle is capped", task(disputePollMax), false, disputePollMax},
		{"shifted by a test clock", task(-time.Hour), false, disputePollMin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextDisputePoll(tt.t, tt.found); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}
