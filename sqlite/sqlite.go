// Package sqlite implements till.Store on an embedded SQLite database (the
// pure-Go modernc.org/sqlite driver), Till's zero-set-up default.
//
// The database runs in WAL mode with synchronous=FULL: a transaction is on
// disk when Update returns. Reads use a pool of read-only connections and
// never wait for the writer. All writes go through one connection owned by
// one goroutine, which gathers the Update functions that are waiting into one
// transaction, each under its own savepoint, and commits them with one fsync
// (group commit). A function that fails is rolled back to its savepoint and
// does not disturb the others.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tillpay/till"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Options tune a Store. The zero value is the production default.
type Options struct {
	// MaxBatch bounds how many Update functions share one commit.
	MaxBatch int
	// Readers is the size of the read-only connection pool.
	Readers int
	// Logger receives the store's own warnings.
	Logger *slog.Logger
}

// Store is a till.Store on one SQLite file.
type Store struct {
	path  string
	opts  Options
	log   *slog.Logger
	wdb   *sql.DB
	wconn *sql.Conn
	rdb   *sql.DB

	wstmts map[string]*sql.Stmt // owned by the writer goroutine
	rmu    sync.Mutex
	rstmts map[string]*sql.Stmt
	// rslots admits at most Readers concurrent View transactions to a pool
	// of Readers+1 connections, so that preparing a statement on the pool
	// (under rmu) always finds a connection: with every connection held by a
	// View waiting for rmu, the preparer would otherwise wait forever.
	rslots chan struct{}

	mu       sync.RWMutex // held for reading while queueing, for writing by Close
	closed   bool
	reqs     chan *request
	commits  atomic.Int64 // transactions committed by the writer
	units    atomic.Int64 // Update functions committed in them
	quit     chan struct{}
	stopped  chan struct{}
	closeMu  sync.Once
	closeErr error
}

type request struct {
	ctx context.Context
	fn  func(till.Tx) error
	err chan error
}

var errClosed = errors.New("sqlite: store is closed")

// pragmas are set on every connection. secure_delete overwrites deleted
// content (a detached card's sealed number) instead of leaving it in free
// pages.
const pragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=secure_delete(1)" +
	"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"

// Open opens (creating if needed) the database at path, applies pending
// migrations and starts the writer. It returns an error if the file holds a
// schema newer than this build knows.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Readers <= 0 {
		opts.Readers = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
	wdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	wconn, err := wdb.Conn(ctx)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s := &Store{
		path: path, opts: opts, log: opts.Logger, wdb: wdb, wconn: wconn,
		wstmts: map[string]*sql.Stmt{}, rstmts: map[string]*sql.Stmt{},
		reqs: make(chan *request, opts.MaxBatch), quit: make(chan struct{}), stopped: make(chan struct{}),
	}
	if err := s.migrate(ctx); err != nil {
		wconn.Close()
		wdb.Close()
		return nil, err
	}
	rdb, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(opts.Readers + 1)
	rdb.SetMaxIdleConns(opts.Readers + 1)
	s.rslots = make(chan struct{}, opts.Readers)
	rdb.SetConnMaxIdleTime(0)
	s.rdb = rdb
	go s.writer()
	return s, nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Close stops the writer after the work already queued and closes the
// database. Updates issued after Close return an error.
func (s *Store) Close() error {
	s.closeMu.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.quit)
		s.mu.Unlock()
		<-s.stopped
		for _, st := range s.wstmts {
			st.Close()
		}
		for _, st := range s.rstmts {
			st.Close()
		}
		err1 := s.wconn.Close()
		err2 := s.wdb.Close()
		err3 := s.rdb.Close()
		s.closeErr = errors.Join(err1, err2, err3)
	})
	return s.closeErr
}

// Settings returns the durability settings in force on the write connection
// (journal_mode, synchronous), so tests and start-up logs can show them.
func (s *Store) Settings(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := s.Update(ctx, func(till.Tx) error {
		for _, p := range []string{"journal_mode", "synchronous", "secure_delete", "foreign_keys"} {
			var v string
			if err := s.wconn.QueryRowContext(ctx, "PRAGMA "+p).Scan(&v); err != nil {
				return err
			}
			out[p] = v
		}
		return nil
	})
	return out, err
}

// Stats reports how many write transactions the writer committed and how
// many Update functions they carried; units/commits is the mean group-commit
// batch.
func (s *Store) Stats() (commits, units int64) {
	return s.commits.Load(), s.units.Load()
}

