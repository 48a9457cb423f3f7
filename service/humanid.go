package service

import (
	"context"
	"crypto/rand"
	"errors"

	"github.com/tillpay/till"
)

// humanAlphabet is what human ids are made of: upper-case letters and
// digits without the look-alikes 0/O and 1/I.
const humanAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// humanIDLen is the length of a human id (the Orders & Subscriptions API's
// human_id is six characters).
const humanIDLen = 6

func newHumanID() string {
	b := make([]byte, humanIDLen)
	if _, err := rand.Read(b); err != nil {
		panic("service: crypto/rand failed: " + err.Error())
	}
	for i := range b {
		b[i] = humanAlphabet[int(b[i])%len(humanAlphabet)] // 256 is a multiple of 32: uniform
	}
	return string(b)
}

// HumanIDs returns the human id of each of the caller's payments, by
// payment id, giving one to each payment that has none yet: six characters
// drawn at random, unique per account and mode (a draw that is taken is
// drawn again), kept for good.
func (s *Service) HumanIDs(ctx context.Context, c *Caller, payments []*till.Payment) (map[string]string, error) {
	ids := make([]string, len(payments))
	for i, p := range payments {
		ids[i] = p.ID
	}
	var out map[string]string
	if err := s.store.View(ctx, func(tx till.Tx) (err error) {
		out, err = tx.HumanIDs(ctx, c.Scope(), ids)
		return err
	}); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if out[id] != "" {
			continue
		}
		for try := 0; ; try++ {
			h := newHumanID()
			err := s.store.Update(ctx, func(tx till.Tx) error { return tx.CreateHumanID(ctx, c.Scope(), id, h) })
			if err == nil {
				out[id] = h
				break
			}
			if !errors.Is(err, till.ErrDuplicate) || try == 8 {
				return nil, err
			}
			// Taken: by another payment (draw again), or this payment got
			// one from a concurrent request (use it).
			var got map[string]string
			if err := s.store.View(ctx, func(tx till.Tx) (err error) {
				got, err = tx.HumanIDs(ctx, c.Scope(), []string{id})
				return err
			}); err != nil {
				return nil, err
			}
			if got[id] != "" {
				out[id] = got[id]
				break
			}
		}
	}
	return out, nil
}
