package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/graphemu"
	"github.com/csp/trigger/mailin/memimap"
	"github.com/csp/trigger/mailout/mailsink"
)

// The world around `trigger serve` for the reliability tests: an IMAP
// mailbox (memimap) and a mail sink (mailsink), or a Microsoft 365 tenant
// read and sent through Graph (graphTenant), and a Slack workspace
// (slackemu) in the test process, the people who work cases in it, and the
// applications residents send. The service runs against it either in
// process (newServer(...).run) or as a child process (crash_test.go).

const (
	worldIMAPUser     = "trigger"
	worldIMAPPassword = "imap-secret"
)

type worldOptions struct {
	mode      string  // slack.mode: "socket" (default) or "http"
	timeScale float64 // the emulators'; default 1
	// mail is "imap" (default: an IMAP mailbox and an SMTP sink) or
	// "graph" (a Microsoft 365 tenant read and sent through Graph).
	mail string
}

type world struct {
	t     testing.TB
	began time.Time // by the test's clock
	dir   string
	db    string
	http  string // the service's http.listen, fixed so that restarts keep it

	imapMu sync.Mutex
	imap   *memimap.Server // nil with a tenant
	sink   *mailsink.Sink  // nil with a tenant
	tenant *graphTenant    // with mail = "graph"
	// reconnectMax, if set, caps the mail reader's wait between failed
	// attempts in serveInProcess.
	reconnectMax time.Duration
	emu          *slackemu.Emulator
	mode         string

	coord, chair, police, council, housing string
}

func newWorld(t testing.TB, o worldOptions) *world {
	t.Helper()
	if o.mode == "" {
		o.mode = "socket"
	}
	w := &world{t: t, began: time.Now(), dir: t.TempDir(), mode: o.mode}
	w.db = filepath.Join(w.dir, "trigger.db")
	w.http = freeAddr(t)
	var err error
	switch o.mail {
	case casefile.MailGraph:
		w.tenant = newGraphTenant(t, graphemu.Options{TimeScale: o.timeScale})
	default:
		if w.imap, err = memimap.Start(worldIMAPUser, worldIMAPPassword, "Processed", "Quarantine"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.imapServer().Close() })
		if w.sink, err = mailsink.Start(mailsink.Options{Quiet: true}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.sink.Close() })
	}
	eo := slackemu.Options{NoRateLimits: true, TimeScale: o.timeScale}
	if o.mode == "http" {
		eo.InteractivityURL = "http://" + w.http + "/slack/interactivity"
		eo.EventsURL = "http://" + w.http + "/slack/events"
		eo.CommandsURL = "http://" + w.http + "/slack/commands"
	}
	w.emu = slackemu.New(eo)
	if err := w.emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.emu.Close() })
	w.coord = w.emu.AddUser("sam.patel", "sam.patel@example-council.gov.uk").ID
	w.chair = w.emu.AddUser("csp.chair", "chair@example-council.gov.uk").ID
	w.police = w.emu.AddUser("pc.jones", "pc.jones@police.example").ID
	w.council = w.emu.AddUser("asb.officer", "asb.officer@example-council.gov.uk").ID
	w.housing = w.emu.AddUser("housing.officer", "officer@housing.example").ID
	return w
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (w *world) imapServer() *memimap.Server {
	w.imapMu.Lock()
	defer w.imapMu.Unlock()
	return w.imap
}

// stopIMAP stops the IMAP server, dropping every connection mid-command.
func (w *world) stopIMAP() {
	w.imapServer().Close()
}

// startIMAP serves the same mailboxes on the same address again.
func (w *world) startIMAP() {
	w.t.Helper()
	old := w.imapServer()
	var srv *memimap.Server
	var err error
	for range 50 { // the port is free at once, but be patient
		if srv, err = memimap.Serve(old.Addr, old.User); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		w.t.Fatalf("restart IMAP on %s: %v", old.Addr, err)
	}
	w.imapMu.Lock()
	w.imap = srv
	w.imapMu.Unlock()
}

