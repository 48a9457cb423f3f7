package service

import (
	"context"
	"errors"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/receipt"
)

// taskReceipt sends one receipt (Ref: the payment or refund id).
const taskReceipt = "receipt.send"

// maxReceiptTries bounds how often a receipt is tried before it is marked
// failed; with the task backoff (1 s doubling to an hour) that is about four
// hours.
const maxReceiptTries = 14

// defaultReceiptFrom is the sender of receipts of an account that set
// neither receiptFrom nor supportEmail.
const defaultReceiptFrom = "receipts@till.localhost"

// receiptTo returns where a payment's receipt goes: receiptEmail, else the
// customer's email; "" when there is nowhere to send it or sendReceipt is
// false.
func receiptTo(ctx context.Context, tx till.Tx, p *till.Payment, cust *till.Customer) (string, error) {
	if !p.SendReceipt {
		return "", nil
	}
	if p.ReceiptEmail != "" {
		return p.ReceiptEmail, nil
	}
	if cust == nil {
		var err error
		if cust, err = tx.Customer(ctx, scopeOf(p), p.CustomerID); err != nil {
			return "", err
		}
	}
	return cust.Email, nil
}

// queueReceipt records a pending receipt and the task that sends it, in the
// unit of work of the payment or refund it is for (the outbox).
func (s *Service) queueReceipt(ctx context.Context, tx till.Tx, p *till.Payment, ref, kind string, to string, now time.Time) (*till.Receipt, error) {
	if to == "" {
		return nil, nil
	}
	real := s.clock.Now()
	err := tx.CreateTask(ctx, &till.Task{ID: s.ids.NewID(till.PrefixTask), Kind: taskReceipt, AccountID: p.AccountID,
		Livemode: p.Livemode, Ref: ref, Ref2: kind, RunAt: real, CreatedAt: real})
	if err != nil {
		return nil, err
	}
	return &till.Receipt{Email: to, Status: till.ReceiptPending}, nil
}

func (s *Service) queuePaymentReceipt(ctx context.Context, tx till.Tx, p *till.Payment, cust *till.Customer, now time.Time) error {
	to, err := receiptTo(ctx, tx, p, cust)
	if err != nil {
		return err
	}
	p.Receipt, err = s.queueReceipt(ctx, tx, p, p.ID, "payment", to, now)
	return err
}

func (s *Service) queueRefundReceipt(ctx context.Context, tx till.Tx, p *till.Payment, r *till.Refund, now time.Time) error {
	to, err := receiptTo(ctx, tx, p, nil)
	if err != nil {
		return err
	}
	r.Receipt, err = s.queueReceipt(ctx, tx, p, r.ID, "refund", to, now)
	return err
}

