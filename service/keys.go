package service

import (
	"context"
	"errors"

	"github.com/tillpay/till"
	"github.com/tillpay/till/vault"
)

// open decrypts data sealed under a data key. A key this process has not
// loaded (made by `till keys rotate-data-key`, or by another process that
// loaded it since) is picked up from the store once, then opened.
func (s *Service) open(ctx context.Context, sealed []byte, dataKeyID string, aad []byte) ([]byte, error) {
	b, err := s.keys.Open(sealed, dataKeyID, aad)
	if !errors.Is(err, vault.ErrUnknownDataKey) {
		return b, err
	}
	if rerr := s.ReloadKeys(ctx); rerr != nil {
		return nil, rerr
	}
	return s.keys.Open(sealed, dataKeyID, aad)
}

// ReloadKeys loads the data keys stored now, so that a key rotated by another
// process opens and the newest active key seals from now on. Keys this
// process would have to create (none active, which a rotation never leaves)
// are not created here.
func (s *Service) ReloadKeys(ctx context.Context) error {
	var stored []*till.DataKey
	if err := s.store.View(ctx, func(tx till.Tx) (err error) {
		stored, err = tx.DataKeys(ctx)
		return err
	}); err != nil {
		return err
	}
	_, _, err := s.keys.Load(stored)
	return err
}
