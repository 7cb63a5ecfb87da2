package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/csp/trigger/casefile"
	driver "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the case file on SQLite. Every exported command runs in one
// transaction that writes the change, appends an audit event and enqueues
// the outbox jobs it causes.
type Store struct {
	wmu   sync.Mutex // writers of this process queue here rather than in SQLite's busy loop
	stmts sync.Map   // stmtKey → *sql.Stmt
	db    *sql.DB    // writes: BEGIN IMMEDIATE, so writers of other processes queue too
	rdb   *sql.DB    // reads: deferred transactions that never block a writer
	path  string

	// Clock is the time now; tests replace it.
	Clock func() time.Time
	// OnEnqueue, if set, is called after a commit that queued outbox jobs,
	// so that dispatchers start on them at once instead of at their next
	// poll.
	OnEnqueue func()
	Config    *casefile.Config
	Cal       *casefile.Calendar
	// LetterTemplates holds the partnership's own letter templates, each
	// replacing the built-in one of the same name; nil for none.
	LetterTemplates fs.FS

	msgIDKey []byte // the key of our Message-IDs: read (or made) once at Open
}

// dsn sets the pragmas on every pooled connection: the writers' (BEGIN
// IMMEDIATE, one at a time under wmu) when writer is true, else the
// readers'.
func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	// Deleted content is overwritten, so that a purge leaves no copy of a
	// resident's details in the file's free pages.
	q.Add("_pragma", "secure_delete(on)")
	// A savepoint keeps the pages it changes in memory, not in a temporary
	// file: intake files each message of a batch under one, and writing
	// that file was a tenth of filing (issue 17).
	q.Add("_pragma", "temp_store(MEMORY)")
	txlock := "deferred"
	if writer {
		txlock = "immediate"
		// Intake writes a message to a page of each of several indexes
		// keyed by what is random (Message-IDs, hashes, addresses): once
		// a case file holds tens of thousands of messages, those pages are
		// seldom in SQLite's default 2 MB cache, and a checkpoint every
		// 1,000 pages (SQLite's default) copied each of them into the
		// database again after nearly every batch. A 32 MiB cache and a
		// checkpoint every 10,000 pages (a write-ahead log of up to 40 MB)
		// filed a 30,000-message mailbox a third faster (0.67 to 0.45 ms
		// a message; TestFilingGrowthBenchmark in mailin/imapwatch). A
		// purge still empties the log at once (checkpoint).
		q.Add("_pragma", "cache_size(-32768)")
		q.Add("_pragma", "wal_autocheckpoint(10000)")
	}
	q.Set("_txlock", txlock)
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path and brings its
// schema up to date. cfg may be nil for the defaults.
func Open(path string, cfg *casefile.Config) (*Store, error) {
	if cfg == nil {
		c := casefile.DefaultConfig()
		cfg = &c
	}
	if err := private(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	rdb, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	s := &Store{db: db, rdb: rdb, path: path, Clock: time.Now, Config: cfg, Cal: cfg.WorkingCalendar()}
	if cfg.Letters.Dir != "" {
		s.LetterTemplates = os.DirFS(cfg.Letters.Dir)
	}
	if err := casefile.ParseTemplates(); err != nil {
		db.Close()
		rdb.Close()
		return nil, fmt.Errorf("letter templates: %w", err)
	}
	if err := s.migrate(context.Background()); err != nil {
		s.Close()
		return nil, err
	}
	if s.msgIDKey, err = s.secret(context.Background(), secretMessageID); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// secretMessageID names the key of the Message-IDs of the mail we send.
const secretMessageID = "message_id"

// secret returns the secret called name, making it (32 random bytes) the
// first time: made once per database, it is never logged or shown.
func (s *Store) secret(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := s.update(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		v = make([]byte, 32)
		if _, err := rand.Read(v); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)`, name, v, ms(tx.now))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return v, nil
}

// MessageIDKey is the key our outgoing Message-IDs are made with (see
// casefile.OutgoingMessageID), so that nobody can write one of ours.
func (s *Store) MessageIDKey(ctx context.Context) ([]byte, error) {
	return s.msgIDKey, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	return errors.Join(s.db.Close(), s.rdb.Close())
}

// private makes sure the database holds personal data readable by its owner
// only: a new database is created 0600 (SQLite gives its -wal and -shm files
// the same mode), and an existing one that others can read is refused,
// saying how to fix it.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("open database: %w", err)
	}
	var open []string
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open database: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			open = append(open, p)
		}
	}
	if len(open) > 0 {
		return casefile.Errorf(casefile.EINVALID, "the database holds residents' personal data but other users can read %s: run chmod 600 %s (as the service's user) and start again",
			strings.Join(open, ", "), strings.Join(open, " "))
	}
	return nil
}

// checkpoint copies the write-ahead log into the database and empties it,
// so that what a purge removed is not left in the -wal file either.
func (s *Store) checkpoint(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Now is the store's time now.
func (s *Store) Now() time.Time { return s.Clock() }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Migrate applies the embedded migrations not yet applied, each in its own
// transaction, and returns how many it applied.
func (s *Store) migrate(ctx context.Context) error {
	_, err := s.Migrate(ctx)
	return err
}

// Migrate applies pending migrations and returns their names.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var applied []string
	for _, name := range names {
		did, err := s.applyMigration(ctx, name)
		if err != nil {
			return applied, fmt.Errorf("migrate %s: %w", name, err)
		}
		if did {
			applied = append(applied, name)
		}
	}
	return applied, nil
}

func (s *Store) applyMigration(ctx context.Context, name string) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	b, err := migrations.ReadFile(name)
	if err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, string(b)); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, name, s.Now().UnixMilli()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// IntegrityCheck runs PRAGMA integrity_check and returns its verdict.
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var v string
	err := s.rdb.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&v)
	return v, err
}

// OverdueDeadlines counts open deadlines whose day has passed.
func (s *Store) OverdueDeadlines(ctx context.Context) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM deadlines d JOIN cases c ON c.id = d.case_id
		WHERE d.done_at IS NULL AND d.due_on < ? AND c.status NOT IN ('closed', 'withdrawn')`, casefile.DateOf(s.Now()).String()).Scan(&n)
	return n, err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.rdb.PingContext(ctx) }

// Tx is one command's transaction. Its helpers append the audit event and
// enqueue outbox jobs beside the change.
type Tx struct {
	*sql.Tx
	s        *Store
	db       *sql.DB // the pool the transaction came from, for its statements
	now      time.Time
	enqueued bool
}

// The statement methods of Tx shadow sql.Tx's: each query string is
// prepared once per pooled connection and reused, which spares SQLite
// parsing it again in every command.

func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := tx.s.stmt(ctx, tx.db, query)
	if err != nil {
		return nil, err
	}
	return tx.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := tx.s.stmt(ctx, tx.db, query)
	if err != nil {
		return nil, err
	}
	return tx.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
}

