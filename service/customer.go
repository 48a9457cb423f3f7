package service

import (
	"context"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tillpay/till"
	"github.com/tillpay/till/tax"
	"github.com/tillpay/till/vault"
)

// validateCustomerFields checks the fields shared by create and update and
// applies them to c. Pointers that are nil are left alone.
func validateCustomerFields(v *till.Validator, c *till.Customer, email, name, phone, locale *string, addr *till.Address, taxIDs *[]till.TaxID, md till.Metadata) {
	if email != nil {
		e := strings.TrimSpace(*email)
		if e != "" && !validEmail(e) {
			v.Add("email", "email must be an email address such as jane@example.com")
		}
		c.Email = e
	}
	if name != nil {
		n := strings.TrimSpace(*name)
		if utf8.RuneCountInString(n) > 200 {
			v.Add("name", "name can be at most 200 characters")
		} else if strings.ContainsFunc(n, isControl) {
			v.Add("name", "name cannot contain control characters")
		}
		c.Name = n
	}
	if phone != nil {
		p := strings.TrimSpace(*phone)
		if len(p) > 30 || strings.ContainsFunc(p, func(r rune) bool { return !strings.ContainsRune("+0123456789 ()-./", r) }) {
			v.Add("phone", "phone must be a phone number of at most 30 characters")
		}
		c.Phone = p
	}
	if locale != nil {
		l := strings.TrimSpace(*locale)
		if len(l) > 35 || strings.ContainsFunc(l, func(r rune) bool {
			return !(r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'))
		}) {
			v.Add("locale", "locale must be a language tag such as de-DE")
		}
		c.Locale = l
	}
	if addr != nil {
		c.Address = validateAddress(v, "address", addr)
	}
	if taxIDs != nil {
		if len(*taxIDs) > maxTaxIDs {
			v.Add("taxIds", "at most %d tax ids", maxTaxIDs)
		}
		ids := make([]till.TaxID, 0, len(*taxIDs))
		for i, t := range *taxIDs {
			f := indexed("taxIds", i)
			val := strings.ToUpper(strings.NewReplacer(" ", "", ".", "", "-", "").Replace(t.Value))
			switch {
			case !till.TaxIDTypes[t.Type]:
				v.Add(f+".type", "type must be one of eu_vat, gb_vat, ch_vat, no_vat, au_abn, nz_gst, sg_gst, ca_gst_hst, in_gst, za_vat, jp_cn, is_vat, us_ein")
			case val == "" || len(val) > 30:
				v.Add(f+".value", "value is required (at most 30 characters)")
			case t.Type == "eu_vat" && !validEUVAT(val):
				v.Add(f+".value", "value is not a well-formed EU VAT number (country prefix and national format, e.g. DE123456789)")
			}
			ids = append(ids, till.TaxID{Type: t.Type, Value: val})
		}
		c.TaxIDs = ids
	}
	if md != nil {
		till.ValidateMetadata(v, "metadata", md)
	}
}

// maxTaxIDs bounds a customer's tax ids.
const maxTaxIDs = 5

// validEmail reports whether s is a bare email address (no display name),
// at most 254 characters.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}

// validEUVAT reports whether value is a well-formed VAT number of the EU
// country its prefix names (EL for Greece).
func validEUVAT(value string) bool {
	if len(value) < 4 {
		return false
	}
	country := value[:2]
	if country == "EL" {
		country = "GR"
	}
	return tax.IsEU(country) && tax.ValidVATNumber(country, value)
}

// CreateCustomer creates a customer.
func (s *Service) CreateCustomer(ctx context.Context, c *Caller, idem *Idem, in CustomerParams) (*till.Customer, error) {
	var v till.Validator
	now := s.now(c.Account, c.Livemode)
	cust := &till.Customer{ID: s.ids.NewID(till.PrefixCustomer), AccountID: c.Account.ID, Livemode: c.Livemode,
		Metadata: till.MergeMetadata(nil, in.Metadata), TaxIDs: []till.TaxID{}, Version: 1, CreatedAt: now, UpdatedAt: now}
	taxIDs := in.TaxIDs
	if taxIDs == nil {
		taxIDs = []till.TaxID{}
	}
	validateCustomerFields(&v, cust, &in.Email, &in.Name, &in.Phone, &in.Locale, &in.Address, &taxIDs, in.Metadata)
	validateCustomerRefs(&v, cust, &in.ExternalID, &in.TaxDocument, &in.Timezone)
	if err := v.Err(); err != nil {
		return nil, err
	}
	err := s.idempotent(ctx, c, idem, OpCustomerCreate, &cust, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			if err := tx.CreateCustomer(ctx, cust); err != nil {
				return err
			}
			if err := s.emit(ctx, tx, c.Scope(), till.EventCustomerCreated, "customer", cust.ID, cust.Version, cust, now); err != nil {
				return err
			}
			return s.remember(ctx, tx, c, idem, OpCustomerCreate, cust, cust.ID)
		})
	})
	return cust, err
}

