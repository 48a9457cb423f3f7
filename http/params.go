package http

import (
	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/service"
)

// The native API's table from its wire bodies to the service's commands.
// Its wire names are the service's domain field paths (lower camel case), so
// the service's validation errors need no renaming here; a dialect renames
// them with till.RenameFields.

func chargeParams(in api.ChargeRequest) service.ChargeParams {
	p := service.ChargeParams{CustomerID: in.CustomerID, Amount: in.Amount, Currency: in.Currency,
		Description: in.Description, Metadata: in.Metadata, PaymentMethodID: in.PaymentMethodID,
		TaxBehavior: in.TaxBehavior, TaxCountry: in.TaxCountry, Capture: in.Capture, ScheduledAt: in.ScheduledAt,
		ReceiptEmail: in.ReceiptEmail, SendReceipt: in.SendReceipt}
	for _, l := range in.LineItems {
		p.LineItems = append(p.LineItems, service.LineItemParams{Description: l.Description, Quantity: l.Quantity,
			UnitAmount: l.UnitAmount, TaxCode: l.TaxCode})
	}
	return p
}

func linkParams(in api.PaymentLinkRequest) service.PaymentLinkParams {
	p := service.PaymentLinkParams{Amount: in.Amount, Currency: in.Currency, Description: in.Description,
		CustomerID: in.CustomerID, ExpiresAt: in.ExpiresAt, SuccessURL: in.SuccessURL, Metadata: in.Metadata,
		TaxBehavior: in.TaxBehavior}
	for _, l := range in.LineItems {
		p.LineItems = append(p.LineItems, service.LineItemParams{Description: l.Description, Quantity: l.Quantity,
			UnitAmount: l.UnitAmount, TaxCode: l.TaxCode})
	}
	return p
}

func paymentUpdateParams(in api.PaymentUpdate) service.PaymentUpdateParams {
	out := service.PaymentUpdateParams{Metadata: in.Metadata, ScheduledAt: in.ScheduledAt,
		PaymentMethodID: in.PaymentMethodID, Active: in.Active}
	if in.BillingAddress != nil {
		a := in.BillingAddress.Domain()
		out.BillingAddress = &a
	}
	return out
}

func captureParams(in api.CaptureRequest) service.CaptureParams {
	return service.CaptureParams{Amount: in.Amount}
}

func refundParams(in api.RefundRequest) service.RefundParams {
	return service.RefundParams{Amount: in.Amount, Reason: in.Reason}
}

func customerParams(in api.CustomerCreate) service.CustomerParams {
	return service.CustomerParams{Email: in.Email, Name: in.Name, Phone: in.Phone, Address: in.Address.Domain(),
		TaxIDs: in.TaxIDs, Locale: in.Locale, Metadata: in.Metadata, ExternalID: in.ExternalID, TaxDocument: in.TaxDocument, Timezone: in.Timezone}
}

func customerUpdateParams(in api.CustomerUpdate) service.CustomerUpdateParams {
	return service.CustomerUpdateParams{Email: in.Email, Name: in.Name, Phone: in.Phone, Address: addressp(in.Address),
		TaxIDs: in.TaxIDs, Locale: in.Locale, Metadata: in.Metadata, DefaultPaymentMethodID: in.DefaultPaymentMethodID,
		ExternalID: in.ExternalID, TaxDocument: in.TaxDocument, Timezone: in.Timezone}
}

func addressp(a *api.Address) *till.Address {
	if a == nil {
		return nil
	}
	d := a.Domain()
	return &d
}

func cardp(c *api.CardInput) *till.Card {
	if c == nil {
		return nil
	}
	d := c.Domain()
	return &d
}

func paymentMethodParams(in api.PaymentMethodCreate) service.PaymentMethodParams {
	return service.PaymentMethodParams{Card: cardp(in.Card), Token: in.Token, Provider: in.Provider,
		ProviderRef: in.ProviderRef, SetDefault: in.SetDefault}
}

func tokenParams(in api.TokenCreate) service.TokenParams {
	return service.TokenParams{Card: cardp(in.Card)}
}

func accountParams(in api.AccountUpdate) service.AccountParams {
	p := service.AccountParams{Name: in.Name, LegalName: in.LegalName, Address: addressp(in.Address),
		OriginCountry: in.OriginCountry, VATNumber: in.VATNumber, SupportEmail: in.SupportEmail,
		ReceiptFrom: in.ReceiptFrom, InvoicePrefix: in.InvoicePrefix, DefaultTaxBehavior: in.DefaultTaxBehavior,
		RetryPolicy: in.RetryPolicy, Branding: in.Branding, AllowedOrigins: in.AllowedOrigins}
	if r := in.TaxRegistrations; r != nil {
		p.TaxRegistrations = &service.TaxRegistrationParams{EUOSS: r.EUOSS, Countries: r.Countries}
	}
	if in.CustomTaxRates != nil {
		rates := make([]service.CustomTaxRateParams, len(*in.CustomTaxRates))
		for i, r := range *in.CustomTaxRates {
			rates[i] = service.CustomTaxRateParams{Country: r.Country, Region: r.Region, Rate: r.Rate, Name: r.Name}
		}
		p.CustomTaxRates = &rates
	}
	if pr := in.Processor; pr != nil {
		p.Processor = &service.ProcessorParams{Name: pr.Name, SecretKey: pr.SecretKey, WebhookSecret: pr.WebhookSecret}
	}
	return p
}

func newAccountParams(in api.NewAccount) service.NewAccountParams {
	return service.NewAccountParams{Name: in.Name, Country: in.Country}
}

func keyParams(in api.NewKey) service.KeyParams {
	return service.KeyParams{Mode: in.Mode, Kind: in.Kind}
}
