package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// TestEdgeBadMail delivers, between good applications, mail the service
// cannot read: over imap.max_message_size, MIME nested too deeply, too many
// parts, a header over the limit, a multipart without its end, an
// attachment that is not base64. Each is quarantined — moved to the
// Quarantine folder and kept in the case file with its error, and its raw
// bytes (the header only, for the one too big to download) — and `trigger
// quarantine list` shows them; every good application around them becomes
// a case with its channel and acknowledgement.
func TestEdgeBadMail(t *testing.T) {
	w := newWorld(t, worldOptions{})
	cfg := w.config()
	cfg.IMAP.MaxMessageSize = 256 << 10
	store, err := sqlite.Open(w.db, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var logs syncBuffer
	srv, stop := w.serveInProcess(&cfg, store, &logs)

	type bad struct {
		key, err string
		raw      []byte
		header   bool // only the header is kept
	}
	var bads []bad
	for _, f := range []struct{ file, key, err string }{
		{"deep-nesting.eml", "deep-1@example.net", "nested too deeply"},
		{"many-parts.eml", "many-parts-1@example.net", "too many MIME parts"},
		{"huge-header.eml", "huge-header-1@example.net", "header too large"},
		{"broken-boundary.eml", "broken-boundary-1@example.net", "multipart"},
		{"corrupt-base64-attachment.eml", "corrupt-att-1@example.net", "cannot be decoded"},
	} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "mailin", "testdata", f.file))
		if err != nil {
			t.Fatal(err)
		}
		// IMAP carries lines ending CRLF: that is what the server hands out.
		bads = append(bads, bad{key: f.key, err: f.err, raw: crlf(strings.ReplaceAll(string(raw), "\r\n", "\n"))})
	}
	big := crlf("From: Rita Gomez <rita.gomez@example.net>\nTo: communitytrigger@example-council.gov.uk\nSubject: photos of the damage\n" +
		"Date: " + mailDate(time.Now().Add(-time.Hour)) + "\nMessage-ID: <oversize-1@example.net>\nMIME-Version: 1.0\nContent-Type: text/plain\n\n" +
		strings.Repeat("a very long diary of what happened, day after day\n", 7000))
	bads = append(bads, bad{key: "oversize-1@example.net", err: "is over the limit of 262144 bytes (imap.max_message_size)", raw: big, header: true})

	apps := applications("edge", 4)
	for i, b := range bads {
		if i < len(apps) {
			w.deliver(apps[i])
		}
		w.deliver(application{raw: b.raw})
	}
	waitFor(t, 60*time.Second, "the good mail to be worked and the bad set aside", func() bool {
		p := w.progress(time.Now())
		return p.drained(len(apps)) && p.processed == len(apps)+len(bads)
	})
	if q, p := w.count("Quarantine"), w.count("Processed"); q != len(bads) || p != len(apps) {
		t.Errorf("Quarantine %d, Processed %d; want %d and %d", q, p, len(bads), len(apps))
	}
	w.checkWorld(t, apps, nil)

	list, err := store.QuarantineList(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]casefile.QuarantineRecord{}
	for _, r := range list {
		byKey[r.MessageKey] = r
	}
	if len(list) != len(bads) {
		t.Errorf("%d messages in quarantine, want %d: %+v", len(list), len(bads), list)
	}
	for _, b := range bads {
		r, ok := byKey[b.key]
		if !ok {
			t.Errorf("%s is not in quarantine", b.key)
			continue
		}
		if !strings.Contains(r.Error, b.err) {
			t.Errorf("%s: quarantined with %q, want it to say %q", b.key, r.Error, b.err)
		}
		item, err := store.QuarantineItem(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case b.header:
			if !bytes.HasPrefix(b.raw, item.Raw) || !bytes.HasSuffix(item.Raw, []byte("\r\n\r\n")) || len(item.Raw) > 4096 {
				t.Errorf("%s: kept %d bytes, want its header only", b.key, len(item.Raw))
			}
		case !bytes.Equal(item.Raw, b.raw):
			t.Errorf("%s: kept %d bytes, not the %d bytes received", b.key, len(item.Raw), len(b.raw))
		}
	}

	// What the operator sees.
	code, out, errs := run(t, w.dir, "", nil, "quarantine", "list")
	if code != 0 {
		t.Fatalf("quarantine list: exit %d: %s", code, errs)
	}
	for _, b := range bads {
		if !strings.Contains(out, b.key) {
			t.Errorf("quarantine list does not show %s:\n%s", b.key, out)
		}
	}
	if got := strings.Count(out, "waiting"); got != len(bads) {
		t.Errorf("quarantine list shows %d waiting, want %d:\n%s", got, len(bads), out)
	}
	code, out, _ = run(t, w.dir, "", nil, "quarantine", "list", "--json")
	var recs []map[string]any
	if err := json.Unmarshal([]byte(out), &recs); code != 0 || err != nil || len(recs) != len(bads) {
		t.Errorf("quarantine list --json: exit %d, %v, %d records", code, err, len(recs))
	}

	_, metricsText := httpGet(t, "http://"+srv.HTTPAddr()+"/metrics")
	checkMetrics(t, metricsText, map[string]float64{
		`trigger_messages_ingested_total{outcome="created"}`:     float64(len(apps)),
		`trigger_messages_ingested_total{outcome="quarantined"}`: float64(len(bads)),
	}, nil, apps)
	if err := stop(); err != nil {
		t.Errorf("serve returned %v", err)
	}
	if t.Failed() {
		t.Logf("service log:\n%s", logs.tail(8<<10))
	}
}

