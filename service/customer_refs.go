package service

import (
	"strings"
	"time"
	_ "time/tzdata" // customers' time zones are checked the same on every host
	"unicode/utf8"

	"github.com/tillpay/till"
)

// maxCustomerRefLen bounds a customer's externalId and taxDocument.
const maxCustomerRefLen = 255

// validateCustomerRefs checks the merchant's own references to a customer
// (externalId, taxDocument) and its time zone, and applies them to c. Nil
// pointers are left alone; an empty string clears the field. A time zone
// must be an IANA name known to Go's embedded database.
func validateCustomerRefs(v *till.Validator, c *till.Customer, externalID, taxDocument, timezone *string) {
	ref := func(field string, p *string, dst *string) {
		if p == nil {
			return
		}
		s := strings.TrimSpace(*p)
		switch {
		case utf8.RuneCountInString(s) > maxCustomerRefLen:
			v.Add(field, "%s can be at most %d characters", field, maxCustomerRefLen)
		case strings.ContainsFunc(s, isControl):
			v.Add(field, "%s cannot contain control characters", field)
		}
		*dst = s
	}
	ref("externalId", externalID, &c.ExternalID)
	ref("taxDocument", taxDocument, &c.TaxDocument)
	if timezone != nil {
		tz := strings.TrimSpace(*timezone)
		if tz != "" {
			if _, err := time.LoadLocation(tz); err != nil || tz == "Local" || !strings.Contains(tz, "/") && tz != "UTC" {
				v.Add("timezone", "timezone must be an IANA time zone such as Europe/Berlin or UTC")
			}
		}
		c.Timezone = tz
	}
}