// Customer returns a customer of the caller (for a customer session, only
// its own). Deleted customers are not found.
func (s *Service) Customer(ctx context.Context, c *Caller, id string) (*till.Customer, error) {
	var cust *till.Customer
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		cust, err = tx.Customer(ctx, c.Scope(), id)
		return err
	})
	if err == nil && (cust.Deleted || !c.sees(cust.ID)) {
		return nil, till.NotFound("customer", id)
	}
	return cust, err
}

// UpdateCustomer applies a PATCH to a customer.
func (s *Service) UpdateCustomer(ctx context.Context, c *Caller, idem *Idem, id string, in CustomerUpdateParams) (*till.Customer, error) {
	var out *till.Customer
	err := s.idempotent(ctx, c, idem, OpCustomerUpdate, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			cust, err := tx.Customer(ctx, c.Scope(), id)
			if err != nil {
				return err
			}
			if cust.Deleted {
				return till.NotFound("customer", id)
			}
			from := cust.Version
			var v till.Validator
			validateCustomerFields(&v, cust, in.Email, in.Name, in.Phone, in.Locale, in.Address, in.TaxIDs, in.Metadata)
			validateCustomerRefs(&v, cust, in.ExternalID, in.TaxDocument, in.Timezone)
			if in.DefaultPaymentMethodID != nil {
				pmID := strings.TrimSpace(*in.DefaultPaymentMethodID)
				if pmID != "" {
					pm, err := tx.PaymentMethod(ctx, c.Scope(), pmID)
					if err != nil || pm.DetachedAt != nil || pm.CustomerID != cust.ID {
						v.Add("defaultPaymentMethodId", "no attached payment method %s on this customer", pmID)
					}
				}
				cust.DefaultPaymentMethodID = pmID
			}
			if err := v.Err(); err != nil {
				return err
			}
			if in.Metadata != nil {
				cust.Metadata = till.MergeMetadata(cust.Metadata, in.Metadata)
				if n := len(cust.Metadata); n > till.MaxMetadataKeys {
					// The patch alone was checked; the merged result must
					// keep to the limit too.
					return till.ParamError(till.EValidation, "metadata", "metadata can have at most %d keys; with this update it would have %d", till.MaxMetadataKeys, n)
				}
			}
			now := s.now(c.Account, c.Livemode)
			cust.Version++
			cust.UpdatedAt = now
			if err := tx.UpdateCustomer(ctx, cust, from); err != nil {
				return err
			}
			if err := s.emit(ctx, tx, c.Scope(), till.EventCustomerUpdated, "customer", cust.ID, cust.Version, cust, now); err != nil {
				return err
			}
			out = cust
			return s.remember(ctx, tx, c, idem, OpCustomerUpdate, cust, cust.ID)
		})
	})
	return out, err
}

