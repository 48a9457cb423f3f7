// Package sqlite implements till.Store on an embedded SQLite database (the
// pure-Go modernc.org/sqlite driver), Till's zero-set-up default.
//
// The database runs in WAL mode with synchronous=FULL: a transaction is on
// disk when Update returns. Reads use a pool of read-only connections and
// never wait for the writer. All writes go through one connection owned by
// one goroutine, which gathers the Update functions that are waiting into one
// transaction and commits them with one fsync (group commit). A batch runs
// first without savepoints; if one of its functions fails, the batch is
// rolled back and run again with a savepoint per function, so that a failure
// stays its own. Units of work marked background (till.Background) take only
// what requests leave of each batch. WAL checkpoints run on a connection of
// their own, never inside a commit.
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
	// OnCommit, when set, is told of each commit of the writer: the units
	// of work it carried and the time COMMIT took (for /metrics).
	OnCommit till.CommitObserver
}

// Store is a till.Store on one SQLite file, and a till.RecordStore keeping
// the simulator's records in the same file.
type Store struct {
	path  string
	opts  Options
	log   *slog.Logger
	wdb   *sql.DB
	wconn *sql.Conn
	rdb   *sql.DB
	cdb   *sql.DB // the checkpointer's connection

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
	bgReqs   chan *request // background units: they fill what requests leave
	commits  atomic.Int64  // transactions committed by the writer
	units    atomic.Int64  // Update functions committed in them
	execNs   atomic.Int64  // time the writer spent running Update functions
	commitNs atomic.Int64  // time the writer spent in COMMIT (WAL writes and fsync)
	quit     chan struct{}
	stopped  chan struct{}
	closeMu  sync.Once
	closeErr error

	checkpoints    atomic.Int64
	restarts       atomic.Int64
	walFrames      atomic.Int64 // WAL size at the last checkpoint
	nextRestart    time.Time    // the writer's: no WAL restart before then
	checkpointDone chan struct{}
}

type request struct {
	ctx context.Context
	fn  func(*tx) error
	err chan error
}

var errClosed = errors.New("sqlite: store is closed")

// pragmas are set on every connection. secure_delete overwrites deleted
// content (a detached card's sealed number) instead of leaving it in free
// pages. temp_store=MEMORY keeps the savepoint sub-journals of group commit
// in memory rather than in a temporary file; a 64 MiB page cache keeps the
// hot pages of the indexes resident.
//
// wal_autocheckpoint=0: a commit never copies the WAL back into the
// database itself (which would stall the writer for the length of the copy);
// the store's checkpointer does it on a connection of its own.
const pragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=secure_delete(1)" +
	"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=temp_store(2)&_pragma=cache_size(-65536)" +
	"&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(67108864)"

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
		reqs: make(chan *request, opts.MaxBatch), bgReqs: make(chan *request, opts.MaxBatch),
		quit: make(chan struct{}), stopped: make(chan struct{}),
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
	cdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		wconn.Close()
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	cdb.SetMaxOpenConns(1)
	s.cdb = cdb
	s.checkpointDone = make(chan struct{})
	go s.writer()
	go s.checkpointer()
	return s, nil
}

// checkpointInterval is how often the checkpointer copies committed WAL
// frames back into the database; walRestartFrames is the WAL size (in 4 KiB
// frames) beyond which the writer, between two batches, lets the WAL start
// over from its beginning, so that the file cannot grow without bound.
const (
	checkpointInterval = 200 * time.Millisecond
	walRestartFrames   = 16 * 1024
)

// checkpointer runs PASSIVE checkpoints, which never block the writer or the
// readers, off the request path, and tells the writer how large the WAL is.
// Under a steady stream of commits the WAL never becomes fully checkpointed
// at the start of a write, which is when SQLite would restart it by itself;
// the writer does it (restartWAL).
func (s *Store) checkpointer() {
	defer close(s.checkpointDone)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		var busy, frames, done int
		if err := s.cdb.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done); err != nil {
			s.log.Warn("sqlite: checkpoint failed", "err", err)
			continue
		}
		s.checkpoints.Add(1)
		s.walFrames.Store(int64(frames))
	}
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
		<-s.checkpointDone
		// Leave a small WAL behind: copy everything back and truncate it.
		if _, err := s.cdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			s.log.Warn("sqlite: final checkpoint failed", "err", err)
		}
		for _, st := range s.wstmts {
			st.Close()
		}
		for _, st := range s.rstmts {
			st.Close()
		}
		err1 := s.wconn.Close()
		err2 := s.wdb.Close()
		err3 := s.rdb.Close()
		err4 := s.cdb.Close()
		s.closeErr = errors.Join(err1, err2, err3, err4)
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

// WriterStats is where the writer's time went.
type WriterStats struct {
	Commits     int64
	Units       int64
	Exec        time.Duration // running Update functions (with BEGIN and savepoints)
	Commit      time.Duration // COMMIT: writing WAL frames and fsync
	Checkpoints int64
	Restarts    int64 // checkpoints that let the WAL start over
}

// WriterStats returns the writer's counters since Open.
func (s *Store) WriterStats() WriterStats {
	return WriterStats{Commits: s.commits.Load(), Units: s.units.Load(), Exec: time.Duration(s.execNs.Load()),
		Commit: time.Duration(s.commitNs.Load()), Checkpoints: s.checkpoints.Load(), Restarts: s.restarts.Load()}
}

// View runs fn in a read-only transaction on a consistent snapshot.
func (s *Store) View(ctx context.Context, fn func(till.Tx) error) error {
	return s.view(ctx, func(t *tx) error { return fn(t) })
}

