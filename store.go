package till

import (
	"context"
	"errors"
	"time"
)

// Store is Till's durable state. All access goes through units of work: View
// runs fn against a consistent snapshot; Update runs fn in one read-write
// transaction that commits entirely or not at all.
//
// An adapter may run several concurrent Update functions inside one database
// transaction (group commit), each under its own savepoint, and may run a
// function again when the database asks for a retry. A function passed to
// Update must therefore touch nothing outside the Tx it is given (no network
// calls, no shared in-memory state) and return quickly; side effects belong
// after Update returns or in the outbox.
//
// Objects are stored as JSON documents under the keys their json tags name
// (storage_test.go lists the document types): a tag is a stored name, and
// changing it loses what was stored under the old one.
type Store interface {
	View(ctx context.Context, fn func(tx Tx) error) error
	Update(ctx context.Context, fn func(tx Tx) error) error
	Close() error
}

// ErrDuplicate is returned (wrapped) by a Create method when the object's
// unique key is taken.
var ErrDuplicate = errors.New("till: duplicate key")

// ErrStale is returned (wrapped) by an Update method whose object changed
// since it was read. Store.Update runs the function again when it returns an
// error wrapping ErrStale, a bounded number of times, and then gives up with
// Contended.
var ErrStale = errors.New("till: object changed concurrently")

// Contended is what Store.Update returns when a unit of work kept losing to
// concurrent changes of the same objects: a state_conflict the caller may
// simply retry.
func Contended(err error) error {
	return &Error{Code: EConflict, Message: "The object was changed by concurrent requests; retry the request.", Err: err}
}

// Scope is the tenant of an object: one account in one mode. Every read of a
// merchant's object is scoped; an object of another scope is not found.
type Scope struct {
	AccountID string
	Livemode  bool
}

// Page asks for one page of a newest-first list.
type Page struct {
	Limit         int    // 1–100
	StartingAfter string // id of the last object of the previous page
}

// CustomerFilter narrows a customer list.
type CustomerFilter struct {
	Page
	Email string
	// ExternalID, when set, keeps the customers with that ExternalID.
	ExternalID  string
	CreatedFrom *time.Time
	CreatedTo   *time.Time
}

// PaymentFilter narrows a payment list.
type PaymentFilter struct {
	Page
	CustomerID  string
	Status      Status
	Kind        PaymentKind
	CreatedFrom *time.Time
	CreatedTo   *time.Time
}

// DocumentFilter narrows a list of invoices or credit notes.
type DocumentFilter struct {
	Page
	Kind        DocumentKind
	CustomerID  string
	PaymentID   string
	CreatedFrom *time.Time
	CreatedTo   *time.Time
}

// LedgerFilter narrows a list of journal entries.
type LedgerFilter struct {
	Page
	PaymentID string
}

// EventFilter narrows a list of events.
type EventFilter struct {
	Page
	Type        string
	ObjectID    string
	CreatedFrom *time.Time
	CreatedTo   *time.Time
}

// EventCursor is where a reader of a scope's events stands when it reads
// them oldest first, page after page (the test-mode poll behind till
// listen): EventTx.EventsAfter takes one and returns the next. Its fields
// are the store's bookkeeping, in positions of its own (the order in which
// events were written); the service keeps a cursor for its reader between
// calls and passes it back unchanged. The zero value reads from the first
// event.
//
// A store whose writers can commit events out of the order it wrote them in
// (PostgreSQL, with several transactions at once) cannot move After past a
// position while a transaction that may still commit an event at or below it
// is open: until then the reader keeps the positions above After it has
// been given in Read, and a Horizon with the Writers it waits for.
type EventCursor struct {
	// After is a position at or below which the reader has been given every
	// event it asked for that has committed or ever will.
	After int64
	// Read lists the positions above After of the events already given,
	// ascending; at most MaxEventCursorRead.
	Read []int64
	// Horizon, when nonzero, is a position above After at or below which no
	// further event can commit once the transactions named by Writers (in
	// the store's own terms) have ended; Settled records that a reader saw
	// them ended, so that a later read may move After up to Horizon.
	Horizon int64
	Writers []string
	Settled bool
}

