package service

import (
	"context"
	"crypto/subtle"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tillpay/till"
	"github.com/tillpay/till/tax"
)

// keyCacheTTL bounds how long a revoked key or a changed account setting may
// go unnoticed by another process. Changes made through this process are seen
// at once.
const keyCacheTTL = time.Second

type cachedKey struct {
	key   *till.APIKey
	acct  *till.Account
	until time.Time
}

// keyCache remembers recently authenticated keys so that a request costs no
// database read to authenticate.
type keyCache struct {
	mu sync.Mutex
	m  map[string]cachedKey
}

func newKeyCache() *keyCache { return &keyCache{m: map[string]cachedKey{}} }

func (c *keyCache) get(hash string, now time.Time) (cachedKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || now.After(e.until) {
		return cachedKey{}, false
	}
	return e, true
}

func (c *keyCache) put(hash string, e cachedKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 10000 {
		clear(c.m)
	}
	c.m[hash] = e
}

// forget drops every cached key of the account (after its settings or keys
// changed).
func (c *keyCache) forget(accountID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.m {
		if e.acct.ID == accountID {
			delete(c.m, h)
		}
	}
}

// keyPattern is the shape of every API key: kind, mode, 48 base62 characters.
var keyPattern = regexp.MustCompile(`^(sk|pk)_(test|live)_[0-9A-Za-z]{48}$`)