// DeleteCustomer deletes a customer and detaches (destroys) its saved cards.
// Its payments stay.
func (s *Service) DeleteCustomer(ctx context.Context, c *Caller, idem *Idem, id string) (*Deleted, error) {
	out := &Deleted{ID: id, Kind: "customer"}
	err := s.idempotent(ctx, c, idem, OpCustomerDelete, out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			cust, err := tx.Customer(ctx, c.Scope(), id)
			if err != nil {
				return err
			}
			if cust.Deleted {
				return till.NotFound("customer", id)
			}
			now := s.now(c.Account, c.Livemode)
			pms, err := tx.ListPaymentMethods(ctx, c.Scope(), cust.ID)
			if err != nil {
				return err
			}
			for _, pm := range pms {
				if err := s.detach(ctx, tx, c.Scope(), pm, now); err != nil {
					return err
				}
			}
			from := cust.Version
			cust.Deleted, cust.DefaultPaymentMethodID = true, ""
			cust.Version++
			cust.UpdatedAt = now
			if err := tx.UpdateCustomer(ctx, cust, from); err != nil {
				return err
			}
			if err := s.emit(ctx, tx, c.Scope(), till.EventCustomerDeleted, "customer", cust.ID, cust.Version, cust, now); err != nil {
				return err
			}
			return s.remember(ctx, tx, c, idem, OpCustomerDelete, out, cust.ID)
		})
	})
	return out, err
}

// ListCustomers lists the caller's customers, newest first.
func (s *Service) ListCustomers(ctx context.Context, c *Caller, f till.CustomerFilter) ([]*till.Customer, bool, error) {
	var out []*till.Customer
	var more bool
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		out, more, err = tx.ListCustomers(ctx, c.Scope(), f)
		return err
	})
	return out, more, err
}

// cardForVault validates card input and checks it with the processor (save
// time verification); a refused card returns a card error and is not saved.
func (s *Service) cardForVault(ctx context.Context, c *Caller, in *till.Card, field string) (till.Card, error) {
	var v till.Validator
	if in == nil {
		v.Add(field, "%s is required", field)
		return till.Card{}, v.Err()
	}
	card := vault.ValidateCard(&v, field, *in, s.now(c.Account, c.Livemode))
	if err := v.Err(); err != nil {
		return till.Card{}, err
	}
	if err := s.checkProcessor(ctx, c.Account, c.Livemode); err != nil {
		return till.Card{}, err
	}
	proc, err := s.proc(ctx, c.Account, c.Livemode)
	if err != nil {
		return till.Card{}, err
	}
	if _, keeps := proc.(till.MethodKeeper); keeps {
		return till.Card{}, till.ParamError(till.EValidation, field,
			"This account's processor (%s) keeps cards itself and takes no card numbers from Till: save the card with the processor (Stripe.js) and send its payment method id as providerRef.", proc.Name())
	}
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	res, err := proc.Verify(cctx, till.VerifyRequest{AccountID: c.Account.ID, Livemode: c.Livemode, Source: till.PaymentSource{Card: &card}})
	if err != nil {
		if _, ok := till.AsError(err); ok {
			return till.Card{}, err
		}
		return till.Card{}, till.Errorf(till.EUnavailable, "The processor could not verify the card; try again.")
	}
	if res.Outcome == till.ProcessorDeclined {
		return till.Card{}, &till.Error{Code: till.ECardDeclined, Message: DeclineMessage(res.DeclineCode), Param: field,
			Decline: &till.Decline{DeclineCode: res.DeclineCode}}
	}
	return card, nil
}

// sealCard makes a payment method (or token) with id from a verified card.
func (s *Service) sealCard(c *Caller, id, customerID string, card till.Card, now time.Time) (*till.PaymentMethod, error) {
	sealed, dkID, err := s.keys.Seal([]byte(card.Number), []byte(id))
	if err != nil {
		return nil, err
	}
	return &till.PaymentMethod{
		ID: id, AccountID: c.Account.ID, Livemode: c.Livemode, CustomerID: customerID, Type: "card",
		Card: till.CardDetails{Brand: vault.Brand(card.Number), Last4: card.Number[len(card.Number)-4:],
			ExpMonth: card.ExpMonth, ExpYear: card.ExpYear, Fingerprint: s.keys.Fingerprint(c.Account.ID, card.Number),
			HolderName: card.HolderName},
		Provider: till.ProcessorSimulator, SealedPAN: sealed, DataKeyID: dkID, Version: 1, CreatedAt: now,
	}, nil
}