// MaxEventCursorRead bounds EventCursor.Read. A reader holding that many
// positions is given no more events until the store can move After past
// them: only a transaction that writes an event and stays open for that
// many events of the reader's scope holds it up.
const MaxEventCursorRead = 1000

// EmailFilter narrows a list of the local mailbox's emails.
type EmailFilter struct {
	Page
	To        string
	PaymentID string
}

// ClaimRequest asks for up to Limit due tasks of the given kinds (all kinds
// when empty), leased to Owner until Now+Lease. With Ref set it claims the
// tasks about that object whether or not they are due (a request taking over
// work it is waiting for).
type ClaimRequest struct {
	Kinds []string
	Ref   string
	Now   time.Time
	Limit int
	Owner string
	Lease time.Duration
}

// ProcessorRecord is a processor's own durable record of one operation, kept
// by the simulator the way an external processor would keep it: apart from
// Till's payments, keyed by the idempotent reference.
type ProcessorRecord struct {
	Reference   string           `json:"Reference"`
	Kind        AttemptKind      `json:"Kind"`
	AccountID   string           `json:"AccountID"`
	Livemode    bool             `json:"Livemode"`
	ParentRef   string           `json:"ParentRef"` // the charge a capture, release or refund belongs to
	ProviderRef string           `json:"ProviderRef"`
	Amount      int64            `json:"Amount"`
	Currency    string           `json:"Currency"`
	Outcome     ProcessorOutcome `json:"Outcome"`
	DeclineCode string           `json:"DeclineCode"`
	Message     string           `json:"Message"`
	Last4       string           `json:"Last4"`
	Fingerprint string           `json:"Fingerprint"`
	// SettleAt is when a pending operation settles; FinalOutcome and
	// FinalDecline are what it settles to.
	SettleAt     *time.Time       `json:"SettleAt"`
	FinalOutcome ProcessorOutcome `json:"FinalOutcome"`
	FinalDecline string           `json:"FinalDecline"`
	// DisputeAt is when a chargeback arrives for this charge.
	DisputeAt *time.Time `json:"DisputeAt"`
	CreatedAt time.Time  `json:"CreatedAt"`
}

// Tx is one unit of work on the Store: every aggregate's methods, grouped in
// the interfaces it embeds. Methods that fetch one object return an error
// with code resource_missing when it does not exist in the scope.
type Tx interface {
	AccountTx
	DataKeyTx
	CustomerTx
	PaymentTx
	IdempotencyTx
	EventTx
	TaskTx
	DocumentTx
	RefundTx
	LedgerTx
	MailboxTx
	WebhookTx
	CatalogTx
	OrderTx
}

// AccountTx reads and writes merchant accounts and their API keys. Accounts
// are not scoped: an account is its own tenant.
type AccountTx interface {
	CreateAccount(ctx context.Context, a *Account) error
	Account(ctx context.Context, id string) (*Account, error)
	// UpdateAccount stores a if its stored Version is fromVersion, and
	// returns an error wrapping ErrStale otherwise.
	UpdateAccount(ctx context.Context, a *Account, fromVersion int64) error
	// CountAccounts counts accounts; inside Update it also keeps other units
	// of work from creating accounts until this one ends (first-start
	// bootstrap).
	CountAccounts(ctx context.Context) (int, error)
	// ListAccounts returns every account, oldest first.
	ListAccounts(ctx context.Context) ([]*Account, error)
	// CreateAPIKey returns an error wrapping ErrDuplicate when the key's id
	// or hash is taken.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	APIKey(ctx context.Context, id string) (*APIKey, error)
	APIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// UpdateAPIKey stores the key's revocation time.
	UpdateAPIKey(ctx context.Context, k *APIKey) error
	// CreateCustomerSession returns an error wrapping ErrDuplicate when the
	// session's id or hash is taken.
	CreateCustomerSession(ctx context.Context, cs *CustomerSession) error
	// CustomerSession returns a session of scope s by id.
	CustomerSession(ctx context.Context, s Scope, id string) (*CustomerSession, error)
	// CustomerSessionByHash returns the session whose token hashes to
	// hash, in any account.
	CustomerSessionByHash(ctx context.Context, hash []byte) (*CustomerSession, error)
	// UpdateCustomerSession stores the session's revocation time.
	UpdateCustomerSession(ctx context.Context, cs *CustomerSession) error
}