// TestEdgeSlackHTTP sends the service's HTTP-mode endpoints what Slack
// never would: a click with a forged signature, a properly signed click
// replayed six minutes later, forged and stale events — each gets 401 —
// and a properly signed click on a button the service does not know, which
// gets a polite "That button is no longer in use." to the clicker alone.
// None of them changes anything; then a real click through Slack works.
func TestEdgeSlackHTTP(t *testing.T) {
	w := newWorld(t, worldOptions{mode: "http"})
	cfg := w.config()
	store, err := sqlite.Open(w.db, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var logs syncBuffer
	srv, stop := w.serveInProcess(&cfg, store, &logs)
	base := "http://" + srv.HTTPAddr()
	// In HTTP mode Slack calls us: only the database and IMAP can be down.
	waitFor(t, 20*time.Second, "/readyz to answer 200", func() bool {
		code, _ := httpGet(t, base+"/readyz")
		return code == http.StatusOK
	})

	apps := applications("http", 1)
	w.deliver(apps...)
	waitFor(t, 30*time.Second, "the case channel and card", func() bool { return w.progress(time.Now()).drained(1) })
	ref := w.refs(t)[0]
	ch, ok := w.emu.ChannelByName("ct-" + strings.ToLower(strings.TrimPrefix(ref, "CT-")))
	if !ok {
		t.Fatal("no case channel")
	}
	scs, err := store.Channel(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}

	secret := w.emu.SigningSecret()
	const form = "application/x-www-form-urlencoded"
	accept := blockActions(w.emu, w.coord, ch.ID, scs.CardTS, bot.ActionAccept, ref)
	unknown := blockActions(w.emu, w.coord, ch.ID, scs.CardTS, "retired_button_v1", ref)
	event, _ := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": w.emu.TeamID(), "api_app_id": w.emu.AppID(),
		"event_id": "Ev0EDGE0001", "event_time": time.Now().Unix(),
		"event": map[string]any{"type": "message", "channel": ch.ID, "user": w.police, "text": "nothing held",
			"ts": "1760000100.000100", "thread_ts": scs.CardTS, "channel_type": "group", "event_ts": "1760000100.000100"},
	})

	before := snapshot(t, store, w, ref, ch.ID)
	for _, r := range []struct {
		name, path, ctype string
		body              []byte
		secret            string
		at                time.Time
	}{
		{"ForgedSignature", "/slack/interactivity", form, accept, "not-the-signing-secret", time.Now()},
		{"ReplayedSixMinutesLater", "/slack/interactivity", form, accept, secret, time.Now().Add(-6 * time.Minute)},
		{"EventForged", "/slack/events", "application/json", event, "not-the-signing-secret", time.Now()},
		{"EventReplayed", "/slack/events", "application/json", event, secret, time.Now().Add(-6 * time.Minute)},
	} {
		if code, body := signedPost(t, base+r.path, r.ctype, r.body, r.secret, r.at); code != http.StatusUnauthorized {
			t.Errorf("%s: %d %q, want 401", r.name, code, body)
		}
	}
	srv.slackHTTP.Wait()
	if after := snapshot(t, store, w, ref, ch.ID); after != before {
		t.Errorf("a refused request changed something:\nbefore %s\nafter  %s", before, after)
	}
	for _, u := range []string{w.coord, w.chair, w.police, w.council, w.housing} {
		if e := w.emu.Ephemerals(u); len(e) != 0 {
			t.Errorf("a refused request answered %s: %+v", u, e)
		}
	}

	// A button the service does not know, signed as Slack signs it.
	if code, body := signedPost(t, base+"/slack/interactivity", form, unknown, secret, time.Now()); code != http.StatusOK {
		t.Fatalf("unknown button: %d %q, want 200 (acknowledged)", code, body)
	}
	srv.slackHTTP.Wait()
	var eph []slackemu.Ephemeral
	waitFor(t, 10*time.Second, "the reply to the unknown button", func() bool {
		eph = w.emu.Ephemerals(w.coord)
		return len(eph) > 0
	})
	if len(eph) != 1 || eph[0].Text != "That button is no longer in use." || eph[0].Channel != ch.ID {
		t.Errorf("ephemerals to the coordinator: %+v", eph)
	}
	for _, u := range []string{w.chair, w.police, w.council, w.housing} {
		if e := w.emu.Ephemerals(u); len(e) != 0 {
			t.Errorf("someone else (%s) was told: %+v", u, e)
		}
	}
	if after := snapshot(t, store, w, ref, ch.ID); after != before {
		t.Errorf("the unknown button changed something:\nbefore %s\nafter  %s", before, after)
	}

	// The door is shut to forgeries only: the coordinator's real click
	// (the emulator signs it) is done.
	res, err := w.emu.ClickButton(w.coord, ch.ID, scs.CardTS, bot.ActionAccept, ref)
	if err != nil || !res.Acked {
		t.Fatalf("a real click: %+v %v", res, err)
	}
	waitFor(t, 10*time.Second, "the case to be accepted", func() bool {
		c, err := store.Case(context.Background(), ref)
		return err == nil && c.Status == casefile.StatusGathering
	})
	if err := stop(); err != nil {
		t.Errorf("serve returned %v", err)
	}
	if t.Failed() {
		t.Logf("service log:\n%s", logs.tail(8<<10))
	}
}