func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := tx.s.stmt(ctx, tx.db, query)
	if err != nil {
		return tx.Tx.QueryRowContext(ctx, query, args...) // reports the same error
	}
	return tx.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

type stmtKey struct {
	db    *sql.DB
	query string
}

// stmt returns the prepared statement for a query on a pool.
func (s *Store) stmt(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	k := stmtKey{db, query}
	if st, ok := s.stmts.Load(k); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(k, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// update runs fn in a write transaction and commits it.
func (s *Store) update(ctx context.Context, fn func(tx *Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	sqltx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer sqltx.Rollback()
	tx := &Tx{Tx: sqltx, s: s, db: s.db, now: s.Now()}
	if err := fn(tx); err != nil {
		return err
	}
	if err := sqltx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if tx.enqueued && s.OnEnqueue != nil {
		s.OnEnqueue()
	}
	return nil
}

// view runs fn in a read transaction, so that what it reads is consistent.
func (s *Store) view(ctx context.Context, fn func(tx *Tx) error) error {
	sqltx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer sqltx.Rollback()
	return fn(&Tx{Tx: sqltx, s: s, db: s.rdb, now: s.Now()})
}

// Event appends an audit event. caseID 0 means an event about no case.
func (tx *Tx) event(ctx context.Context, caseID int64, actor, kind string, details map[string]any) (int64, error) {
	if details == nil {
		details = map[string]any{}
	}
	b, err := json.Marshal(details)
	if err != nil {
		return 0, err
	}
	// The next number in the case's trail is taken in the same statement:
	// writers are serialised by BEGIN IMMEDIATE, so numbers have no gaps.
	res, err := tx.ExecContext(ctx, `INSERT INTO events (case_id, seq, at, actor, kind, details)
		SELECT ?1, CASE WHEN ?1 IS NULL THEN 0 ELSE COALESCE(MAX(seq), 0) + 1 END, ?2, ?3, ?4, ?5 FROM events WHERE case_id = ?1`,
		nullID(caseID), tx.now.UnixMilli(), actor, kind, string(b))
	if err != nil {
		return 0, fmt.Errorf("append event: %w", err)
	}
	return res.LastInsertId()
}

// eventAs appends an audit event for a command an actor gave: a person in
// Slack by their user id, the administrator at the command line by the
// name given, marked as the administrator.
func (tx *Tx) eventAs(ctx context.Context, caseID int64, a casefile.Actor, kind string, details map[string]any) (int64, error) {
	if a.Has(casefile.RoleAdmin) {
		d := make(map[string]any, len(details)+1)
		maps.Copy(d, details)
		d["as"] = "administrator"
		details = d
	}
	return tx.event(ctx, caseID, a.Audit(), kind, details)
}

// enqueue adds an outbox job unless one with the same dedupe key exists;
// it reports whether it added one.
func (tx *Tx) enqueue(ctx context.Context, caseID, eventID int64, dedupe string, p casefile.Payload) (bool, error) {
	return tx.enqueueTo(ctx, caseID, eventID, dedupe, p, "")
}

// enqueueTo is enqueue for an email job, recording its recipient so that
// rate limits per address can be checked.
func (tx *Tx) enqueueTo(ctx context.Context, caseID, eventID int64, dedupe string, p casefile.Payload, recipient string) (bool, error) {
	kind := p.JobKind()
	b, err := json.Marshal(p)
	if err != nil {
		return false, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO outbox (case_id, event_id, kind, dedupe_key, payload, recipient, run_after, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
		nullID(caseID), nullID(eventID), kind, dedupe, string(b), strings.ToLower(recipient), tx.now.UnixMilli(), tx.now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("enqueue %s: %w", kind, err)
	}
	n, _ := res.RowsAffected()
	tx.enqueued = tx.enqueued || n == 1
	return n == 1, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).In(casefile.London) }

func nullTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// isConstraint reports whether err is a SQLite constraint violation.
// isConstraint reports whether err is SQLite refusing a write that breaks a
// constraint (a UNIQUE key taken: the same message twice), by its result
// code rather than its text.
func isConstraint(err error) bool {
	var se *driver.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

// optional is a single-row read's error, with "no row" not an error: the
// caller reads the zero value then.
func optional(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}

// queryColumn runs a query whose rows are one column each (references,
// ids) and reads them all before it returns, so the caller may then run
// other statements in the same transaction.
func queryColumn[T any](ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