// count is the number of messages in a folder of the service's mailbox:
// INBOX, Processed, Quarantine.
func (w *world) count(mailbox string) int {
	if w.tenant != nil {
		return w.tenant.count(mailbox)
	}
	n, err := w.imapServer().Count(mailbox)
	if err != nil {
		w.t.Fatalf("count %s: %v", mailbox, err)
	}
	return n
}

// config is the service's configuration for this world, as trigger.toml
// and the environment would give it (see toml and env).
func (w *world) config() casefile.Config {
	cfg := casefile.DefaultConfig()
	cfg.Database.Path = w.db
	if w.tenant != nil {
		w.tenant.configure(&cfg)
	} else {
		cfg.IMAP.Address, cfg.IMAP.TLS, cfg.IMAP.Username = w.imapServer().Addr, "none", worldIMAPUser
		cfg.IMAP.PollInterval = casefile.Duration{Duration: time.Second}
		cfg.SMTP.Address, cfg.SMTP.TLS = w.sink.Addr(), "none"
		cfg.Secrets.IMAPPassword = worldIMAPPassword
	}
	// The council's form system sends half the applications: its forms
	// count per resident for the acknowledgements' rate limit.
	cfg.Intake.FormSenders = []string{"noreply@forms.example-council.gov.uk"}
	cfg.Slack.APIURL, cfg.Slack.Mode = w.emu.APIURL(), w.mode
	cfg.HTTP.Listen = w.http
	cfg.Roles.Coordinator = casefile.IDList{w.coord}
	cfg.Roles.Chair = casefile.IDList{w.chair}
	cfg.Roles.Approvers = casefile.IDList{w.coord, w.chair}
	cfg.Agencies[0].SlackUsers = []string{w.police}
	cfg.Agencies[1].SlackUsers = []string{w.council}
	cfg.Agencies[2].SlackUsers = []string{w.housing}
	cfg.Log.Level = "warn"
	cfg.Secrets.SlackBotToken = w.emu.BotToken()
	if w.mode == "http" {
		cfg.Secrets.SlackSigningSecret = w.emu.SigningSecret()
	} else {
		cfg.Secrets.SlackAppToken = w.emu.AppToken()
	}
	if err := cfg.Validate(); err != nil {
		w.t.Fatal(err)
	}
	return cfg
}

// toml writes the configuration file `trigger serve` reads in a child
// process, and returns its path. Secrets are in env, never in the file.
func (w *world) toml() string {
	w.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[database]\npath = %q\n\n", w.db)
	if w.tenant != nil {
		b.WriteString(w.tenant.toml())
	} else {
		fmt.Fprintf(&b, "[imap]\naddress = %q\ntls = \"none\"\nusername = %q\npoll_interval = \"1s\"\n\n", w.imapServer().Addr, worldIMAPUser)
		fmt.Fprintf(&b, "[smtp]\naddress = %q\ntls = \"none\"\n\n", w.sink.Addr())
	}
	b.WriteString("[intake]\nform_senders = [\"noreply@forms.example-council.gov.uk\"]\n\n")
	fmt.Fprintf(&b, "[slack]\napi_url = %q\nmode = %q\n\n", w.emu.APIURL(), w.mode)
	fmt.Fprintf(&b, "[http]\nlisten = %q\n\n", w.http)
	fmt.Fprintf(&b, "[roles]\ncoordinator = [%q]\nchair = [%q]\napprovers = [%q, %q]\n\n", w.coord, w.chair, w.coord, w.chair)
	for _, a := range []struct{ id, name, aliases, user string }{
		{"police", "Police", `["police", "constabulary", "pcso", "101"]`, w.police},
		{"council", "District Council", `["council", "district council", "asb team"]`, w.council},
		{"housing", "Housing provider", `["housing", "housing association", "landlord"]`, w.housing},
	} {
		fmt.Fprintf(&b, "[[agency]]\nid = %q\nname = %q\naliases = %s\nslack_users = [%q]\n\n", a.id, a.name, a.aliases, a.user)
	}
	b.WriteString("[log]\nlevel = \"info\"\n")
	path := filepath.Join(w.dir, "trigger.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return path
}

// env is the secrets of the child process, as systemd would pass them.
func (w *world) env() []string {
	env := []string{"TRIGGER_SLACK_BOT_TOKEN=" + w.emu.BotToken()}
	if w.tenant != nil {
		env = append(env, w.tenant.env()...)
	} else {
		env = append(env, "TRIGGER_IMAP_PASSWORD="+worldIMAPPassword)
	}
	if w.mode == "http" {
		return append(env, "TRIGGER_SLACK_SIGNING_SECRET="+w.emu.SigningSecret())
	}
	return append(env, "TRIGGER_SLACK_APP_TOKEN="+w.emu.AppToken())
}

// serveInProcess runs the real serve wiring on store in a goroutine and
// returns the server and a stop function that cancels it and returns what
// run returned.
func (w *world) serveInProcess(cfg *casefile.Config, store *sqlite.Store, logw io.Writer) (*server, func() error) {
	w.t.Helper()
	srv, err := newServer(cfg, store, slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn})), w.deps())
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- srv.run(ctx, started) }()
	select {
	case <-started:
	case err := <-done:
		cancel()
		w.t.Fatalf("serve stopped at once: %v", err)
	}
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(60 * time.Second):
				runErr = fmt.Errorf("serve did not stop within 60s")
			}
		})
		return runErr
	}
	w.t.Cleanup(func() { stop() })
	return srv, stop
}