// DataKeyTx reads and writes the vault's wrapped data-encryption keys, which
// belong to the installation, not to an account.
type DataKeyTx interface {
	CreateDataKey(ctx context.Context, k *DataKey) error
	// DataKeys returns every data key, oldest first; inside Update it also
	// keeps other units of work from creating data keys until this one ends
	// (processes starting together on an empty store).
	DataKeys(ctx context.Context) ([]*DataKey, error)
	// UpdateDataKey stores the key's master key, wrapping and active flag
	// (a re-wrap under a new master key, a rotation).
	UpdateDataKey(ctx context.Context, k *DataKey) error
}

// CustomerTx reads and writes customers and the payment methods saved on
// them.
type CustomerTx interface {
	CreateCustomer(ctx context.Context, c *Customer) error
	Customer(ctx context.Context, s Scope, id string) (*Customer, error)
	// UpdateCustomer stores c if its stored Version is fromVersion, and
	// returns an error wrapping ErrStale otherwise.
	UpdateCustomer(ctx context.Context, c *Customer, fromVersion int64) error
	// ListCustomers returns a page of the scope's customers that are not
	// deleted, newest first, and whether there are more.
	ListCustomers(ctx context.Context, s Scope, f CustomerFilter) ([]*Customer, bool, error)
	CreatePaymentMethod(ctx context.Context, pm *PaymentMethod) error
	PaymentMethod(ctx context.Context, s Scope, id string) (*PaymentMethod, error)
	// UpdatePaymentMethod stores pm if its stored Version is fromVersion,
	// and returns an error wrapping ErrStale otherwise.
	UpdatePaymentMethod(ctx context.Context, pm *PaymentMethod, fromVersion int64) error
	// ListPaymentMethods returns the customer's attached methods, newest first.
	ListPaymentMethods(ctx context.Context, s Scope, customerID string) ([]*PaymentMethod, error)
}

// PaymentTx reads and writes payments, with their attempts.
type PaymentTx interface {
	CreatePayment(ctx context.Context, p *Payment) error
	// Payment reads a payment. Inside Update a store may lock it until the
	// unit ends (PostgreSQL does), so a unit reads a payment it will write.
	Payment(ctx context.Context, s Scope, id string) (*Payment, error)
	// PaymentByLinkToken reads the payment of a payment link, in any scope.
	PaymentByLinkToken(ctx context.Context, token string) (*Payment, error)
	// UpdatePayment stores p if its stored Version is fromVersion, and
	// returns an error wrapping ErrStale otherwise.
	UpdatePayment(ctx context.Context, p *Payment, fromVersion int64) error
	// ListPayments returns a page of the scope's payments, newest first, and
	// whether there are more.
	ListPayments(ctx context.Context, s Scope, f PaymentFilter) ([]*Payment, bool, error)
}

// IdempotencyTx reads and writes the records of requests made with an
// Idempotency-Key.
type IdempotencyTx interface {
	// IdempotencyRecord reads the record of a key of an API.
	IdempotencyRecord(ctx context.Context, s Scope, api, key string) (*IdempotencyRecord, error)
	// CreateIdempotencyRecord returns an error wrapping ErrDuplicate when
	// the key is taken.
	CreateIdempotencyRecord(ctx context.Context, r *IdempotencyRecord) error
	// UpdateIdempotencyRecord stores the record's state, lease, resource
	// and result.
	UpdateIdempotencyRecord(ctx context.Context, r *IdempotencyRecord) error
	// DeleteIdempotencyRecords removes the finished records created before
	// before and returns how many it removed.
	DeleteIdempotencyRecords(ctx context.Context, before time.Time) (int, error)
}