// keptMethod makes payment method id of a method the account's processor
// keeps (providerRef), with the card details the processor reports.
func (s *Service) keptMethod(ctx context.Context, c *Caller, id, customerID, provider, ref string, now time.Time) (*till.PaymentMethod, error) {
	if err := s.checkProcessor(ctx, c.Account, c.Livemode); err != nil {
		return nil, err
	}
	proc, err := s.proc(ctx, c.Account, c.Livemode)
	if err != nil {
		return nil, err
	}
	keeper, ok := proc.(till.MethodKeeper)
	if !ok {
		return nil, till.ParamError(till.EValidation, "providerRef",
			"This account's processor (%s) keeps no payment methods of its own; send card or token.", proc.Name())
	}
	if provider != "" && provider != proc.Name() {
		return nil, till.ParamError(till.EValidation, "provider", "This account's processor in this mode is %s, not %q.", proc.Name(), provider)
	}
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	card, err := keeper.Method(cctx, ref)
	if err != nil {
		if e, ok := till.AsError(err); ok {
			if e.Code == till.ENotFound {
				return nil, paramNotFound("payment method at "+proc.Name(), ref, "providerRef")
			}
			return nil, err
		}
		return nil, till.Errorf(till.EUnavailable, "The processor could not be asked about the payment method; try again.")
	}
	return &till.PaymentMethod{ID: id, AccountID: c.Account.ID, Livemode: c.Livemode, CustomerID: customerID, Type: "card",
		Card: card, Provider: proc.Name(), ProviderRef: ref, Version: 1, CreatedAt: now}, nil
}

// tokenTTL is how long a card token can be attached.
const tokenTTL = time.Hour

// AddPaymentMethod vaults a card for a customer: a card given directly
// (secret key) or a token from POST /v1/tokens. The card is verified with
// the processor first; its number is stored only encrypted.
func (s *Service) AddPaymentMethod(ctx context.Context, c *Caller, idem *Idem, customerID string, in PaymentMethodParams) (*till.PaymentMethod, bool, error) {
	var v till.Validator
	sources := 0
	for _, set := range []bool{in.Card != nil, in.Token != "", in.ProviderRef != ""} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		v.Add("card", "send exactly one of card, token or providerRef")
	}
	if ref := in.ProviderRef; ref != "" && (len(ref) > 255 || strings.ContainsFunc(ref, func(r rune) bool { return r <= ' ' || r > '~' })) {
		v.Add("providerRef", "providerRef is the processor's id of the payment method, such as pm_1Nv… (printable, at most 255 characters)")
	}
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	var pm *till.PaymentMethod
	var saved *SavedMethod
	err := s.idempotent(ctx, c, idem, OpPaymentMethodSave, &saved, func() error {
		now := s.now(c.Account, c.Livemode)
		id := s.ids.NewID(till.PrefixPaymentMethod)
		if in.ProviderRef != "" {
			var err error
			if pm, err = s.keptMethod(ctx, c, id, customerID, in.Provider, in.ProviderRef, now); err != nil {
				return err
			}
		}
		if in.Card != nil {
			card, err := s.cardForVault(ctx, c, in.Card, "card")
			if err != nil {
				return err
			}
			if pm, err = s.sealCard(c, id, customerID, card, now); err != nil {
				return err
			}
		}
		return s.store.Update(ctx, func(tx till.Tx) error {
			cust, err := tx.Customer(ctx, c.Scope(), customerID)
			if err != nil || cust.Deleted {
				return till.NotFound("customer", customerID)
			}
			if in.Token != "" {
				if pm, err = s.redeemToken(ctx, tx, c, in.Token, id, customerID, now); err != nil {
					return err
				}
			}
			if err := tx.CreatePaymentMethod(ctx, pm); err != nil {
				return err
			}
			if err := s.emit(ctx, tx, c.Scope(), till.EventPaymentMethodAttached, "payment_method", pm.ID, pm.Version, pm, now); err != nil {
				return err
			}
			// A new default (asked for, or the customer's first card) is a
			// change of the customer: its own version and event.
			if in.SetDefault || cust.DefaultPaymentMethodID == "" {
				from := cust.Version
				cust.DefaultPaymentMethodID = pm.ID
				cust.Version++
				cust.UpdatedAt = now
				if err := tx.UpdateCustomer(ctx, cust, from); err != nil {
					return err
				}
				if err := s.emit(ctx, tx, c.Scope(), till.EventCustomerUpdated, "customer", cust.ID, cust.Version, cust, now); err != nil {
					return err
				}
			}
			saved = &SavedMethod{Method: pm, Default: cust.DefaultPaymentMethodID == pm.ID}
			return s.remember(ctx, tx, c, idem, OpPaymentMethodSave, saved, pm.ID)
		})
	})
	if err != nil || saved == nil {
		return nil, false, err
	}
	return saved.Method, saved.Default, nil
}