// Authenticate resolves a raw API key to its caller. It returns api_key_missing
// for an empty key and api_key_invalid for a key that is malformed, unknown
// or revoked, without saying which.
func (s *Service) Authenticate(ctx context.Context, raw string) (*Caller, error) {
	if raw == "" {
		return nil, till.Errorf(till.EKeyMissing, "No API key provided. Send your secret key in the x-api-key header or as 'Authorization: Bearer sk_…'.")
	}
	invalid := till.Errorf(till.EKeyInvalid, "Invalid API key provided.")
	if sessionPattern.MatchString(raw) {
		return s.authenticateSession(ctx, raw, invalid)
	}
	if !keyPattern.MatchString(raw) {
		return nil, invalid
	}
	hash := hashKey(raw)
	now := s.clock.Now()
	if e, ok := s.auth.get(string(hash), now); ok {
		return &Caller{Account: e.acct, Key: e.key, Livemode: e.key.Livemode}, nil
	}
	var key *till.APIKey
	var acct *till.Account
	err := s.store.View(ctx, func(tx till.Tx) error {
		var err error
		if key, err = tx.APIKeyByHash(ctx, hash); err != nil {
			return err
		}
		acct, err = tx.Account(ctx, key.AccountID)
		return err
	})
	if isNotFound(err) {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	if key.RevokedAt != nil || subtle.ConstantTimeCompare(key.Hash, hash) != 1 {
		return nil, invalid
	}
	s.auth.put(string(hash), cachedKey{key: key, acct: acct, until: now.Add(keyCacheTTL)})
	return &Caller{Account: acct, Key: key, Livemode: key.Livemode}, nil
}

// newKey makes an API key: its stored form and the secret shown once.
func (s *Service) newKey(accountID string, livemode bool, kind till.KeyKind, now time.Time) (*till.APIKey, string) {
	prefix := till.KeyPrefix(kind, livemode)
	secret := prefix + till.RandomString(48)
	return &till.APIKey{
		ID: s.ids.NewID(till.PrefixKey), AccountID: accountID, Livemode: livemode, Kind: kind,
		Hash: hashKey(secret), Prefix: prefix, Last4: secret[len(secret)-4:], CreatedAt: now,
	}, secret
}

// The admin API's idempotency keys live in a scope of their own. Their
// stored responses hold new secret keys, so they are kept sealed.
var adminCaller = &Caller{Account: &till.Account{ID: "admin"}}

// CreateAccount makes an account established in country (default DE) with a
// secret and a publishable key for each mode, and returns the keys, which are
// shown only this once. idem may be nil.
func (s *Service) CreateAccount(ctx context.Context, idem *Idem, in NewAccountParams) (*AccountKeys, error) {
	a, keys, out, err := s.newAccount(in)
	if err != nil {
		return nil, err
	}
	err = s.idempotent(ctx, adminCaller, sealed(idem), OpAccountCreate, out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			if err := insertAccount(ctx, tx, a, keys); err != nil {
				return err
			}
			return s.remember(ctx, tx, adminCaller, idem, OpAccountCreate, out, a.ID)
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// newAccount validates a new account and makes it with its four keys.
func (s *Service) newAccount(in NewAccountParams) (*till.Account, []*till.APIKey, *AccountKeys, error) {
	var v till.Validator
	name := strings.TrimSpace(in.Name)
	if name == "" {
		v.Add("name", "name is required")
	} else if utf8.RuneCountInString(name) > 200 {
		v.Add("name", "name can be at most 200 characters")
	}
	country := "DE"
	if in.Country != "" {
		c, ok := till.NormalizeCountry(in.Country)
		if !ok {
			v.Add("country", "country must be an ISO 3166-1 alpha-2 code")
		}
		country = c
	}
	if err := v.Err(); err != nil {
		return nil, nil, nil, err
	}
	now := s.clock.Now()
	a := &till.Account{Version: 1,
		ID: s.ids.NewID(till.PrefixAccount), Name: name, LegalName: name, OriginCountry: country,
		Address: till.Address{Country: country}, InvoicePrefix: invoicePrefixFor(name),
		DefaultTaxBehavior: till.TaxExclusive, RetryPolicy: till.DefaultRetryPolicy(),
		Branding:      till.Branding{DisplayName: name, Color: "#1a56db"},
		TestProcessor: till.ProcessorSettings{Name: till.ProcessorSimulator},
		CreatedAt:     now, UpdatedAt: now,
	}
	out := &AccountKeys{AccountID: a.ID}
	keys := make([]*till.APIKey, 0, 4)
	for _, k := range []struct {
		live   bool
		kind   till.KeyKind
		secret *string
	}{
		{false, till.KeySecret, &out.TestSecretKey}, {false, till.KeyPublishable, &out.TestPublishableKey},
		{true, till.KeySecret, &out.LiveSecretKey}, {true, till.KeyPublishable, &out.LivePublishableKey},
	} {
		key, secret := s.newKey(a.ID, k.live, k.kind, now)
		*k.secret = secret
		keys = append(keys, key)
	}
	return a, keys, out, nil
}

// insertAccount stores an account and its keys.
func insertAccount(ctx context.Context, tx till.Tx, a *till.Account, keys []*till.APIKey) error {
	if err := tx.CreateAccount(ctx, a); err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// sealed marks idem's stored response as secret.
func sealed(idem *Idem) *Idem {
	if idem != nil {
		idem.sealed = true
	}
	return idem
}

// invoicePrefixFor derives a default invoice prefix from an account name:
// its first letters and digits, upper case, at most six.
func invoicePrefixFor(name string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(name) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
		if b.Len() == 6 {
			break
		}
	}
	if b.Len() == 0 {
		return "INV"
	}
	return b.String()
}

// Bootstrap creates a default test account when the store has none, and
// returns its keys; it returns nil when accounts already exist.
func (s *Service) Bootstrap(ctx context.Context) (*AccountKeys, error) {
	a, keys, out, err := s.newAccount(NewAccountParams{Name: "Till Test Merchant", Country: "DE"})
	if err != nil {
		return nil, err
	}
	created := false
	// Counting and creating in one unit of work (CountAccounts inside
	// Update holds off other account creation) makes processes starting
	// together on an empty database create one account between them.
	err = s.store.Update(ctx, func(tx till.Tx) error {
		created = false
		n, err := tx.CountAccounts(ctx)
		if err != nil || n > 0 {
			return err
		}
		created = true
		return insertAccount(ctx, tx, a, keys)
	})
	if err != nil || !created {
		return nil, err
	}
	return out, nil
}

// CreateKey adds a key to an account and returns it with its secret, shown
// only this once. idem may be nil.
func (s *Service) CreateKey(ctx context.Context, idem *Idem, accountID string, in KeyParams) (*NewKey, error) {
	var v till.Validator
	if in.Mode != "test" && in.Mode != "live" {
		v.Add("mode", "mode must be test or live")
	}
	kind := till.KeySecret
	switch in.Kind {
	case "", "secret":
	case "publishable":
		kind = till.KeyPublishable
	default:
		v.Add("kind", "kind must be secret or publishable")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	key, secret := s.newKey(accountID, in.Mode == "live", kind, s.clock.Now())
	out := NewKey{Key: key, Secret: secret}
	err := s.idempotent(ctx, adminCaller, sealed(idem), OpKeyCreate, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			if _, err := tx.Account(ctx, accountID); err != nil {
				return err
			}
			if err := tx.CreateAPIKey(ctx, key); err != nil {
				return err
			}
			return s.remember(ctx, tx, adminCaller, idem, OpKeyCreate, &out, key.ID)
		})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeKey revokes a key; revoking a revoked key is a no-op. idem may be
// nil.
func (s *Service) RevokeKey(ctx context.Context, idem *Idem, keyID string) (*till.APIKey, error) {
	var key *till.APIKey
	err := s.idempotent(ctx, adminCaller, idem, OpKeyRevoke, &key, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			var err error
			if key, err = tx.APIKey(ctx, keyID); err != nil {
				return err
			}
			if key.RevokedAt == nil {
				now := s.clock.Now()
				key.RevokedAt = &now
				if err := tx.UpdateAPIKey(ctx, key); err != nil {
					return err
				}
			}
			return s.remember(ctx, tx, adminCaller, idem, OpKeyRevoke, key, key.ID)
		})
	})
	if err != nil {
		return nil, err
	}
	if key != nil {
		s.auth.forget(key.AccountID)
	}
	return key, nil
}

// Account returns the caller's account as stored now.
func (s *Service) Account(ctx context.Context, c *Caller) (*till.Account, error) {
	var a *till.Account
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		a, err = tx.Account(ctx, c.Account.ID)
		return err
	})
	return a, err
}