// blockActions is the form body Slack posts when user clicks the button
// actionID (value) on the message ts.
func blockActions(emu *slackemu.Emulator, user, channel, ts, actionID, value string) []byte {
	p, _ := json.Marshal(map[string]any{
		"type": "block_actions", "api_app_id": emu.AppID(), "team": map[string]any{"id": emu.TeamID()},
		"user": map[string]any{"id": user}, "trigger_id": "13345224609.738474920.8088930838d88f008e0",
		"channel":   map[string]any{"id": channel},
		"container": map[string]any{"type": "message", "message_ts": ts, "channel_id": channel},
		"actions": []any{map[string]any{
			"type": "button", "action_id": actionID, "block_id": "card_actions", "value": value, "action_ts": "1760000000.000001",
		}},
	})
	return []byte("payload=" + url.QueryEscape(string(p)))
}

// signedPost posts body signed with secret as of at, as Slack does.
func signedPost(t *testing.T, u, ctype string, body []byte, secret string, at time.Time) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", slackemu.Sign(secret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// snapshot sums up what a request could change: the case, its audit
// trail, its outbox, the channel, and the forms open on people's screens.
func snapshot(t *testing.T, store *sqlite.Store, w *world, ref, channel string) string {
	t.Helper()
	ctx := context.Background()
	c, err := store.Case(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := store.Events(ctx, ref)
	jobs, _ := store.Jobs(ctx, ref)
	var views int
	for _, u := range []string{w.coord, w.chair, w.police, w.council, w.housing} {
		views += len(w.emu.OpenViews(u))
	}
	return fmt.Sprintf("status %s, %d events, %d jobs, %d messages in the channel, %d open views",
		c.Status, len(evs), len(jobs), len(w.emu.Messages(channel)), views)
}

// TestEdgeBadConfig starts `trigger serve` with what an operator might get
// wrong: a bad value, an unknown key, a missing secret, a port in use.
// Each exits 1 with a message naming the key or the variable, and the
// mailbox is left as it was: nothing read, nothing lost.
func TestEdgeBadConfig(t *testing.T) {
	w := newWorld(t, worldOptions{})
	good := w.toml()
	apps := applications("config", 3)
	w.deliver(apps...)
	goodText, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{}
	for _, kv := range w.env() {
		k, v, _ := strings.Cut(kv, "=")
		secrets[k] = v
	}
	without := func(key string) map[string]string {
		env := map[string]string{}
		for k, v := range secrets {
			if k != key {
				env[k] = v
			}
		}
		return env
	}
	edit := func(name, old, new string) string {
		if !strings.Contains(string(goodText), old) {
			t.Fatalf("the configuration has no %q", old)
		}
		p := filepath.Join(w.dir, name)
		os.WriteFile(p, []byte(strings.Replace(string(goodText), old, new, 1)), 0o600)
		return p
	}
	busy := freeAddrListening(t)

	for _, tc := range []struct {
		name, config string
		env          map[string]string
		want         string
	}{
		{"BadValue", edit("bad-value.toml", `tls = "none"`, `tls = "sometimes"`), secrets, `imap.tls: "sometimes" is not one of implicit, starttls, none`},
		{"UnknownKey", edit("unknown-key.toml", "[slack]\n", "[slack]\nchanel_prefix = \"ct-\"\n"), secrets, "slack.chanel_prefix: unknown key"},
		{"BadTOML", edit("bad-toml.toml", "[http]\n", "[http\n"), secrets, "bad-toml.toml"},
		{"MissingAppToken", good, without("TRIGGER_SLACK_APP_TOKEN"), "TRIGGER_SLACK_APP_TOKEN: not set, but slack.mode is socket"},
		{"MissingIMAPPassword", good, without("TRIGGER_IMAP_PASSWORD"), "TRIGGER_IMAP_PASSWORD: not set, but imap.address is"},
		{"MissingSigningSecret", edit("http-mode.toml", `mode = "socket"`, `mode = "http"`), secrets, "TRIGGER_SLACK_SIGNING_SECRET: not set, but slack.mode is http"},
		{"PortInUse", edit("port-in-use.toml", `listen = "`+w.http+`"`, `listen = "`+busy+`"`), secrets, "http.listen " + busy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return tc.env[k] }}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			code := m.Run(ctx, []string{"--config", tc.config, "serve"})
			if code != exitFail || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, errb.String(), tc.want)
			}
			if strings.Contains(errb.String(), "panic") {
				t.Errorf("stderr: %s", errb.String())
			}
		})
	}
	if n := w.count("INBOX"); n != len(apps) {
		t.Errorf("INBOX holds %d messages after the failed starts, want %d", n, len(apps))
	}
}

// freeAddrListening returns an address something already listens on.
func freeAddrListening(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}