// redeemToken turns an unused, unexpired token into payment method id: the
// card number is re-sealed under the new id and the token's copy destroyed.
func (s *Service) redeemToken(ctx context.Context, tx till.Tx, c *Caller, token, id, customerID string, now time.Time) (*till.PaymentMethod, error) {
	notFound := paramNotFound("token", token, "token")
	if !strings.HasPrefix(token, "tok_") {
		return nil, notFound
	}
	t, err := tx.PaymentMethod(ctx, c.Scope(), token)
	if err != nil {
		return nil, notFound
	}
	if t.DetachedAt != nil || t.SealedPAN == nil {
		return nil, till.ParamError(till.EValidation, "token", "token %s was already used", token)
	}
	if now.After(t.CreatedAt.Add(tokenTTL)) {
		return nil, till.ParamError(till.EValidation, "token", "token %s has expired; tokens can be attached within an hour", token)
	}
	pan, err := s.open(ctx, t.SealedPAN, t.DataKeyID, []byte(t.ID))
	if err != nil {
		return nil, err
	}
	defer vault.Destroy(pan)
	sealed, dkID, err := s.keys.Seal(pan, []byte(id))
	if err != nil {
		return nil, err
	}
	pm := *t
	pm.ID, pm.CustomerID, pm.SealedPAN, pm.DataKeyID, pm.CreatedAt, pm.Version = id, customerID, sealed, dkID, now, 1
	used := now
	from := t.Version
	t.DetachedAt, t.SealedPAN = &used, nil
	t.Version++
	// The version check makes a token single-use even when two requests
	// redeem it at once.
	if err := tx.UpdatePaymentMethod(ctx, t, from); err != nil {
		return nil, err
	}
	return &pm, nil
}

// CreateToken vaults a card without a customer, for a browser holding a
// publishable key; the token is attached to a customer by a secret-key call
// within an hour, once.
func (s *Service) CreateToken(ctx context.Context, c *Caller, idem *Idem, in TokenParams) (*Token, error) {
	var out *Token
	err := s.idempotent(ctx, c, idem, OpTokenCreate, &out, func() error {
		card, err := s.cardForVault(ctx, c, in.Card, "card")
		if err != nil {
			return err
		}
		now := s.now(c.Account, c.Livemode)
		t, err := s.sealCard(c, s.ids.NewID("tok_"), "", card, now)
		if err != nil {
			return err
		}
		return s.store.Update(ctx, func(tx till.Tx) error {
			if err := tx.CreatePaymentMethod(ctx, t); err != nil {
				return err
			}
			out = &Token{Method: t, ExpiresAt: t.CreatedAt.Add(tokenTTL).UTC()}
			return s.remember(ctx, tx, c, idem, OpTokenCreate, out, t.ID)
		})
	})
	return out, err
}

