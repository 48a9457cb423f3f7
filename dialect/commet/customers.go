package commet

import (
	"encoding/json"
	"net/http"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// customerCreate is the body of POST /customers. ID and AddressID are
// Commet fields Till cannot honour (ids are Till's own; addresses are not
// stored apart): present, they are refused, never ignored.
type customerCreate struct {
	ID          json.RawMessage `json:"id"`
	ExternalID  *string         `json:"externalId"`
	FullName    *string         `json:"fullName"`
	TaxDocument *string         `json:"taxDocument"`
	Address     *Address        `json:"address"`
	AddressID   json.RawMessage `json:"addressId"`
	Email       *string         `json:"email"`
	Timezone    *string         `json:"timezone"`
	Metadata    Metadata        `json:"metadata"`
}

// customerUpdate is the body of PUT /customers/{id}: the fields sent are
// changed, the others kept.
type customerUpdate struct {
	Email       *string  `json:"email"`
	FullName    *string  `json:"fullName"`
	TaxDocument *string  `json:"taxDocument"`
	ExternalID  *string  `json:"externalId"`
	Timezone    *string  `json:"timezone"`
	Metadata    Metadata `json:"metadata"`
	Address     *Address `json:"address"`
}

// address checks the fields Commet requires of an address and returns it
// as Till's.
func address(v *till.Validator, a *Address) *till.Address {
	if a == nil {
		return nil
	}
	for _, f := range []struct{ name, val string }{{"line1", a.Line1}, {"city", a.City}, {"postalCode", a.PostalCode}, {"country", a.Country}} {
		if f.val == "" {
			v.Add("address."+f.name, "address.%s is required", f.name)
		}
	}
	if a.Region != nil {
		v.Add("address.region", "address.region is not supported; put the region in address.state")
	}
	return &till.Address{Line1: a.Line1, Line2: a.Line2, City: a.City, State: a.State, PostalCode: a.PostalCode, Country: a.Country}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) createCustomer(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *service.Idem, in customerCreate) (any, error) {
		var v till.Validator
		if in.ID != nil {
			v.Add("id", "id cannot be chosen: Till assigns customer ids (cus_…); put your own id in externalId")
		}
		if in.AddressID != nil {
			v.Add("addressId", "addressId is not supported; send the address itself in address")
		}
		if in.Email == nil || *in.Email == "" {
			v.Add("email", "email is required")
		}
		p := service.CustomerParams{Email: deref(in.Email), Name: deref(in.FullName), ExternalID: deref(in.ExternalID),
			TaxDocument: deref(in.TaxDocument), Timezone: deref(in.Timezone), Metadata: in.Metadata.params(&v)}
		if a := address(&v, in.Address); a != nil {
			p.Address = *a
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		cust, err := s.svc.CreateCustomer(r.Context(), c, idem, p)
		if err != nil {
			return nil, err
		}
		return customerOf(cust), nil
	})
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) {
	cust, err := s.svc.Customer(r.Context(), callerOf(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, customerOf(cust))
}

func (s *Server) updateCustomer(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *service.Idem, in customerUpdate) (any, error) {
		var v till.Validator
		if in.Email != nil && *in.Email == "" {
			v.Add("email", "email cannot be empty")
		}
		p := service.CustomerUpdateParams{Email: in.Email, Name: in.FullName, TaxDocument: in.TaxDocument,
			ExternalID: in.ExternalID, Timezone: in.Timezone, Metadata: in.Metadata.params(&v), Address: address(&v, in.Address)}
		if err := v.Err(); err != nil {
			return nil, err
		}
		cust, err := s.svc.UpdateCustomer(r.Context(), c, idem, r.PathValue("id"), p)
		if err != nil {
			return nil, err
		}
		return customerOf(cust), nil
	})
}

func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request) {
	q := middleware.NewQuery(r, "externalId", "limit", "cursor")
	f := till.CustomerFilter{Page: q.Page("cursor"), ExternalID: q.Str("externalId")}
	if err := q.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	items, more, err := s.svc.ListCustomers(r.Context(), callerOf(r), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]Customer, len(items))
	for i, c := range items {
		out[i] = customerOf(c)
	}
	s.list(w, out, more, lastID(len(items), func(i int) string { return items[i].ID }))
}

func lastID(n int, id func(int) string) string {
	if n == 0 {
		return ""
	}
	return id(n - 1)
}