// deps is what the world changes of serve's wiring: the tenant's token
// endpoint, the mail reader's backoff.
func (w *world) deps() serverDeps {
	d := serverDeps{reconnectMax: w.reconnectMax}
	if w.tenant != nil {
		d.oauthBaseURL = w.tenant.entraURL
	}
	return d
}

// sent is the mail the service sent, as its recipients got it.
func (w *world) sent() []sentMail {
	if w.tenant != nil {
		return w.tenant.sent()
	}
	var out []sentMail
	for _, m := range w.sink.Messages() {
		out = append(out, sentMail{To: m.To, Data: m.Data})
	}
	return out
}

// An application is one generated web-form email.
type application struct {
	messageID string
	email     string // the applicant's address: where the acknowledgement goes
	raw       []byte
}

// applications generates n applications, web-form style (shared/samples/
// 01-webform.eml), each from a different resident with its own Message-ID.
// Odd ones come from the resident's own address, even ones from the form
// system's no-reply address. They are dated an hour ago, and their two
// complaints fall between ten weeks and a fortnight before today.
func applications(tag string, n int) []application {
	apps := make([]application, n)
	now := time.Now()
	today := casefile.DateOf(now)
	for i := range apps {
		num := i + 1
		a := application{
			messageID: fmt.Sprintf("sub-%s-%04d@forms.example-council.gov.uk", tag, num),
			email:     fmt.Sprintf("resident.%s.%04d@example.net", tag, num),
		}
		from := "Council Forms <noreply@forms.example-council.gov.uk>"
		if num%2 == 1 {
			from = fmt.Sprintf("Resident %d <%s>", num, a.email)
		}
		first, second := today.AddDays(-72+i%27), today.AddDays(-41+i%27)
		a.raw = crlf(fmt.Sprintf(`From: %s
To: communitytrigger@example-council.gov.uk
Subject: New submission: ASB Case Review (Community Trigger) #%d
Date: %s
Message-ID: <%s>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Submission #%d - ASB Case Review (Community Trigger)

Name: Resident %d
Email: %s
Phone: 07700 9%05d
Address: %d Mill Street, Measham
Postcode: DE12 7HS
Applying for someone else: No
Location of the ASB: Alleyway between Mill Street and the High Street
What has been happening: Motorbikes ridden through the alley at speed, fences kicked in, verbal abuse.
Hate related: No
Vulnerable: No

Complaint 1 date of incident: %[10]s
Complaint 1 date reported: %[10]s
Complaint 1 reported to: Police
Complaint 1 reference: %04[2]d of %[10]s

Complaint 2 date of incident: %[11]s
Complaint 2 date reported: %[11]s
Complaint 2 reported to: District council
Complaint 2 reference: ASB/%[12]d/%04[2]d

Consent to share: Yes
`, from, num, mailDate(now.Add(-time.Hour)), a.messageID, num, num, a.email, num, num, formDate(first), formDate(second), second.Year))
		apps[i] = a
	}
	return apps
}

