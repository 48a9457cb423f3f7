package service

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/tillpay/till"
)

// Connector makes the processor of an account from its secret key at the
// processor (Stripe's sk_…). A connector's processor keeps no state of its
// own beyond its HTTP client, so one is made per key and kept.
type Connector func(secretKey string) till.Processor

// processors holds the connectors by name and the processors made from
// them: one per account and mode, made from the sealed key it holds (a
// key rolled or a processor changed replaces it).
type processors struct {
	connectors map[string]Connector
	mu         sync.Mutex
	made       map[string]madeProcessor
}

// madeProcessor is a processor and the settings it was made from.
type madeProcessor struct {
	from string
	p    till.Processor
}

// proc returns the processor account a uses in a mode: a connector's
// (Stripe), made from the account's sealed secret key, or the one the
// factory gives (the simulator).
func (s *Service) proc(ctx context.Context, a *till.Account, livemode bool) (till.Processor, error) {
	ps := a.Processor(livemode)
	conn, ok := s.procs.connectors[ps.Name]
	if !ok || ps.Name == till.ProcessorSimulator {
		return s.factory(ctx, a, livemode)
	}
	if ps.SealedSecretKey == nil {
		return nil, till.Errorf(till.EConflict, "The account's %s processor has no secret key; set processor.secretKey with PATCH /v1/account.", ps.Name)
	}
	slot := a.ID + "\x00" + modeName(livemode)
	from := ps.Name + "\x00" + ps.DataKeyID + "\x00" + string(ps.SealedSecretKey)
	s.procs.mu.Lock()
	m, ok := s.procs.made[slot]
	s.procs.mu.Unlock()
	if ok && m.from == from {
		return m.p, nil
	}
	key, err := s.open(ctx, ps.SealedSecretKey, ps.DataKeyID, processorAAD(a.ID, livemode, "secretKey"))
	if err != nil {
		return nil, err
	}
	p := conn(string(key))
	clear(key)
	s.procs.mu.Lock()
	if s.procs.made == nil {
		s.procs.made = map[string]madeProcessor{}
	}
	s.procs.made[slot] = madeProcessor{from: from, p: p}
	s.procs.mu.Unlock()
	return p, nil
}

// processorAAD binds a sealed processor secret to its account, mode and
// field.
func processorAAD(accountID string, livemode bool, field string) []byte {
	mode := "test"
	if livemode {
		mode = "live"
	}
	return []byte("till processor\x00" + accountID + "\x00" + mode + "\x00" + field)
}

// stripeKeyPrefixes are the secret keys a Stripe processor takes in each
// mode: a secret or a restricted key of that mode.
var stripeKeyPrefixes = map[bool][]string{false: {"sk_test_", "rk_test_"}, true: {"sk_live_", "rk_live_"}}

// sealProcessor validates processor settings for a connector and returns
// them with the secret key and the webhook signing secret sealed, each
// under the data key current when it was set. A secret left out keeps the
// one set before for the same processor; a new processor needs its key.
func (s *Service) sealProcessor(v *till.Validator, accountID string, livemode bool, in ProcessorParams, cur till.ProcessorSettings) (till.ProcessorSettings, error) {
	key := strings.TrimSpace(in.SecretKey)
	hook := strings.TrimSpace(in.WebhookSecret)
	mode := "test"
	if livemode {
		mode = "live"
	}
	same := cur.Name == in.Name
	keepKey := key == "" && same && cur.SealedSecretKey != nil
	switch {
	case keepKey:
	case key == "":
		v.Add("processor.secretKey", "processor.secretKey is required: the account's Stripe secret key of %s mode (%s…)", mode, stripeKeyPrefixes[livemode][0])
	case !hasAnyPrefix(key, stripeKeyPrefixes[livemode]) || !secretShape(key):
		v.Add("processor.secretKey", "processor.secretKey must be a Stripe secret or restricted key of %s mode (%s… or %s…)", mode,
			stripeKeyPrefixes[livemode][0], stripeKeyPrefixes[livemode][1])
	}
	if hook != "" && (!strings.HasPrefix(hook, "whsec_") || !secretShape(hook)) {
		v.Add("processor.webhookSecret", "processor.webhookSecret must be the signing secret of the Stripe webhook endpoint that sends to Till (whsec_…)")
	}
	if v.Err() != nil || keepKey && hook == "" {
		return cur, nil
	}
	if s.keys == nil {
		return cur, till.Errorf(till.EUnavailable, "This server has no keyring to keep processor secrets.")
	}
	out := till.ProcessorSettings{Name: in.Name}
	if same {
		out = cur
	}
	if !keepKey {
		sealed, dk, err := s.keys.Seal([]byte(key), processorAAD(accountID, livemode, "secretKey"))
		if err != nil {
			return cur, err
		}
		out.SecretKeyLast4, out.SealedSecretKey, out.DataKeyID = key[len(key)-4:], sealed, dk
	}
	if hook != "" {
		sealed, dk, err := s.keys.Seal([]byte(hook), processorAAD(accountID, livemode, "webhookSecret"))
		if err != nil {
			return cur, err
		}
		out.WebhookSecretLast4, out.SealedWebhookSecret, out.WebhookDataKeyID = hook[len(hook)-4:], sealed, dk
	}
	return out, nil
}

// secretShape reports whether a processor secret has a plausible length
// and no white space.
func secretShape(v string) bool {
	return len(v) >= 16 && len(v) <= 255 && !strings.ContainsAny(v, " \t\r\n")
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// ProcessorNames lists the processors an account can choose, sorted:
// the simulator (test mode) and the connectors.
func (s *Service) ProcessorNames() []string {
	names := []string{till.ProcessorSimulator}
	for n := range s.procs.connectors {
		if n != till.ProcessorSimulator {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}
