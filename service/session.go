package service

import (
	"context"
	"crypto/subtle"
	"regexp"
	"time"

	"github.com/tillpay/till"
)

// Customer session lifetimes: DefaultSessionLifetime unless the merchant
// asks for another within [MinSessionLifetime, MaxSessionLifetime].
const (
	DefaultSessionLifetime = time.Hour
	MinSessionLifetime     = time.Minute
	MaxSessionLifetime     = 24 * time.Hour
)

// sessionPattern is the shape of every customer session token.
var sessionPattern = regexp.MustCompile(`^cs_(test|live)_[0-9A-Za-z]{48}$`)

// SessionParams is the body of POST /v1/customers/{id}/sessions.
type SessionParams struct {
	// ExpiresIn is the session's lifetime in seconds; nil is
	// DefaultSessionLifetime.
	ExpiresIn *int64
}

// NewSession is a session with its token, shown once: when it is made (and
// in the idempotent replay of that request, which is stored sealed).
type NewSession struct {
	Session *till.CustomerSession
	Token   string
}

// CreateCustomerSession makes a short-lived session for customer
// customerID of the caller's mode: its token authenticates as that customer
// only (Caller.CustomerID). It returns resource_missing for an unknown or
// deleted customer and validation_error for a lifetime out of bounds.
func (s *Service) CreateCustomerSession(ctx context.Context, c *Caller, idem *Idem, customerID string, in SessionParams) (*NewSession, error) {
	life := DefaultSessionLifetime
	if in.ExpiresIn != nil {
		life = time.Duration(*in.ExpiresIn) * time.Second
		if *in.ExpiresIn < int64(MinSessionLifetime/time.Second) || *in.ExpiresIn > int64(MaxSessionLifetime/time.Second) {
			return nil, till.ParamError(till.EValidation, "expiresIn", "expiresIn must be %d to %d seconds",
				int64(MinSessionLifetime/time.Second), int64(MaxSessionLifetime/time.Second))
		}
	}
	var out *NewSession
	err := s.idempotent(ctx, c, sealed(idem), OpSessionCreate, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			cust, err := tx.Customer(ctx, c.Scope(), customerID)
			if err == nil && cust.Deleted {
				err = till.NotFound("customer", customerID)
			}
			if err != nil {
				return err
			}
			a, err := tx.Account(ctx, c.Account.ID)
			if err != nil {
				return err
			}
			// Times are kept to the microsecond, as the stores keep them.
			now := s.now(a, c.Livemode).Truncate(time.Microsecond)
			token := till.SessionPrefix(c.Livemode) + till.RandomString(48)
			cs := &till.CustomerSession{ID: s.ids.NewID(till.PrefixSession), AccountID: a.ID, Livemode: c.Livemode, CustomerID: cust.ID,
				Hash: hashKey(token), Last4: token[len(token)-4:], CreatedAt: now, ExpiresAt: now.Add(life)}
			if err := tx.CreateCustomerSession(ctx, cs); err != nil {
				return err
			}
			out = &NewSession{Session: cs, Token: token}
			return s.remember(ctx, tx, c, idem, OpSessionCreate, out, cs.ID)
		})
	})
	return out, err
}

// RevokeCustomerSession ends a session of customer customerID at once;
// revoking a revoked session changes nothing. It returns resource_missing
// for a session of another customer.
func (s *Service) RevokeCustomerSession(ctx context.Context, c *Caller, idem *Idem, customerID, sessionID string) (*till.CustomerSession, error) {
	var out *till.CustomerSession
	err := s.idempotent(ctx, c, idem, OpSessionRevoke, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			cs, err := tx.CustomerSession(ctx, c.Scope(), sessionID)
			if err == nil && cs.CustomerID != customerID {
				err = till.NotFound("customer session", sessionID)
			}
			if err != nil {
				return err
			}
			if cs.RevokedAt == nil {
				now := s.now(c.Account, c.Livemode).Truncate(time.Microsecond)
				cs.RevokedAt = &now
				if err := tx.UpdateCustomerSession(ctx, cs); err != nil {
					return err
				}
			}
			out = cs
			return s.remember(ctx, tx, c, idem, OpSessionRevoke, cs, cs.ID)
		})
	})
	return out, err
}

// authenticateSession resolves a customer session token (a string of
// sessionPattern's shape) to its caller: Key is a stand-in of kind
// till.KeyCustomer with the session's id, and CustomerID its customer. An
// unknown, revoked or expired session (on the account's clock) is the
// invalid error, as is the session of a customer deleted since.
func (s *Service) authenticateSession(ctx context.Context, raw string, invalid error) (*Caller, error) {
	hash := hashKey(raw)
	var cs *till.CustomerSession
	var acct *till.Account
	var cust *till.Customer
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		if cs, err = tx.CustomerSessionByHash(ctx, hash); err != nil {
			return err
		}
		if acct, err = tx.Account(ctx, cs.AccountID); err != nil {
			return err
		}
		cust, err = tx.Customer(ctx, till.Scope{AccountID: cs.AccountID, Livemode: cs.Livemode}, cs.CustomerID)
		return err
	})
	if isNotFound(err) {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(cs.Hash, hash) != 1 || !cs.Active(s.now(acct, cs.Livemode)) || cust.Deleted {
		return nil, invalid
	}
	key := &till.APIKey{ID: cs.ID, AccountID: cs.AccountID, Livemode: cs.Livemode, Kind: till.KeyCustomer,
		Prefix: till.SessionPrefix(cs.Livemode), Last4: cs.Last4, CreatedAt: cs.CreatedAt}
	return &Caller{Account: acct, Key: key, Livemode: cs.Livemode, CustomerID: cs.CustomerID}, nil
}