// EventTx appends to and reads the events (the outbox of webhook
// deliveries).
type EventTx interface {
	CreateEvent(ctx context.Context, e *Event) error
	Event(ctx context.Context, s Scope, id string) (*Event, error)
	// ListEvents returns a page of the scope's events, newest first, and
	// whether there are more.
	ListEvents(ctx context.Context, s Scope, f EventFilter) ([]*Event, bool, error)
	// EventCursorNow returns the cursor of a reader that has been given
	// every event committed so far, in every scope: reading from it gives
	// the events written after the call.
	EventCursorNow(ctx context.Context) (EventCursor, error)
	// EventsAfter returns, oldest first, up to limit (1–100) of the scope's
	// events whose type is one of types (any type when types is empty)
	// that the reader at c has not been given, whether more are ready, and
	// the reader's cursor after them. Reading from cursor to cursor with
	// the same types gives every event of the scope that commits exactly
	// once, however the commits of concurrent units of work interleave:
	// none is skipped for committing late, none given twice. It does not
	// wait: when nothing is ready it returns no events and a cursor to try
	// again with.
	EventsAfter(ctx context.Context, s Scope, c EventCursor, types []string, limit int) ([]*Event, EventCursor, bool, error)
}

// TaskTx reads and writes tasks: background work claimed under leases.
type TaskTx interface {
	CreateTask(ctx context.Context, t *Task) error
	// ClaimTasks leases due tasks whose lease is free or expired.
	ClaimTasks(ctx context.Context, r ClaimRequest) ([]*Task, error)
	// DeleteTask removes a finished task if owner still holds it (any owner
	// when owner is empty).
	DeleteTask(ctx context.Context, id, owner string) error
	// DeleteTasks removes every task of kind about ref.
	DeleteTasks(ctx context.Context, kind, ref string) error
	// RescheduleTask sets RunAt, Attempts and LastError and frees the lease.
	RescheduleTask(ctx context.Context, t *Task) error
	// ShiftTasks moves the run time of the scope's tasks earlier by d (test
	// clocks).
	ShiftTasks(ctx context.Context, s Scope, d time.Duration) error
	// ReleaseLeases frees every lease held by an owner other than keep
	// (used at start on a store only one server process may use).
	ReleaseLeases(ctx context.Context, keep string) error
}

// DocumentTx reads and writes issued documents: invoices and credit notes.
type DocumentTx interface {
	// NextDocumentNumber allocates the next number of a series inside the
	// unit of work, so a number is used if and only if the unit commits:
	// the series has no gaps.
	NextDocumentNumber(ctx context.Context, s Scope, kind DocumentKind, year int) (int64, error)
	CreateDocument(ctx context.Context, d *Document) error
	Document(ctx context.Context, s Scope, id string) (*Document, error)
	// ListDocuments returns a page of the scope's documents of f.Kind,
	// newest first, and whether there are more.
	ListDocuments(ctx context.Context, s Scope, f DocumentFilter) ([]*Document, bool, error)
}

// OrderTx reads and writes orders, subscriptions and the short human ids of
// payments.
type OrderTx interface {
	CreateOrder(ctx context.Context, o *Order) error
	Order(ctx context.Context, s Scope, id string) (*Order, error)
	// UpdateOrder stores o if its stored Version is fromVersion, and
	// returns an error wrapping ErrStale otherwise.
	UpdateOrder(ctx context.Context, o *Order, fromVersion int64) error
	// ListOrders returns orders newest first.
	ListOrders(ctx context.Context, s Scope, f OrderFilter) ([]*Order, bool, error)
	CreateSubscription(ctx context.Context, sub *Subscription) error
	Subscription(ctx context.Context, s Scope, id string) (*Subscription, error)
	// UpdateSubscription stores sub if its stored Version is fromVersion,
	// and returns an error wrapping ErrStale otherwise.
	UpdateSubscription(ctx context.Context, sub *Subscription, fromVersion int64) error
	// ListSubscriptions returns subscriptions newest first.
	ListSubscriptions(ctx context.Context, s Scope, f SubscriptionFilter) ([]*Subscription, bool, error)
	// HumanIDs returns the human ids given to the payments of ids that
	// have one, by payment id.
	HumanIDs(ctx context.Context, s Scope, ids []string) (map[string]string, error)
	// CreateHumanID gives payment paymentID the human id humanID; it
	// returns an error wrapping ErrDuplicate when either has one already.
	CreateHumanID(ctx context.Context, s Scope, paymentID, humanID string) error
}