// PaymentMethod returns a saved method of the caller and whether it is its
// customer's default.
func (s *Service) PaymentMethod(ctx context.Context, c *Caller, id string) (*till.PaymentMethod, bool, error) {
	var pm *till.PaymentMethod
	var isDefault bool
	err := s.store.View(ctx, func(tx till.Tx) error {
		var err error
		if pm, err = tx.PaymentMethod(ctx, c.Scope(), id); err != nil {
			return err
		}
		if pm.DetachedAt != nil || !strings.HasPrefix(pm.ID, till.PrefixPaymentMethod) {
			return till.NotFound("payment method", id)
		}
		cust, err := tx.Customer(ctx, c.Scope(), pm.CustomerID)
		if err != nil {
			return err
		}
		isDefault = cust.DefaultPaymentMethodID == pm.ID
		return nil
	})
	return pm, isDefault, err
}

// ListPaymentMethods lists a customer's attached methods and its default.
func (s *Service) ListPaymentMethods(ctx context.Context, c *Caller, customerID string) ([]*till.PaymentMethod, string, error) {
	var pms []*till.PaymentMethod
	var def string
	err := s.store.View(ctx, func(tx till.Tx) error {
		cust, err := tx.Customer(ctx, c.Scope(), customerID)
		if err != nil || cust.Deleted {
			return till.NotFound("customer", customerID)
		}
		def = cust.DefaultPaymentMethodID
		pms, err = tx.ListPaymentMethods(ctx, c.Scope(), customerID)
		return err
	})
	return pms, def, err
}

// DetachPaymentMethod detaches a saved method and destroys its card data.
// Past payments keep their reference to it; new charges cannot use it.
func (s *Service) DetachPaymentMethod(ctx context.Context, c *Caller, idem *Idem, id string) (*till.PaymentMethod, error) {
	var out *till.PaymentMethod
	err := s.idempotent(ctx, c, idem, OpPaymentMethodDrop, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			pm, err := tx.PaymentMethod(ctx, c.Scope(), id)
			if err != nil || pm.DetachedAt != nil || !strings.HasPrefix(pm.ID, till.PrefixPaymentMethod) {
				return till.NotFound("payment method", id)
			}
			if err := s.detachMethod(ctx, tx, c.Scope(), pm, s.now(c.Account, c.Livemode)); err != nil {
				return err
			}
			out = pm
			return s.remember(ctx, tx, c, idem, OpPaymentMethodDrop, pm, pm.ID)
		})
	})
	return out, err
}

// detachMethod detaches pm; a customer whose default it was has none
// again, a change of the customer with its own event.
func (s *Service) detachMethod(ctx context.Context, tx till.Tx, scope till.Scope, pm *till.PaymentMethod, now time.Time) error {
	if err := s.detach(ctx, tx, scope, pm, now); err != nil {
		return err
	}
	cust, err := tx.Customer(ctx, scope, pm.CustomerID)
	if err != nil {
		return err
	}
	if cust.DefaultPaymentMethodID != pm.ID {
		return nil
	}
	from := cust.Version
	cust.DefaultPaymentMethodID = ""
	cust.Version++
	cust.UpdatedAt = now
	if err := tx.UpdateCustomer(ctx, cust, from); err != nil {
		return err
	}
	return s.emit(ctx, tx, scope, till.EventCustomerUpdated, "customer", cust.ID, cust.Version, cust, now)
}

// detach marks pm detached and drops its sealed card number.
func (s *Service) detach(ctx context.Context, tx till.Tx, scope till.Scope, pm *till.PaymentMethod, now time.Time) error {
	from := pm.Version
	pm.DetachedAt = &now
	pm.SealedPAN, pm.DataKeyID = nil, ""
	pm.Version++
	if err := tx.UpdatePaymentMethod(ctx, pm, from); err != nil {
		return err
	}
	return s.emit(ctx, tx, scope, till.EventPaymentMethodDetached, "payment_method", pm.ID, pm.Version, pm, now)
}
