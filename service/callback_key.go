package service

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/tillpay/till"
)

// callbackKeyBits is the size of an account's callback signing key.
const callbackKeyBits = 2048

// callbackKeyAAD binds a sealed callback key to its account and mode.
func callbackKeyAAD(accountID string, livemode bool) []byte {
	return []byte("till callback key\x00" + accountID + "\x00" + modeName(livemode))
}

// CallbackPublicKey returns the PEM-encoded public half of the caller's
// callback signing key (CHIP's GET /public_key/), making the key pair in a
// unit of work when the account has none in the caller's mode yet. Two
// first requests at once agree on one key: the one committed first. It
// returns service_unavailable on a server without a keyring.
func (s *Service) CallbackPublicKey(ctx context.Context, c *Caller) (string, error) {
	k, err := s.callbackKey(ctx, c.Account.ID, c.Livemode)
	return k.PublicKey, err
}

// callbackKey returns the callback key of an account in a mode, made and
// stored first when there is none.
func (s *Service) callbackKey(ctx context.Context, accountID string, livemode bool) (till.CallbackKey, error) {
	var a *till.Account
	if err := s.store.View(ctx, func(tx till.Tx) (err error) {
		a, err = tx.Account(ctx, accountID)
		return err
	}); err != nil {
		return till.CallbackKey{}, err
	}
	if k := a.CallbackKey(livemode); k.SealedPrivateKey != nil {
		return k, nil
	}
	if s.keys == nil {
		return till.CallbackKey{}, till.Errorf(till.EUnavailable, "This server has no keyring to keep callback signing keys.")
	}
	// The key is made outside the unit of work (it takes a while); a
	// concurrent request that stored one first wins and this one is
	// dropped.
	priv, err := rsa.GenerateKey(rand.Reader, callbackKeyBits)
	if err != nil {
		return till.CallbackKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return till.CallbackKey{}, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return till.CallbackKey{}, err
	}
	sealedKey, dk, err := s.keys.Seal(der, callbackKeyAAD(accountID, livemode))
	clear(der)
	if err != nil {
		return till.CallbackKey{}, err
	}
	made := till.CallbackKey{PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		SealedPrivateKey: sealedKey, DataKeyID: dk}
	var out till.CallbackKey
	err = s.store.Update(ctx, func(tx till.Tx) error {
		a, err := tx.Account(ctx, accountID)
		if err != nil {
			return err
		}
		if out = a.CallbackKey(livemode); out.SealedPrivateKey != nil {
			return nil
		}
		from := a.Version
		if livemode {
			a.LiveCallbackKey = made
		} else {
			a.TestCallbackKey = made
		}
		a.Version++
		a.UpdatedAt = s.clock.Now()
		out = made
		return tx.UpdateAccount(ctx, a, from)
	})
	return out, err
}

// callbackSigningKey returns the PEM of the private half of an account's
// callback key in a mode (made first when there is none), for a
// WebhookFormat that signs with it (AccountKeySigner). It is kept in memory
// only, for the delivery that asked for it.
func (s *Service) callbackSigningKey(ctx context.Context, accountID string, livemode bool) (string, error) {
	k, err := s.callbackKey(ctx, accountID, livemode)
	if err != nil {
		return "", err
	}
	der, err := s.open(ctx, k.SealedPrivateKey, k.DataKeyID, callbackKeyAAD(accountID, livemode))
	if err != nil {
		return "", fmt.Errorf("open the callback key of %s: %w", accountID, err)
	}
	out := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	clear(der)
	return out, nil
}