// RefundTx reads and writes refunds.
type RefundTx interface {
	CreateRefund(ctx context.Context, r *Refund) error
	Refund(ctx context.Context, s Scope, id string) (*Refund, error)
	// UpdateRefund stores r if its stored Version is fromVersion, and
	// returns an error wrapping ErrStale otherwise.
	UpdateRefund(ctx context.Context, r *Refund, fromVersion int64) error
	// ListRefunds returns a payment's refunds, newest first.
	ListRefunds(ctx context.Context, s Scope, paymentID string) ([]*Refund, error)
}

// LedgerTx appends to and reads the journal: append-only, balanced entries.
type LedgerTx interface {
	// CreateJournalEntry returns an error for an entry that does not
	// balance.
	CreateJournalEntry(ctx context.Context, e *JournalEntry) error
	// ListJournalEntries returns a page of the scope's entries, newest
	// first, and whether there are more.
	ListJournalEntries(ctx context.Context, s Scope, f LedgerFilter) ([]*JournalEntry, bool, error)
	// LedgerBalances sums the postings of the scope by currency and ledger
	// account.
	LedgerBalances(ctx context.Context, s Scope) ([]LedgerBalance, error)
}

// WebhookTx reads and writes webhook endpoints and the log of their
// deliveries.
type WebhookTx interface {
	// CreateWebhookEndpoint returns an error wrapping ErrDuplicate when the
	// id is taken.
	CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	// WebhookEndpoint reads an endpoint, deleted ones included (the caller
	// decides what a deleted endpoint means).
	WebhookEndpoint(ctx context.Context, s Scope, id string) (*WebhookEndpoint, error)
	// UpdateWebhookEndpoint stores e if its stored Version is fromVersion,
	// and returns an error wrapping ErrStale otherwise.
	UpdateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint, fromVersion int64) error
	// ListWebhookEndpoints returns a page of the scope's endpoints that are
	// not deleted, newest first, and whether there are more.
	ListWebhookEndpoints(ctx context.Context, s Scope, p Page) ([]*WebhookEndpoint, bool, error)
	// EnabledWebhookEndpoints returns every endpoint of the scope that is
	// enabled, not deleted and bound to no object, oldest first: the
	// fan-out of an event.
	EnabledWebhookEndpoints(ctx context.Context, s Scope) ([]*WebhookEndpoint, error)
	// BoundWebhookEndpoints returns the endpoints of the scope bound to
	// object objectID (WebhookEndpoint.ObjectID) that are enabled and not
	// deleted, oldest first: the rest of the fan-out of its events.
	BoundWebhookEndpoints(ctx context.Context, s Scope, objectID string) ([]*WebhookEndpoint, error)
	CreateWebhookDelivery(ctx context.Context, d *WebhookDelivery) error
	// ListWebhookDeliveries returns a page of an event's deliveries in the
	// scope, newest first, and whether there are more.
	ListWebhookDeliveries(ctx context.Context, s Scope, eventID string, p Page) ([]*WebhookDelivery, bool, error)
}