// View runs fn in a read-only transaction on a consistent snapshot.
func (s *Store) View(ctx context.Context, fn func(till.Tx) error) error {
	select {
	case s.rslots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("sqlite: begin read: %w", ctx.Err())
	}
	defer func() { <-s.rslots }()
	rtx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin read: %w", err)
	}
	defer rtx.Rollback()
	return fn(&tx{s: s, rtx: rtx})
}

// Update runs fn in a read-write transaction, possibly sharing the commit
// with other concurrent Update calls. It returns fn's error, or the commit's.
// fn is run again (up to five times) when it returns an error wrapping
// till.ErrStale.
func (s *Store) Update(ctx context.Context, fn func(till.Tx) error) error {
	for attempt := 0; ; attempt++ {
		r := &request{ctx: ctx, fn: fn, err: make(chan error, 1)}
		if err := s.enqueue(r); err != nil {
			return err
		}
		err := <-r.err
		if errors.Is(err, till.ErrStale) && attempt < 5 {
			continue
		}
		return err
	}
}

func (s *Store) enqueue(r *request) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errClosed
	}
	select {
	case s.reqs <- r:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

// writer is the one goroutine that writes. It takes the first waiting
// request, gathers whatever else is already waiting up to MaxBatch, and runs
// them in one transaction.
func (s *Store) writer() {
	defer close(s.stopped)
	batch := make([]*request, 0, s.opts.MaxBatch)
	for {
		select {
		case r := <-s.reqs:
			batch = append(batch[:0], r)
		gather:
			for len(batch) < s.opts.MaxBatch {
				select {
				case r := <-s.reqs:
					batch = append(batch, r)
				default:
					break gather
				}
			}
			s.runBatch(batch)
		case <-s.quit:
			for {
				select {
				case r := <-s.reqs:
					s.runBatch([]*request{r})
				default:
					return
				}
			}
		}
	}
}

// runBatch commits a batch, each request under a savepoint. If the batch
// cannot commit as a whole, each request is run again on its own so that one
// request's trouble never fails another.
func (s *Store) runBatch(batch []*request) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		live[0].err <- s.runOne(live[0])
		return
	}
	results, err := s.runShared(live)
	if err != nil {
		s.log.Warn("sqlite: group commit failed; running the batch one by one", "size", len(live), "err", err)
		for _, r := range live {
			r.err <- s.runOne(r)
		}
		return
	}
	for i, r := range live {
		r.err <- results[i]
	}
}

func (s *Store) control(q string) error {
	_, err := s.wconn.ExecContext(context.Background(), q)
	return err
}

func (s *Store) runOne(r *request) error {
	if err := s.control("BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := s.call(r); err != nil {
		if rerr := s.control("ROLLBACK"); rerr != nil {
			s.log.Error("sqlite: rollback failed", "err", rerr)
		}
		return err
	}
	if err := s.control("COMMIT"); err != nil {
		s.control("ROLLBACK")
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	s.commits.Add(1)
	s.units.Add(1)
	return nil
}

func (s *Store) runShared(live []*request) ([]error, error) {
	if err := s.control("BEGIN IMMEDIATE"); err != nil {
		return nil, err
	}
	results := make([]error, len(live))
	for i, r := range live {
		if err := s.control("SAVEPOINT unit"); err != nil {
			s.control("ROLLBACK")
			return nil, err
		}
		results[i] = s.call(r)
		if results[i] != nil {
			if err := s.control("ROLLBACK TO unit"); err != nil {
				s.control("ROLLBACK")
				return nil, err
			}
		}
		if err := s.control("RELEASE unit"); err != nil {
			s.control("ROLLBACK")
			return nil, err
		}
	}
	if err := s.control("COMMIT"); err != nil {
		s.control("ROLLBACK")
		return nil, err
	}
	s.commits.Add(1)
	s.units.Add(int64(len(live)))
	return results, nil
}

// call runs one request's function, turning a panic into an error so that a
// bug in one request cannot take the writer down.
func (s *Store) call(r *request) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlite: update function panicked: %v", p)
		}
	}()
	return r.fn(&tx{s: s, w: true})
}

func (s *Store) writerStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := s.wstmts[q]; ok {
		return st, nil
	}
	st, err := s.wconn.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	s.wstmts[q] = st
	return st, nil
}

func (s *Store) readerStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if st, ok := s.rstmts[q]; ok {
		return st, nil
	}
	st, err := s.rdb.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	s.rstmts[q] = st
	return st, nil
}

// isUnique reports whether err is a uniqueness violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromUS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