// sendReceipt is the outbox worker of receipts: it renders the document,
// composes the message and hands it to the mailer, then records the receipt
// as sent in one unit of work with its event. A failed send is retried with
// backoff; after maxReceiptTries the receipt is marked failed. A worker that
// dies after the mailer accepted the message but before recording it sends
// it again when its lease runs out: the Message-ID is the same, so the
// duplicate is recognisable.
func (s *Service) sendReceipt(ctx context.Context, t *till.Task) error {
	scope := till.Scope{AccountID: t.AccountID, Livemode: t.Livemode}
	var a *till.Account
	var p *till.Payment
	var r *till.Refund
	var doc *till.Document
	err := s.store.View(ctx, func(tx till.Tx) error {
		var err error
		if a, err = tx.Account(ctx, scope.AccountID); err != nil {
			return err
		}
		paymentID, docID := t.Ref, ""
		if t.Ref2 == "refund" {
			if r, err = tx.Refund(ctx, scope, t.Ref); err != nil {
				return err
			}
			paymentID, docID = r.PaymentID, r.CreditNoteID
		}
		if p, err = tx.Payment(ctx, scope, paymentID); err != nil {
			return err
		}
		if r == nil {
			docID = p.InvoiceID
		}
		doc, err = tx.Document(ctx, scope, docID)
		return err
	})
	if err != nil {
		return err
	}
	rec := p.Receipt
	if r != nil {
		rec = r.Receipt
	}
	if rec == nil || rec.Status != till.ReceiptPending {
		return s.store.Update(ctx, func(tx till.Tx) error { return tx.DeleteTask(ctx, t.ID, "") })
	}
	m, err := s.composeReceipt(a, p, r, doc, rec.Email)
	if err != nil {
		return err
	}
	if mb, ok := s.mailer.(*Mailbox); ok {
		// The local mailbox is the store itself: keeping the message and
		// marking the receipt sent commit together.
		return s.markReceipt(ctx, scope, t, till.ReceiptSent, mb.stored(m))
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	sendErr := s.mailer.Send(cctx, m)
	cancel()
	if sendErr != nil && t.Attempts+1 < maxReceiptTries && !permanent(sendErr) {
		return sendErr
	}
	status := till.ReceiptSent
	if sendErr != nil {
		status = till.ReceiptFailed
		s.log.Error("receipt failed for good", "payment", p.ID, "refund", t.Ref2 == "refund", "err", sendErr)
	}
	return s.markReceipt(ctx, scope, t, status, nil)
}

// permanent reports whether a mailer error says retrying cannot help (an
// SMTP 5xx reply, a malformed address): such an error marks the receipt
// failed at once.
func permanent(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && !t.Temporary()
}

// composeReceipt renders the document and composes one receipt.
func (s *Service) composeReceipt(a *till.Account, p *till.Payment, r *till.Refund, doc *till.Document, to string) (*till.Email, error) {
	if s.renderer == nil {
		return nil, errors.New("service: no PDF renderer configured")
	}
	pdf, err := s.renderer.PDF(doc)
	if err != nil {
		return nil, err
	}
	sender := *a
	if sender.ReceiptFrom == "" && sender.SupportEmail == "" {
		sender.ReceiptFrom = defaultReceiptFrom
	}
	now := s.now(a, p.Livemode)
	var m *till.Email
	if r != nil {
		m, err = receipt.Refund(&sender, p, r, doc, pdf, to, now)
	} else {
		m, err = receipt.Payment(&sender, p, doc, pdf, to, now)
	}
	if err != nil {
		return nil, err
	}
	m.ID, m.AccountID, m.Livemode, m.PaymentID, m.CreatedAt = s.ids.NewID(till.PrefixEmail), a.ID, p.Livemode, p.ID, now
	if r != nil {
		m.RefundID = r.ID
	}
	return m, nil
}

// markReceipt records a receipt's final status with its event and removes
// the task, in one unit of work; kept, if not nil, is stored in the local
// mailbox in the same unit.
func (s *Service) markReceipt(ctx context.Context, scope till.Scope, t *till.Task, status till.ReceiptStatus, kept *till.Email) error {
	return s.store.Update(ctx, func(tx till.Tx) error {
		if kept != nil {
			if err := tx.CreateEmail(ctx, kept); err != nil {
				return err
			}
		}
		a, err := tx.Account(ctx, scope.AccountID)
		if err != nil {
			return err
		}
		now := s.now(a, scope.Livemode)
		// A receipt another worker recorded meanwhile is left as it is: its
		// event was written once, by that worker.
		if t.Ref2 == "refund" {
			r, err := tx.Refund(ctx, scope, t.Ref)
			if err != nil {
				return err
			}
			if r.Receipt != nil && r.Receipt.Status == till.ReceiptPending {
				from := r.Version
				if err := s.moveReceipt(ctx, tx, scope, r, status, now); err != nil {
					return err
				}
				if err := tx.UpdateRefund(ctx, r, from); err != nil {
					return err
				}
			}
		} else {
			p, err := tx.Payment(ctx, scope, t.Ref)
			if err != nil {
				return err
			}
			if p.Receipt != nil && p.Receipt.Status == till.ReceiptPending {
				from := p.Version
				if err := s.moveReceipt(ctx, tx, scope, p, status, now); err != nil {
					return err
				}
				if err := tx.UpdatePayment(ctx, p, from); err != nil {
					return err
				}
			}
		}
		return tx.DeleteTask(ctx, t.ID, "")
	})
}

// Mailbox is the mailer of a server without SMTP: it keeps every message in
// the store, readable in test mode at GET /v1/test/emails. Attachments are
// kept by name, type and size; their bytes (the PDF, which GET
// /v1/invoices/{id}/pdf serves) are not stored twice.
type Mailbox struct {
	store till.Store
	ids   till.IDSource
}

// Send stores m.
func (mb *Mailbox) Send(ctx context.Context, m *till.Email) error {
	stored := mb.stored(m)
	return mb.store.Update(ctx, func(tx till.Tx) error { return tx.CreateEmail(ctx, stored) })
}

// stored is the copy of m the mailbox keeps: attachments by name, type and
// size only.
func (mb *Mailbox) stored(m *till.Email) *till.Email {
	kept := *m
	if kept.ID == "" {
		kept.ID = mb.ids.NewID(till.PrefixEmail)
	}
	kept.Attachments = make([]till.Attachment, len(m.Attachments))
	for i, a := range m.Attachments {
		kept.Attachments[i] = till.Attachment{Name: a.Name, ContentType: a.ContentType, Size: len(a.Data)}
	}
	return &kept
}

// Emails lists the local mailbox of the caller (test mode only).
func (s *Service) Emails(ctx context.Context, c *Caller, f till.EmailFilter) ([]*till.Email, bool, error) {
	if c.Livemode {
		return nil, false, till.Errorf(till.ELiveForbidden, "The local mailbox is readable in test mode only.")
	}
	var out []*till.Email
	var more bool
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		out, more, err = tx.ListEmails(ctx, c.Scope(), f)
		return err
	})
	return out, more, err
}