func (s *Store) view(ctx context.Context, fn func(*tx) error) error {
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
	return s.update(ctx, func(t *tx) error { return fn(t) })
}

func (s *Store) update(ctx context.Context, fn func(*tx) error) error {
	for attempt := 0; ; attempt++ {
		r := &request{ctx: ctx, fn: fn, err: make(chan error, 1)}
		if err := s.enqueue(r); err != nil {
			return err
		}
		err := <-r.err
		if errors.Is(err, till.ErrStale) {
			if attempt < 5 {
				continue
			}
			return till.Contended(err)
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
	q := s.reqs
	if till.IsBackground(r.ctx) {
		q = s.bgReqs
	}
	select {
	case q <- r:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

// writer is the one goroutine that writes. It takes every request unit
// that is waiting (up to MaxBatch) and adds background units: all that wait
// when no request does, else at most one for every eight request units (and
// always at least one, so background work drains even under full load). It
// runs them in one transaction.
func (s *Store) writer() {
	defer close(s.stopped)
	batch := make([]*request, 0, s.opts.MaxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		case r := <-s.bgReqs:
			batch = append(batch, r)
		case <-s.quit:
			for _, q := range []chan *request{s.reqs, s.bgReqs} {
				for {
					select {
					case r := <-q:
						s.runBatch([]*request{r})
						continue
					default:
					}
					break
				}
			}
			return
		}
	gather:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		fg := 0
		for _, r := range batch {
			if !till.IsBackground(r.ctx) {
				fg++
			}
		}
		room := s.opts.MaxBatch - len(batch)
		if fg > 0 {
			room = min(room, max(1, fg/8))
		}
	background:
		for ; room > 0; room-- {
			select {
			case r := <-s.bgReqs:
				batch = append(batch, r)
			default:
				break background
			}
		}
		s.runBatch(batch)
		if s.walFrames.Load() > walRestartFrames && time.Now().After(s.nextRestart) {
			s.restartWAL()
		}
	}
}

// restartWAL copies what is left of the WAL into the database and lets the
// next commit write the WAL from its start. It runs on the writer between
// batches, so no write waits on it but the next batch; most frames were
// copied already by the checkpointer, so it mostly waits for readers still on
// old frames, which are short.
func (s *Store) restartWAL() {
	start := time.Now()
	ctx := context.Background()
	// Wait at most 50 ms for readers on old frames (a long one, say from
	// another process, would otherwise hold the writer for the whole busy
	// timeout); the next batch tries again.
	if _, err := s.wconn.ExecContext(ctx, "PRAGMA busy_timeout = 50"); err != nil {
		s.log.Warn("sqlite: WAL restart skipped", "err", err)
		return
	}
	defer s.wconn.ExecContext(ctx, "PRAGMA busy_timeout = 10000")
	var busy, frames, done int
	err := s.wconn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &frames, &done)
	switch {
	case err != nil:
		s.log.Warn("sqlite: WAL restart failed", "err", err)
	case busy == 0:
		s.restarts.Add(1)
		s.walFrames.Store(0)
		s.log.Debug("sqlite: WAL restarted", "frames", frames, "took", time.Since(start))
	default:
		// A reader kept the WAL: leave the writer alone for a while.
		s.nextRestart = time.Now().Add(time.Second)
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
	results, err := s.runOptimistic(live)
	if errors.Is(err, errUnitFailed) {
		results, err = s.runShared(live)
	}
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

// control runs a transaction-control statement, prepared once.
func (s *Store) control(q string) error {
	st, err := s.writerStmt(context.Background(), q)
	if err != nil {
		return err
	}
	_, err = st.Exec()
	return err
}

// errUnitFailed says an optimistic batch had a failing unit.
var errUnitFailed = errors.New("sqlite: a unit of the batch failed")

// runOptimistic commits a batch without savepoints, which most batches
// need: no unit fails. If one does, everything is rolled back and the
// caller runs the batch again with a savepoint per unit (the functions may
// run again by contract), so that the failure stays that unit's own.
func (s *Store) runOptimistic(live []*request) ([]error, error) {
	start := time.Now()
	if err := s.control("BEGIN IMMEDIATE"); err != nil {
		return nil, err
	}
	for _, r := range live {
		if err := s.call(r); err != nil {
			if rerr := s.control("ROLLBACK"); rerr != nil {
				return nil, rerr
			}
			return nil, errUnitFailed
		}
	}
	if err := s.commit(start, len(live)); err != nil {
		return nil, err
	}
	return make([]error, len(live)), nil
}

func (s *Store) runOne(r *request) error {
	start := time.Now()
	if err := s.control("BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := s.call(r); err != nil {
		if rerr := s.control("ROLLBACK"); rerr != nil {
			s.log.Error("sqlite: rollback failed", "err", rerr)
		}
		return err
	}
	if err := s.commit(start, 1); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// commit commits the writer's transaction, begun at start with units Update
// functions in it, and counts where the time went; a failed commit is rolled
// back.
func (s *Store) commit(start time.Time, units int) error {
	mid := time.Now()
	if err := s.control("COMMIT"); err != nil {
		s.control("ROLLBACK")
		return err
	}
	s.execNs.Add(int64(mid.Sub(start)))
	s.commitNs.Add(int64(time.Since(mid)))
	s.commits.Add(1)
	s.units.Add(int64(units))
	if s.opts.OnCommit != nil {
		s.opts.OnCommit(units, time.Since(mid))
	}
	return nil
}

func (s *Store) runShared(live []*request) ([]error, error) {
	start := time.Now()
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
	if err := s.commit(start, len(live)); err != nil {
		return nil, err
	}
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