// autoReplies generates n out-of-office replies, dated a minute ago:
// stored, never a case, never acknowledged.
func autoReplies(tag string, n int) []application {
	out := make([]application, n)
	date := mailDate(time.Now().Add(-time.Minute))
	for i := range out {
		a := application{
			messageID: fmt.Sprintf("auto-%s-%d@housing.example.org", tag, i+1),
			email:     fmt.Sprintf("officer.%s.%d@housing.example.org", tag, i+1),
		}
		a.raw = crlf(fmt.Sprintf(`From: Housing Officer <%s>
To: communitytrigger@example-council.gov.uk
Subject: Out of Office: Community Trigger request for information
Date: %s
Message-ID: <%s>
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Thank you for your email. I am on leave until Monday 19 October.
`, a.email, date, a.messageID))
		out[i] = a
	}
	return out
}

// mailDate is t as a Date header writes it, in London.
func mailDate(t time.Time) string { return t.In(casefile.London).Format(time.RFC1123Z) }

// formDate is d as the council's web form writes it: 03/08/2026.
func formDate(d casefile.Date) string { return fmt.Sprintf("%02d/%02d/%04d", d.Day, d.Month, d.Year) }

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

// deliver puts messages in the Inbox.
func (w *world) deliver(msgs ...application) {
	w.t.Helper()
	for _, m := range msgs {
		var err error
		if w.tenant != nil {
			_, err = w.tenant.graph.Deliver(graphMailbox, "inbox", m.raw)
		} else {
			err = w.imapServer().Append("INBOX", m.raw, time.Now())
		}
		if err != nil {
			w.t.Fatal(err)
		}
	}
}