// CatalogTx reads and writes the catalogue: products, articles, carts,
// shipping rates and coupons (CatalogObject, told apart by kind), and the
// claims payments make on coupons and once-per-user items.
type CatalogTx interface {
	// NextCatalogNumber allocates the next number of a kind in the scope,
	// inside the unit of work: a number is used if and only if the unit
	// commits.
	NextCatalogNumber(ctx context.Context, s Scope, kind CatalogKind) (int64, error)
	// CreateCatalogObject stores o; it returns an error wrapping
	// ErrDuplicate when its id, number or key is taken.
	CreateCatalogObject(ctx context.Context, o CatalogObject) error
	// CatalogObject reads the object of kind with id into into (deleted
	// ones included). Inside Update a store may lock it until the unit
	// ends, as Payment does.
	CatalogObject(ctx context.Context, s Scope, kind CatalogKind, id string, into CatalogObject) error
	// CatalogObjectByNumber reads the object of kind with number into into.
	CatalogObjectByNumber(ctx context.Context, s Scope, kind CatalogKind, number int64, into CatalogObject) error
	// CatalogObjectByKey reads the object of kind with key that is not
	// deleted into into.
	CatalogObjectByKey(ctx context.Context, s Scope, kind CatalogKind, key string, into CatalogObject) error
	// UpdateCatalogObject stores o if its stored Version is fromVersion,
	// and returns an error wrapping ErrStale otherwise (ErrDuplicate when
	// its new key is taken).
	UpdateCatalogObject(ctx context.Context, o CatalogObject, fromVersion int64) error
	// ListCatalogObjects returns a page of the scope's objects of kind
	// that are not deleted, newest first, each decoded into a value of
	// newObj, and whether there are more.
	ListCatalogObjects(ctx context.Context, s Scope, kind CatalogKind, p Page, newObj func() CatalogObject) ([]CatalogObject, bool, error)
	CreateCatalogClaim(ctx context.Context, c *CatalogClaim) error
	// CountCatalogClaims counts the claims on an object of kind by a
	// customer (by anyone when customerID is empty).
	CountCatalogClaims(ctx context.Context, s Scope, kind CatalogKind, objectID, customerID string) (int64, error)
	// DeleteCatalogClaims removes every claim a payment made.
	DeleteCatalogClaims(ctx context.Context, s Scope, paymentID string) error
}

// MailboxTx reads and writes the local mailbox (receipts when no SMTP server
// is configured).
type MailboxTx interface {
	CreateEmail(ctx context.Context, e *Email) error
	// ListEmails returns a page of the scope's emails, newest first, and
	// whether there are more.
	ListEmails(ctx context.Context, s Scope, f EmailFilter) ([]*Email, bool, error)
}

// RecordStore is where the simulator keeps its own record of what it did
// (ProcessorRecord), apart from Till's objects, the way an external
// processor keeps its own. It offers units of work as Store does, over a
// RecordTx, under the same rules: UpdateRecords may run fn again (after a
// duplicate or a conflict) and fn touches nothing but its RecordTx.
//
// Its methods are named apart from Store's so that one type can implement
// both: sqlite.Store and postgres.Store do (cmd/till gives the simulator a
// SQLite file of its own, and shares the database on PostgreSQL).
type RecordStore interface {
	// ViewRecords runs fn against a consistent snapshot.
	ViewRecords(ctx context.Context, fn func(tx RecordTx) error) error
	// UpdateRecords runs fn in one read-write transaction that commits
	// entirely or not at all.
	UpdateRecords(ctx context.Context, fn func(tx RecordTx) error) error
}

// RecordTx is one unit of work on a RecordStore.
type RecordTx interface {
	// CreateProcessorRecord returns an error wrapping ErrDuplicate when the
	// reference is taken; the unit of work stays usable.
	CreateProcessorRecord(ctx context.Context, r *ProcessorRecord) error
	// ProcessorRecord reads the record of reference, in any scope.
	ProcessorRecord(ctx context.Context, reference string) (*ProcessorRecord, error)
	// UpdateProcessorRecord stores r over the record of its reference, and
	// returns resource_missing when there is none.
	UpdateProcessorRecord(ctx context.Context, r *ProcessorRecord) error
	// ProcessorRecords lists the scope's records by reference or, when
	// reference is empty, by the parent charge reference parent (the
	// charges themselves when parent is empty too); oldest first.
	ProcessorRecords(ctx context.Context, s Scope, reference, parent string) ([]*ProcessorRecord, error)
}

type backgroundKey struct{}

// Background marks ctx as background work (outbox draining, reconciliation,
// schedules): a store may give its units of work lower priority than those of
// requests, so that background work can never stall the request path.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// IsBackground reports whether ctx was marked by Background.
func IsBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}