var (
	prefixPattern = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,11}$`)
	colorPattern  = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
)

// UpdateAccount applies a PATCH of the account's settings. Every offending
// field is reported at once and nothing is changed then.
func (s *Service) UpdateAccount(ctx context.Context, c *Caller, idem *Idem, in AccountParams) (*till.Account, error) {
	var out *till.Account
	err := s.idempotent(ctx, c, idem, OpAccountUpdate, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			a, err := tx.Account(ctx, c.Account.ID)
			if err != nil {
				return err
			}
			from := a.Version
			if err := s.applyAccountUpdate(a, in, c.Livemode); err != nil {
				return err
			}
			a.Version++
			a.UpdatedAt = s.clock.Now()
			if err := tx.UpdateAccount(ctx, a, from); err != nil {
				return err
			}
			out = a
			return s.remember(ctx, tx, c, idem, OpAccountUpdate, a, a.ID)
		})
	})
	if err == nil {
		s.auth.forget(c.Account.ID)
	}
	return out, err
}

func (s *Service) applyAccountUpdate(a *till.Account, in AccountParams, livemode bool) error {
	var v till.Validator
	text := func(field string, p *string, max int, required bool) {
		if p == nil {
			return
		}
		*p = strings.TrimSpace(*p)
		switch {
		case required && *p == "":
			v.Add(field, "%s cannot be empty", field)
		case utf8.RuneCountInString(*p) > max:
			v.Add(field, "%s can be at most %d characters", field, max)
		case strings.ContainsFunc(*p, isControl):
			v.Add(field, "%s cannot contain control characters", field)
		}
	}
	email := func(field string, p *string) {
		if p == nil || *p == "" {
			return
		}
		if _, err := mail.ParseAddress(*p); err != nil || len(*p) > 254 {
			v.Add(field, "%s must be an email address", field)
		}
	}
	text("name", in.Name, 200, true)
	text("legalName", in.LegalName, 200, false)
	text("vatNumber", in.VATNumber, 30, false)
	text("supportEmail", in.SupportEmail, 254, false)
	text("receiptFrom", in.ReceiptFrom, 254, false)
	email("supportEmail", in.SupportEmail)
	email("receiptFrom", in.ReceiptFrom)
	if in.Name != nil {
		a.Name = *in.Name
	}
	if in.LegalName != nil {
		a.LegalName = *in.LegalName
	}
	if in.SupportEmail != nil {
		a.SupportEmail = *in.SupportEmail
	}
	if in.ReceiptFrom != nil {
		a.ReceiptFrom = *in.ReceiptFrom
	}
	if in.Address != nil {
		a.Address = validateAddress(&v, "address", in.Address)
	}
	if in.OriginCountry != nil {
		if c, ok := till.NormalizeCountry(*in.OriginCountry); ok {
			a.OriginCountry = c
		} else {
			v.Add("originCountry", "originCountry must be an ISO 3166-1 alpha-2 code")
		}
	}
	if in.VATNumber != nil {
		vat := strings.ToUpper(strings.ReplaceAll(*in.VATNumber, " ", ""))
		if vat != "" && tax.IsEU(a.OriginCountry) && !tax.ValidVATNumber(a.OriginCountry, vat) {
			v.Add("vatNumber", "vatNumber is not a well-formed VAT number of %s", a.OriginCountry)
		}
		a.VATNumber = vat
	}
	if in.InvoicePrefix != nil {
		p := strings.ToUpper(strings.TrimSpace(*in.InvoicePrefix))
		if !prefixPattern.MatchString(p) {
			v.Add("invoicePrefix", "invoicePrefix must be 1–12 letters, digits or dashes, starting with a letter or digit")
		}
		a.InvoicePrefix = p
	}
	if in.DefaultTaxBehavior != nil {
		b := till.TaxBehavior(*in.DefaultTaxBehavior)
		if !b.Valid() {
			v.Add("defaultTaxBehavior", "defaultTaxBehavior must be exclusive or inclusive")
		}
		a.DefaultTaxBehavior = b
	}
	if in.TaxRegistrations != nil {
		countries := make([]string, 0, len(in.TaxRegistrations.Countries))
		seen := map[string]bool{}
		for i, raw := range in.TaxRegistrations.Countries {
			c, ok := till.NormalizeCountry(raw)
			if !ok {
				v.Add(indexed("taxRegistrations.countries", i), "not an ISO 3166-1 alpha-2 country code: %q", raw)
				continue
			}
			if !seen[c] {
				seen[c] = true
				countries = append(countries, c)
			}
		}
		a.TaxRegistrations = till.TaxRegistrations{EUOSS: in.TaxRegistrations.EUOSS, Countries: countries}
	}
	if in.CustomTaxRates != nil {
		rates := make([]till.CustomTaxRate, 0, len(*in.CustomTaxRates))
		if len(*in.CustomTaxRates) > 200 {
			v.Add("customTaxRates", "at most 200 custom tax rates")
		}
		for i, r := range *in.CustomTaxRates {
			f := indexed("customTaxRates", i)
			c, ok := till.NormalizeCountry(r.Country)
			if !ok {
				v.Add(f+".country", "country must be an ISO 3166-1 alpha-2 code")
			}
			rate, ok := till.ParseRate(r.Rate)
			if !ok {
				v.Add(f+".rate", "rate must be a percentage between 0 and 100 with at most 4 decimals, as a string such as \"8.875\"")
			}
			name := strings.TrimSpace(r.Name)
			if name == "" || utf8.RuneCountInString(name) > 100 {
				v.Add(f+".name", "name is required (at most 100 characters)")
			}
			region := strings.ToUpper(strings.TrimSpace(r.Region))
			if utf8.RuneCountInString(region) > 50 {
				v.Add(f+".region", "region can be at most 50 characters")
			}
			rates = append(rates, till.CustomTaxRate{Country: c, Region: region, Rate: rate, Name: name})
		}
		a.CustomTaxRates = rates
	}
	if in.RetryPolicy != nil {
		if len(in.RetryPolicy.DelaysDays) > 10 {
			v.Add("retryPolicy.delaysDays", "at most 10 retries")
		}
		for i, d := range in.RetryPolicy.DelaysDays {
			if d < 1 || d > 60 {
				v.Add(indexed("retryPolicy.delaysDays", i), "each delay must be 1–60 days")
			}
		}
		delays := in.RetryPolicy.DelaysDays
		if delays == nil {
			delays = []int{}
		}
		a.RetryPolicy = till.RetryPolicy{Enabled: in.RetryPolicy.Enabled, DelaysDays: delays}
	}
	if in.Branding != nil {
		if in.Branding.Color != "" && !colorPattern.MatchString(in.Branding.Color) {
			v.Add("branding.color", "color must look like #1a56db")
		}
		dn := strings.TrimSpace(in.Branding.DisplayName)
		if utf8.RuneCountInString(dn) > 100 {
			v.Add("branding.displayName", "displayName can be at most 100 characters")
		}
		a.Branding = till.Branding{DisplayName: dn, Color: in.Branding.Color}
	}
	if in.AllowedOrigins != nil {
		a.AllowedOrigins = validateOrigins(&v, *in.AllowedOrigins)
	}
	if in.Processor != nil {
		_, connector := s.procs.connectors[in.Processor.Name]
		switch {
		case in.Processor.Name == till.ProcessorSimulator:
			if livemode {
				v.Add("processor.name", "the simulator only runs in test mode")
			} else if in.Processor.SecretKey != "" || in.Processor.WebhookSecret != "" {
				v.Add("processor.secretKey", "the simulator takes no secrets")
			} else {
				a.TestProcessor = till.ProcessorSettings{Name: till.ProcessorSimulator}
			}
		case connector:
			ps, err := s.sealProcessor(&v, a.ID, livemode, *in.Processor, a.Processor(livemode))
			if err != nil {
				return err
			}
			if livemode {
				a.LiveProcessor = ps
			} else {
				a.TestProcessor = ps
			}
		default:
			v.Add("processor.name", "processor.name must be one of %s", strings.Join(s.ProcessorNames(), ", "))
		}
	}
	return v.Err()
}

// MaxAllowedOrigins bounds an account's allowedOrigins.
const MaxAllowedOrigins = 20

// validateOrigins checks and normalizes web origins: https://host[:port],
// or http:// for localhost, 127.0.0.1 and [::1] (a developer's machine);
// no path, query, fragment or credentials. Duplicates are dropped.
func validateOrigins(v *till.Validator, in []string) []string {
	if len(in) > MaxAllowedOrigins {
		v.Add("allowedOrigins", "at most %d allowed origins", MaxAllowedOrigins)
		return nil
	}
	out := []string{}
	for i, o := range in {
		norm, ok := till.NormalizeOrigin(o)
		if !ok {
			v.Add(indexed("allowedOrigins", i), "an origin is https://host or https://host:port (http only for localhost), without a path")
			continue
		}
		if !slices.Contains(out, norm) {
			out = append(out, norm)
		}
	}
	return out
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func indexed(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

// validateAddress checks an address and returns it normalized: trimmed, the
// country upper case.
func validateAddress(v *till.Validator, field string, in *till.Address) till.Address {
	a := *in
	for _, f := range []struct {
		name string
		p    *string
		max  int
	}{{"line1", &a.Line1, 200}, {"line2", &a.Line2, 200}, {"city", &a.City, 100}, {"postalCode", &a.PostalCode, 20}, {"state", &a.State, 100}} {
		*f.p = strings.TrimSpace(*f.p)
		if utf8.RuneCountInString(*f.p) > f.max {
			v.Add(field+"."+f.name, "%s can be at most %d characters", f.name, f.max)
		} else if strings.ContainsFunc(*f.p, isControl) {
			v.Add(field+"."+f.name, "%s cannot contain control characters", f.name)
		}
	}
	if a.Country != "" {
		c, ok := till.NormalizeCountry(a.Country)
		if !ok {
			v.Add(field+".country", "country must be an ISO 3166-1 alpha-2 code")
		}
		a.Country = c
	}
	return a
}

// AdvanceClock moves a test-mode account's clock forward by seconds, so that
// scheduled work, settlement and expiry can be exercised in seconds.
func (s *Service) AdvanceClock(ctx context.Context, c *Caller, idem *Idem, seconds int64) (*Clock, error) {
	if c.Livemode {
		return nil, till.Errorf(till.ELiveForbidden, "The clock can only be moved in test mode.")
	}
	if seconds <= 0 || seconds > 366*24*3600 {
		return nil, till.ParamError(till.EValidation, "seconds", "seconds must be between 1 and 31622400 (one year)")
	}
	var out *Clock
	d := time.Duration(seconds) * time.Second
	err := s.idempotent(ctx, c, idem, OpClockAdvance, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			a, err := tx.Account(ctx, c.Account.ID)
			if err != nil {
				return err
			}
			from := a.Version
			a.TestClockOffset += d
			a.Version++
			a.UpdatedAt = s.clock.Now()
			if err := tx.UpdateAccount(ctx, a, from); err != nil {
				return err
			}
			if err := tx.ShiftTasks(ctx, c.Scope(), d); err != nil {
				return err
			}
			out = &Clock{Now: s.now(a, false), Offset: a.TestClockOffset}
			return s.remember(ctx, tx, c, idem, OpClockAdvance, out, "")
		})
	})
	if err == nil {
		s.auth.forget(c.Account.ID)
	}
	return out, err
}