// openDB opens the database read-only beside the service (WAL lets a
// reader in while it writes).
func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func queryInt(t testing.TB, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// refs are the references of the cases in the database, in the order
// they were filed.
func (w *world) refs(t testing.TB) []string {
	t.Helper()
	db := openDB(t, w.db)
	defer db.Close()
	rows, err := db.Query(`SELECT ref FROM cases ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var refs []string
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return refs
}

// progress is how far the service got, for the logs and the wait loops.
type progress struct {
	inbox, processed, cases, channels, cards, acksSent, pending, inFlight, dead int
}

func (p progress) String() string {
	return fmt.Sprintf("inbox %d, processed %d, cases %d, channels %d, cards %d, acks %d, outbox pending %d (in flight %d), dead %d",
		p.inbox, p.processed, p.cases, p.channels, p.cards, p.acksSent, p.pending, p.inFlight, p.dead)
}

func (w *world) progress(now time.Time) progress {
	p := progress{inbox: w.count("INBOX"), processed: w.count("Processed") + w.count("Quarantine")}
	if _, err := os.Stat(w.db); err != nil {
		return p
	}
	db := openDB(w.t, w.db)
	defer db.Close()
	err := db.QueryRow(`SELECT
		(SELECT count(*) FROM cases),
		(SELECT count(*) FROM slack_channels),
		(SELECT count(*) FROM slack_channels WHERE card_ts != ''),
		(SELECT count(*) FROM messages WHERE direction = 'out' AND kind = 'ack'),
		(SELECT count(*) FROM outbox WHERE state = 'pending'),
		(SELECT count(*) FROM outbox WHERE state = 'pending' AND locked_until > ?),
		(SELECT count(*) FROM outbox WHERE state = 'dead')`, now.UnixMilli()).
		Scan(&p.cases, &p.channels, &p.cards, &p.acksSent, &p.pending, &p.inFlight, &p.dead)
	if err != nil && !strings.Contains(err.Error(), "no such table") {
		w.t.Logf("progress: %v", err)
	}
	return p
}

// drained reports whether all the mail is in and all the work is out.
func (p progress) drained(cases int) bool {
	return p.inbox == 0 && p.cases == cases && p.pending == 0 && p.channels == cases && p.cards == cases
}

// waitFor polls cond every 50ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// outcome is what checkWorld found beyond its assertions.
type outcome struct {
	acks, duplicateAcks int // deliveries of acknowledgements; copies beyond the first
	inDoubt             int // acknowledgements a crash left in doubt (not sent again; the coordinator is asked)
}

// checkWorld asserts what every person sees once all the work is done:
// each application is in exactly one case and each case holds exactly one
// application; each case has one channel (named from its reference) with
// one card, and the resident one acknowledgement (one distinct Message-ID:
// a copy resent after a crash between the server's 250 and our commit has
// the same one, and is counted in duplicateAcks); the audit trail of every
// case is numbered 1..n without gaps; the outbox is empty and nothing was
// given up; automatic replies are stored and never answered.
func (w *world) checkWorld(t *testing.T, apps, autos []application) outcome {
	t.Helper()
	db := openDB(t, w.db)
	defer db.Close()
	var out outcome

	// Messages ↔ cases.
	type inMsg struct {
		ref  sql.NullString
		kind string
	}
	in := map[string]inMsg{}
	rows, err := db.Query(`SELECT m.message_id, c.ref, m.kind FROM messages m LEFT JOIN cases c ON c.id = m.case_id WHERE m.direction = 'in'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var m inMsg
		if err := rows.Scan(&id, &m.ref, &m.kind); err != nil {
			t.Fatal(err)
		}
		in[id] = m
	}
	rows.Close()
	if len(in) != len(apps)+len(autos) {
		t.Errorf("%d messages stored, want %d (%d applications, %d automatic replies)", len(in), len(apps)+len(autos), len(apps), len(autos))
	}
	refOf := map[string]application{} // case ref → its application
	for _, a := range apps {
		m, ok := in[a.messageID]
		switch {
		case !ok:
			t.Errorf("application %s was never stored", a.messageID)
		case !m.ref.Valid || m.kind != "application":
			t.Errorf("application %s: case %v, kind %s; want a case of its own", a.messageID, m.ref, m.kind)
		default:
			if other, dup := refOf[m.ref.String]; dup {
				t.Errorf("%s holds two applications: %s and %s", m.ref.String, other.messageID, a.messageID)
			}
			refOf[m.ref.String] = a
		}
	}
	for _, a := range autos {
		if m, ok := in[a.messageID]; !ok || m.ref.Valid || m.kind != "auto_reply" {
			t.Errorf("automatic reply %s: stored %v, case %v, kind %s; want stored with no case", a.messageID, ok, m.ref, m.kind)
		}
	}
	// References: CT-YYYY-NNNN, YYYY the year in London when the case
	// was filed, NNNN 1, 2, 3 … in the order of filing within that year.
	var refs []string
	rows, err = db.Query(`SELECT ref, created_at FROM cases ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	seqOf := map[int]int{} // year → cases filed in it
	gap, elsewhen := false, false
	for rows.Next() {
		var ref string
		var created int64
		rows.Scan(&ref, &created)
		// Filed while the test ran, by the test's clock: the service (a
		// child process in the crash tests) reads the same clock, moved or
		// not. The in-process tests move the store's clock on by seconds.
		if at := time.UnixMilli(created); (at.Before(w.began.Add(-time.Minute)) || at.After(time.Now().Add(time.Hour))) && !elsewhen {
			t.Errorf("case %s was filed at %s, but the test ran from %s: the service's clock is not the test's", ref, at.Format(time.RFC3339), w.began.Format(time.RFC3339))
			elsewhen = true
		}
		year := casefile.DateOf(time.UnixMilli(created)).Year
		seqOf[year]++
		if want := fmt.Sprintf("CT-%04d-%04d", year, seqOf[year]); ref != want && !gap {
			t.Errorf("case %d is %s, want %s: references have a gap or a repeat", len(refs)+1, ref, want)
			gap = true
		}
		refs = append(refs, ref)
	}
	rows.Close()
	if len(refs) != len(apps) {
		t.Errorf("%d cases, want %d", len(refs), len(apps))
	}
	for _, ref := range refs {
		if _, ok := refOf[ref]; !ok {
			t.Errorf("case %s holds no application of ours", ref)
		}
	}

	// The audit trail: 1..n per case, no gaps, no repeats.
	rows, err = db.Query(`SELECT c.ref, e.seq, e.kind FROM events e JOIN cases c ON c.id = e.case_id ORDER BY c.id, e.seq`)
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[string][]int{}
	kinds := map[string][]string{}
	for rows.Next() {
		var ref, kind string
		var seq int
		rows.Scan(&ref, &seq, &kind)
		seqs[ref] = append(seqs[ref], seq)
		kinds[ref] = append(kinds[ref], kind)
	}
	rows.Close()
	gaps := 0
	for _, ref := range refs {
		s := seqs[ref]
		for i, n := range s {
			if n != i+1 {
				if gaps++; gaps <= 5 {
					t.Errorf("%s: audit trail %v has a gap or a repeat at %d", ref, s, i+1)
				}
				break
			}
		}
		if len(s) == 0 || kinds[ref][0] != "case.created" {
			t.Errorf("%s: audit trail %v does not start with case.created", ref, kinds[ref])
		}
		sent, doubt := countOf(kinds[ref], "mail.sent"), countOf(kinds[ref], "mail.in_doubt")
		if sent+doubt != 1 {
			t.Errorf("%s: %d mail.sent and %d mail.in_doubt events, want one of them (the acknowledgement): %v", ref, sent, doubt, kinds[ref])
		}
	}

	// The outbox: everything done, nothing given up.
	rows, err = db.Query(`SELECT kind, state, count(*), max(attempts) FROM outbox GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		t.Fatal(err)
	}
	var summary []string
	for rows.Next() {
		var kind, state string
		var n, attempts int
		rows.Scan(&kind, &state, &n, &attempts)
		summary = append(summary, fmt.Sprintf("%s %s ×%d (max attempts %d)", kind, state, n, attempts))
		if state != "done" {
			t.Errorf("outbox: %d %s jobs are %s", n, kind, state)
		}
	}
	rows.Close()
	t.Logf("outbox: %s", strings.Join(summary, "; "))
	if n := queryInt(t, db, `SELECT count(*) FROM outbox WHERE kind = ?`, casefile.JobEmailAck); n != len(apps) {
		t.Errorf("%d acknowledgement jobs, want %d", n, len(apps))
	}
	if v := queryString(t, db, `PRAGMA integrity_check`); v != "ok" {
		t.Errorf("integrity_check: %s", v)
	}

	// Slack: one channel per case, named from the reference, with one card.
	chans := map[string]string{} // ref → channel id in the database
	rows, err = db.Query(`SELECT c.ref, sc.channel_id, sc.name, sc.card_ts FROM slack_channels sc JOIN cases c ON c.id = sc.case_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ref, id, name, cardTS string
		rows.Scan(&ref, &id, &name, &cardTS)
		chans[ref] = id
		if want := "ct-" + strings.ToLower(strings.TrimPrefix(ref, "CT-")); name != want || cardTS == "" {
			t.Errorf("%s: channel %q card %q, want %q with a card", ref, name, cardTS, want)
		}
	}
	rows.Close()
	caseChannel := regexp.MustCompile(`^ct-\d{4}-\d{4}$`)
	emuChans := 0
	for _, ch := range w.emu.Channels() {
		if caseChannel.MatchString(ch.Name) {
			emuChans++
		}
	}
	if emuChans != len(apps) {
		t.Errorf("%d case channels in Slack, want %d", emuChans, len(apps))
	}
	badCards := 0
	for _, ref := range refs {
		name := "ct-" + strings.ToLower(strings.TrimPrefix(ref, "CT-"))
		ch, ok := w.emu.ChannelByName(name)
		if !ok {
			t.Errorf("%s: no channel #%s in Slack", ref, name)
			continue
		}
		if chans[ref] != ch.ID {
			t.Errorf("%s: the database says channel %q, Slack has #%s as %s", ref, chans[ref], name, ch.ID)
		}
		if !slices.Contains(ch.Members, w.coord) || !slices.Contains(ch.Members, w.police) {
			t.Errorf("%s: the coordinator or the police officer is not in #%s: %v", ref, name, ch.Members)
		}
		cards := 0
		for _, m := range w.emu.Messages(ch.ID) {
			if bytes.Contains(m.Blocks, []byte(`"card-`+ref+`"`)) {
				cards++
			}
		}
		if cards != 1 {
			if badCards++; badCards <= 5 {
				t.Errorf("%s: %d cards in #%s, want 1", ref, cards, name)
			}
		}
	}

	// The mail sink: one acknowledgement (one Message-ID) per case, to the
	// applicant; nothing to the senders of automatic replies.
	ackIDs := map[string]map[string]int{} // ref → Message-ID → deliveries
	var ackTo = map[string]string{}
	autoAddr := map[string]bool{}
	for _, a := range autos {
		autoAddr[a.email] = true
	}
	for _, m := range w.sent() {
		for _, to := range m.To {
			if autoAddr[to] {
				t.Errorf("an automatic reply's sender %s was written to", to)
			}
		}
		r, err := mail.CreateReader(bytes.NewReader(m.Data))
		if err != nil {
			t.Errorf("sink: unreadable message: %v", err)
			continue
		}
		subj, _ := r.Header.Subject()
		id, _ := r.Header.MessageID()
		ref := casefile.RefRE.FindString(subj)
		if ref == "" || !strings.Contains(subj, "application has been received") {
			continue
		}
		out.acks++
		if ackIDs[ref] == nil {
			ackIDs[ref] = map[string]int{}
		}
		ackIDs[ref][id]++
		ackTo[ref] = strings.Join(m.To, ",")
	}
	for _, ref := range refs {
		ids := ackIDs[ref]
		doubt := countOf(kinds[ref], "mail.in_doubt") > 0
		if doubt {
			out.inDoubt++
		}
		if len(ids) != 1 && !(doubt && len(ids) == 0) {
			t.Errorf("%s: %d distinct acknowledgements (%v), want 1 (or none, with the coordinator told it is in doubt)", ref, len(ids), ids)
			continue
		}
		for id, n := range ids {
			out.duplicateAcks += n - 1
			if !ourMessageID.MatchString(id) {
				t.Errorf("%s: acknowledgement Message-ID %q, want one of ours (ct. and an HMAC)", ref, id)
			}
		}
		if a, ok := refOf[ref]; ok && len(ids) == 1 && ackTo[ref] != a.email {
			t.Errorf("%s: acknowledgement to %q, want the applicant %q", ref, ackTo[ref], a.email)
		}
	}
	if n := queryInt(t, db, `SELECT count(DISTINCT case_id) FROM messages WHERE direction = 'out' AND kind = 'ack'`); n+out.inDoubt != len(apps) {
		t.Errorf("the case file records %d cases acknowledged and %d in doubt, want %d in all", n, out.inDoubt, len(apps))
	}
	return out
}

// ourMessageID is what the Message-IDs of our mail look like: "ct." and 32
// characters of an HMAC, on our domain; they name nothing.
var ourMessageID = regexp.MustCompile(`^ct\.[a-z2-7]{32}@example-council\.gov\.uk$`)

func countOf(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

func queryString(t testing.TB, db *sql.DB, q string, args ...any) string {
	t.Helper()
	var s string
	if err := db.QueryRow(q, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

// httpGet returns the status and body of GET url.
func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// testClock is the store's clock in the in-process tests: it runs at rate
// times real time (1 unless set) plus an offset the test moves forward, so
// that the outbox's backoff (run_after is Store.Now plus the wait) passes
// without the test sleeping through it.
type testClock struct {
	mu       sync.Mutex
	base     time.Time // the clock's reading at since
	since    time.Time // real time
	rate     float64
	advanced time.Duration // by Advance, in all
}

func newTestClock() *testClock {
	now := time.Now()
	return &testClock{base: now, since: now, rate: 1}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *testClock) nowLocked() time.Time {
	return c.base.Add(time.Duration(float64(time.Since(c.since)) * c.rate))
}

// SetRate makes the clock run rate times as fast as real time from now on.
func (c *testClock) SetRate(rate float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.since, c.rate = c.nowLocked(), time.Now(), rate
}

// Advance moves the clock forward by d at once.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base = c.base.Add(d)
	c.advanced += d
}

// Advanced is how far Advance has moved the clock.
func (c *testClock) Advanced() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.advanced
}
