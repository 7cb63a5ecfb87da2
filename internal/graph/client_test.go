package graph_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/csp/trigger/internal/graph"
	"github.com/csp/trigger/internal/graphemu"
)

func TestDeltaPaging(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	w.c.PageSize = 3
	for i := range 7 {
		w.deliver(t, "inbox", message(fmt.Sprint("p", i)))
	}
	inbox, err := w.c.FolderID(t.Context(), mbox, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	changes, link, err := w.c.Delta(t.Context(), mbox, inbox, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 7 || link == "" {
		t.Fatalf("first round: %d changes, link %q", len(changes), link)
	}
	for i, ch := range changes {
		if ch.InternetMessageID != msgID(fmt.Sprint("p", i)) || ch.ID == "" || ch.ReceivedAt.IsZero() || ch.ParentFolderID != inbox || ch.Removed {
			t.Errorf("change %d: %+v", i, ch)
		}
	}
	if n := len(w.callsOf("delta")); n != 3 {
		t.Errorf("%d delta requests for 7 messages in pages of 3, want 3", n)
	}

	changes, link, err = w.c.Delta(t.Context(), mbox, inbox, link)
	if err != nil || len(changes) != 0 {
		t.Fatalf("a round with nothing new: %v, %v", changes, err)
	}
	w.deliver(t, "inbox", message("p7"))
	changes, _, err = w.c.Delta(t.Context(), mbox, inbox, link)
	if err != nil || len(changes) != 1 || changes[0].InternetMessageID != msgID("p7") {
		t.Fatalf("after one arrival: %+v, %v", changes, err)
	}
}

// intake stands in for the service's Graph intake: it stores each message
// once, recognised by Graph id or internetMessageId, and only then moves
// it to Processed.
type intake struct {
	c                 *graph.Client
	inbox, processed  string
	link              string
	stored            map[string]int // internetMessageId → times stored
	ids               map[string]bool
	crashBeforeMoving map[string]bool // stored, then the service died before the move
}

func (in *intake) poll(ctx context.Context) error {
	changes, link, err := in.c.Delta(ctx, mbox, in.inbox, in.link)
	if errors.Is(err, graph.ErrResync) {
		changes, link, err = in.c.Delta(ctx, mbox, in.inbox, "")
	}
	if err != nil {
		return err
	}
	for _, ch := range changes {
		if ch.Removed {
			continue
		}
		if !in.ids[ch.ID] && in.stored[ch.InternetMessageID] == 0 {
			raw, err := in.c.Raw(ctx, mbox, ch.ID, 1<<20)
			if err != nil {
				return err
			}
			if !bytes.Contains(raw, []byte(ch.InternetMessageID)) {
				return fmt.Errorf("raw of %s is another message", ch.ID)
			}
			in.stored[ch.InternetMessageID]++
			in.ids[ch.ID] = true
		}
		if in.crashBeforeMoving[ch.InternetMessageID] {
			delete(in.crashBeforeMoving, ch.InternetMessageID)
			continue
		}
		if _, err := in.c.Move(ctx, mbox, ch.ID, in.processed); err != nil {
			return err
		}
	}
	in.link = link
	return nil
}

func TestResyncLosesNoMessage(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	w.c.PageSize = 1
	ctx := t.Context()
	inbox, err := w.c.FolderID(ctx, mbox, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	processed, err := w.c.EnsureFolder(ctx, mbox, "Processed")
	if err != nil {
		t.Fatal(err)
	}
	in := &intake{c: w.c, inbox: inbox, processed: processed, stored: map[string]int{}, ids: map[string]bool{},
		crashBeforeMoving: map[string]bool{msgID("m3"): true}}
	for _, id := range []string{"m1", "m2", "m3"} {
		w.deliver(t, "inbox", message(id))
	}
	if err := in.poll(ctx); err != nil {
		t.Fatal(err)
	}

	// Graph drops the delta state; m4 arrives before the next poll, and m5
	// while the resync round is being paged.
	w.e.ExpireDeltaTokens()
	w.deliver(t, "inbox", message("m4"))
	var mu sync.Mutex
	deltaCalls := 0
	w.e.OnRequest(func(c graphemu.Call) {
		if c.Op != "delta" {
			return
		}
		mu.Lock()
		deltaCalls++
		n := deltaCalls
		mu.Unlock()
		if n == 3 { // the old link (410), the resync's first page, now its second
			if _, err := w.e.Deliver(mbox, "inbox", message("m5")); err != nil {
				t.Error(err)
			}
		}
	})
	if err := in.poll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := in.poll(ctx); err != nil {
		t.Fatal(err)
	}

	for _, id := range []string{"m1", "m2", "m3", "m4", "m5"} {
		if n := in.stored[msgID(id)]; n != 1 {
			t.Errorf("%s stored %d times, want exactly once", id, n)
		}
	}
	if left := w.e.Messages(mbox, "inbox"); len(left) != 0 {
		t.Errorf("%d messages left in the inbox", len(left))
	}
	if done := w.e.Messages(mbox, "Processed"); len(done) != 5 {
		t.Errorf("%d messages in Processed, want 5", len(done))
	}
	gone := 0
	for _, c := range w.callsOf("delta") {
		if c.Status == http.StatusGone && c.Code == "syncStateNotFound" {
			gone++
		}
	}
	if gone != 1 {
		t.Errorf("%d delta answers were 410 syncStateNotFound, want 1", gone)
	}
}

func TestResyncCases(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	inbox, _ := w.c.FolderID(t.Context(), mbox, "inbox")
	_, link, err := w.c.Delta(t.Context(), mbox, inbox, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ResyncRequired", func(t *testing.T) {
		w.e.ResetDeltaTokens()
		_, _, err := w.c.Delta(t.Context(), mbox, inbox, link)
		if !errors.Is(err, graph.ErrResync) || graph.IsPermanent(err) {
			t.Fatalf("after a reset: %v", err)
		}
	})
	t.Run("LinkForAnotherEndpoint", func(t *testing.T) {
		foreign := strings.Replace(link, w.e.URL(), "https://graph.example", 1)
		_, _, err := w.c.Delta(t.Context(), mbox, inbox, foreign)
		if !errors.Is(err, graph.ErrResync) {
			t.Fatalf("a stored link for another host: %v", err)
		}
		for _, c := range w.e.Calls() {
			if strings.Contains(c.Path, "graph.example") {
				t.Error("the token went to another host")
			}
		}
	})
}

func TestMoveAndIDs(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	ctx := t.Context()
	inbox, _ := w.c.FolderID(ctx, mbox, "inbox")

	t.Run("MutableIDsChange", func(t *testing.T) {
		c := w.client(w.tokens)
		c.MutableIDs = true
		w.deliver(t, "inbox", message("mut"))
		changes, _, err := c.Delta(ctx, mbox, inbox, "")
		if err != nil {
			t.Fatal(err)
		}
		old := changes[len(changes)-1].ID
		moved, err := c.Move(ctx, mbox, old, "archive")
		if err != nil {
			t.Fatal(err)
		}
		if moved == old {
			t.Fatal("the id did not change on move")
		}
		_, err = c.Raw(ctx, mbox, old, 1<<20)
		if !graph.IsNotFound(err) || !graph.IsPermanent(err) {
			t.Errorf("raw by the id before the move: %v", err)
		}
		raw, err := c.Raw(ctx, mbox, moved, 1<<20)
		if err != nil || !bytes.Equal(raw, message("mut")) {
			t.Errorf("raw by the new id: %q, %v", raw, err)
		}
	})
	t.Run("ImmutableIDsStay", func(t *testing.T) {
		w.deliver(t, "inbox", message("imm"))
		changes, _, err := w.c.Delta(ctx, mbox, inbox, "")
		if err != nil {
			t.Fatal(err)
		}
		id := changes[len(changes)-1].ID
		moved, err := w.c.Move(ctx, mbox, id, "archive")
		if err != nil || moved != id {
			t.Fatalf("move with immutable ids: %q, %v (was %q)", moved, err, id)
		}
		if got := w.e.Messages(mbox, "archive"); got[len(got)-1].InternetMessageID != msgID("imm") {
			t.Errorf("archive: %+v", got)
		}
	})
}

const letter = "From: Community Safety <cst@council.example>\r\nTo: Resident <resident@example.org>\r\n" +
	"Subject: [CT-2026-0001] Your application\r\nMessage-ID: <ct-2026-0001.ack.9f3c@trigger.council.example>\r\n" +
	"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nWe have your application.\r\n"

func TestSendMIME(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	ctx := t.Context()

	t.Run("KeepsOurMessageIDInSentItems", func(t *testing.T) {
		if err := w.c.SendMIME(ctx, mbox, []byte(letter)); err != nil {
			t.Fatal(err)
		}
		sent := w.e.Sent(mbox)
		if len(sent) != 1 || sent[0].InternetMessageID != "<ct-2026-0001.ack.9f3c@trigger.council.example>" || string(sent[0].Raw) != letter {
			t.Fatalf("sent items: %+v", sent)
		}
	})
	t.Run("TooLargeIsRefusedBeforeSending", func(t *testing.T) {
		before := len(w.callsOf("sendMail"))
		big := letter + strings.Repeat("x", 3<<20+1<<19)
		err := w.c.SendMIME(ctx, mbox, []byte(big))
		if !errors.Is(err, graph.ErrTooLarge) || !graph.IsPermanent(err) {
			t.Fatalf("a 3.5 MB message: %v", err)
		}
		if n := len(w.callsOf("sendMail")); n != before {
			t.Errorf("the oversize message was posted")
		}
	})
	t.Run("ThrottledIsRetried", func(t *testing.T) {
		w.e.Throttle(1, time.Second)
		before := len(w.e.Sent(mbox))
		if err := w.c.SendMIME(ctx, mbox, []byte(strings.Replace(letter, "9f3c", "t1", 1))); err != nil {
			t.Fatal(err)
		}
		if n := len(w.e.Sent(mbox)); n != before+1 {
			t.Errorf("sent %d, want one more than %d", n, before)
		}
	})
	t.Run("ServerFaultIsInDoubtAndNotRepeated", func(t *testing.T) {
		w.e.InjectFault(graphemu.Fault{Op: "sendMail", Status: 503})
		before := len(w.callsOf("sendMail"))
		err := w.c.SendMIME(ctx, mbox, []byte(strings.Replace(letter, "9f3c", "t2", 1)))
		if err == nil || graph.Refused(err) || graph.IsPermanent(err) {
			t.Fatalf("a 503 to sendMail: %v (refused %v)", err, graph.Refused(err))
		}
		if n := len(w.callsOf("sendMail")) - before; n != 1 {
			t.Errorf("sendMail tried %d times after a 503, want once: the outbox decides", n)
		}
	})
	t.Run("SendAsAnotherIsRefused", func(t *testing.T) {
		err := w.c.SendMIME(ctx, mbox, []byte(strings.Replace(letter, "From: Community Safety <cst@", "From: <chief@", 1)))
		if !graph.Refused(err) || !graph.IsPermanent(err) || strings.Contains(err.Error(), "resident@example.org") {
			t.Fatalf("send as another mailbox: %v", err)
		}
	})
}

func TestThrottlingIsHonoured(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	id := w.deliver(t, "inbox", message("thr"))
	w.e.Throttle(3, 2*time.Second)
	raw, err := w.c.Raw(t.Context(), mbox, id, 1<<20)
	if err != nil || !bytes.Equal(raw, message("thr")) {
		t.Fatalf("raw after throttling: %v", err)
	}
	calls := w.callsOf("value")
	var statuses []int
	for _, c := range calls {
		statuses = append(statuses, c.Status)
	}
	if fmt.Sprint(statuses) != "[429 429 429 200]" {
		t.Fatalf("statuses %v: a client that retries before Retry-After is refused again", statuses)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i].At.Before(calls[i-1].At.Add(2 * time.Second)) {
			t.Errorf("attempt %d came %s after the 429 that said Retry-After: 2", i+1, calls[i].At.Sub(calls[i-1].At))
		}
	}
	if got := fmt.Sprint(w.Sleeps()); got != "[2s 2s 2s]" {
		t.Errorf("waits %s, want the Retry-After each time", got)
	}

	t.Run("ServiceUnavailable", func(t *testing.T) {
		w.e.InjectFault(graphemu.Fault{Op: "delta", Status: 503, RetryAfter: 7 * time.Second})
		w.e.InjectFault(graphemu.Fault{Op: "delta", Status: 504})
		inbox, _ := w.c.FolderID(t.Context(), mbox, "inbox")
		changes, _, err := w.c.Delta(t.Context(), mbox, inbox, "")
		if err != nil || len(changes) != 1 {
			t.Fatalf("delta after 503 and 504: %v, %v", changes, err)
		}
		if s := w.Sleeps(); s[3] != 7*time.Second || s[4] <= 0 {
			t.Errorf("waits %v: want Retry-After 7s, then a backoff", s)
		}
	})
	t.Run("GivesUpAfterMaxAttempts", func(t *testing.T) {
		c := w.client(w.tokens)
		c.MaxAttempts = 2
		w.e.Throttle(5, time.Second)
		_, err := c.Raw(t.Context(), mbox, id, 1<<20)
		after, ok := graph.RetryAfter(err)
		if err == nil || graph.IsPermanent(err) || !ok || after != time.Second {
			t.Fatalf("still throttled after 2 attempts: %v (retry after %v)", err, after)
		}
		w.e.Throttle(0, 0)
		w.e.Advance(time.Minute)
	})
}

func TestConcurrencyPerMailbox(t *testing.T) {
	t.Run("AtMostFour", func(t *testing.T) {
		w := newWorld(t, graphemu.Options{})
		var ids []string
		for i := range 10 {
			ids = append(ids, w.deliver(t, "inbox", message(fmt.Sprint("c", i))))
		}
		hold := w.e.HoldRequests()
		errs := make(chan error, len(ids))
		for _, id := range ids {
			go func() {
				_, err := w.c.Raw(t.Context(), mbox, id, 1<<20)
				errs <- err
			}()
		}
		// Four requests are in flight at Graph, held there; the six others
		// must be waiting in the client, not sent.
		for hold.Held() < 4 || graph.Waiting(w.c, mbox) < len(ids)-4 {
			if len(errs) > 0 || len(w.e.Calls()) > 4 {
				t.Fatalf("%d held, %d waiting in the client, %d requests at Graph", hold.Held(), graph.Waiting(w.c, mbox), len(w.e.Calls()))
			}
			time.Sleep(time.Millisecond)
		}
		hold.Release()
		for range ids {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		if got := w.e.PeakConcurrency(appID, mbox); got != 4 {
			t.Errorf("peak concurrency %d, want 4", got)
		}
		for _, c := range w.e.Calls() {
			if c.Status == http.StatusTooManyRequests {
				t.Errorf("a request was throttled: %+v", c)
			}
		}
	})
	t.Run("AFifthIsRefusedByGraph", func(t *testing.T) {
		// The control: without the client's cap, Graph refuses the fifth.
		w := newWorld(t, graphemu.Options{})
		id := w.deliver(t, "inbox", message("c"))
		c := w.client(w.tokens)
		c.MaxConcurrent, c.MaxAttempts = 5, 1
		hold := w.e.HoldRequests()
		errs := make(chan error, 5)
		for range 5 {
			go func() {
				_, err := c.Raw(t.Context(), mbox, id, 1<<20)
				errs <- err
			}()
		}
		var ge *graph.Error
		if err := <-errs; !errors.As(err, &ge) || ge.Code != "ApplicationThrottled" || !strings.Contains(err.Error(), "MailboxConcurrency") {
			t.Fatalf("the fifth request: %v", err)
		}
		hold.Release()
		for range 4 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	})
}

// unknownTokens hands out a different token Graph does not know each time.
type unknownTokens struct {
	mu sync.Mutex
	n  int
}

func (s *unknownTokens) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return &oauth2.Token{AccessToken: fmt.Sprint("forged-", s.n)}, nil
}

func TestUnauthorized(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	id := w.deliver(t, "inbox", message("auth"))

	t.Run("RenewedOnce", func(t *testing.T) {
		if _, err := w.c.Raw(t.Context(), mbox, id, 1<<20); err != nil {
			t.Fatal(err)
		}
		tok, _ := w.tokens.Token()
		w.e.RevokeToken(tok.AccessToken)
		before := len(w.callsOf("value"))
		if _, err := w.c.Raw(t.Context(), mbox, id, 1<<20); err != nil {
			t.Fatal(err)
		}
		var statuses []int
		for _, c := range w.callsOf("value")[before:] {
			statuses = append(statuses, c.Status)
		}
		if fmt.Sprint(statuses) != "[401 200]" || w.tokens.Issued() != 2 {
			t.Errorf("statuses %v with %d tokens issued, want [401 200] and 2", statuses, w.tokens.Issued())
		}
	})
	t.Run("RefusedTwiceIsPermanent", func(t *testing.T) {
		c := w.client(&unknownTokens{})
		before := len(w.callsOf("value"))
		_, err := c.Raw(t.Context(), mbox, id, 1<<20)
		var ge *graph.Error
		if !errors.As(err, &ge) || ge.Status != 401 || ge.Code != "InvalidAuthenticationToken" || !graph.IsPermanent(err) {
			t.Fatalf("a token refused twice: %v", err)
		}
		if n := len(w.callsOf("value")) - before; n != 2 {
			t.Errorf("%d attempts, want 2 (one renewal)", n)
		}
	})
	t.Run("StaticTokenIsNotRetried", func(t *testing.T) {
		c := w.client(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "forged"}))
		before := len(w.callsOf("value"))
		_, err := c.Raw(t.Context(), mbox, id, 1<<20)
		if !graph.IsPermanent(err) || len(w.callsOf("value"))-before != 1 {
			t.Fatalf("a source that cannot renew: %v after %d calls", err, len(w.callsOf("value"))-before)
		}
	})
}

func TestForbiddenNamesTheRole(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	w.e.AddApp("reader")
	w.e.Grant("reader", mbox, graphemu.MailRead)
	reader := w.client(&emuTokens{e: w.e, app: "reader"})
	id := w.deliver(t, "inbox", message("forb"))

	before := len(w.e.Calls())
	_, err := reader.Move(t.Context(), mbox, id, "archive")
	if !graph.IsPermanent(err) || !graph.Refused(err) || !strings.Contains(err.Error(), "Mail.ReadWrite") || !strings.Contains(err.Error(), "ErrorAccessDenied") {
		t.Errorf("move without Mail.ReadWrite: %v", err)
	}
	err = reader.SendMIME(t.Context(), mbox, []byte(letter))
	if !graph.IsPermanent(err) || !strings.Contains(err.Error(), "Mail.Send") {
		t.Errorf("send without Mail.Send: %v", err)
	}
	if n := len(w.e.Calls()) - before; n != 2 {
		t.Errorf("%d requests for two refusals: a 403 is not retried", n)
	}
	if len(w.e.Sent(mbox)) != 0 || len(w.e.Messages(mbox, "archive")) != 0 {
		t.Error("a refused request changed the mailbox")
	}
}

func TestOversizeMessage(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	big := append(message("big"), bytes.Repeat([]byte("0123456789abcdef"), 24<<20/16)...)
	id := w.deliver(t, "inbox", big)
	_, err := w.c.Raw(t.Context(), mbox, id, 1<<20)
	if !errors.Is(err, graph.ErrTooLarge) || !graph.IsPermanent(err) {
		t.Fatalf("a 24 MB message with a 1 MB cap: %v", err)
	}
	w.e.WaitIdle(t.Context().Done())
	calls := w.callsOf("value")
	last := calls[len(calls)-1]
	if last.Complete || last.Written >= int64(len(big)) {
		t.Errorf("the client read the whole message: %d of %d bytes, complete %v", last.Written, len(big), last.Complete)
	}
	fits := append(message("fits"), bytes.Repeat([]byte("x"), 100<<10)...)
	raw, err := w.c.Raw(t.Context(), mbox, w.deliver(t, "inbox", fits), int64(len(fits)))
	if err != nil || !bytes.Equal(raw, fits) {
		t.Errorf("a message of exactly the cap: %d bytes, %v", len(raw), err)
	}
}

func TestEnsureFolder(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	ctx := t.Context()
	id, err := w.c.EnsureFolder(ctx, mbox, "Processed")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Processed", "processed"} {
		if again, err := w.c.EnsureFolder(ctx, mbox, name); err != nil || again != id {
			t.Errorf("EnsureFolder(%q) again: %q, %v; want %q", name, again, err, id)
		}
	}
	if _, err := w.c.EnsureFolder(ctx, mbox, "Bob's"); err != nil {
		t.Errorf("a name with a quote: %v", err)
	}

	t.Run("MadeMeanwhile", func(t *testing.T) {
		other := w.client(w.tokens)
		var fired atomic.Bool
		w.e.OnRequest(func(c graphemu.Call) {
			// The other instance makes the folder between this client's
			// look and its create.
			if c.Op == "createFolder" && fired.CompareAndSwap(false, true) {
				if _, err := other.EnsureFolder(ctx, mbox, "Quarantine"); err != nil {
					t.Error(err)
				}
			}
		})
		defer w.e.OnRequest(nil)
		q, err := w.c.EnsureFolder(ctx, mbox, "Quarantine")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range w.e.Folders(mbox) {
			if f.DisplayName == "Quarantine" {
				n++
				if f.ID != q {
					t.Errorf("EnsureFolder gave %q, the folder is %q", q, f.ID)
				}
			}
		}
		if n != 1 {
			t.Errorf("%d Quarantine folders", n)
		}
		conflicts := 0
		for _, c := range w.callsOf("createFolder") {
			if c.Code == "ErrorFolderExists" {
				conflicts++
			}
		}
		if conflicts != 1 {
			t.Errorf("%d ErrorFolderExists answers, want the race's 1", conflicts)
		}
	})
	for _, f := range w.e.Folders(mbox) {
		if f.DisplayName == "Processed" && f.ParentID != w.e.Folders(mbox)[0].ID {
			t.Errorf("Processed is not a top-level folder: %+v", f)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Run("AllGranted", func(t *testing.T) {
		w := newWorld(t, graphemu.Options{})
		steps := w.c.Check(t.Context(), mbox, "Processed", "Quarantine")
		want := []string{"graph token", "graph mailbox", "graph folder Processed", "graph folder Quarantine", "graph send"}
		if len(steps) != len(want) {
			t.Fatalf("steps %+v", steps)
		}
		for i, s := range steps {
			if s.Step != want[i] || !s.OK || s.Detail == "" {
				t.Errorf("step %d: %+v", i, s)
			}
		}
		if !strings.Contains(steps[2].Detail, "created") {
			t.Errorf("a missing folder's step: %q", steps[2].Detail)
		}
		if again := w.c.Check(t.Context(), mbox, "Processed"); !strings.Contains(again[2].Detail, "exists") {
			t.Errorf("second check: %+v", again[2])
		}
		if n := len(w.e.Sent(mbox)); n != 0 {
			t.Errorf("the check sent %d messages", n)
		}
	})
	t.Run("NoSendRole", func(t *testing.T) {
		w := newWorld(t, graphemu.Options{})
		w.e.Revoke(appID, mbox, graphemu.MailSend)
		steps := w.c.Check(t.Context(), mbox)
		last := steps[len(steps)-1]
		if last.Step != "graph send" || last.OK || !strings.Contains(last.Detail, "Mail.Send") {
			t.Errorf("send step: %+v", last)
		}
	})
	t.Run("SendOnly", func(t *testing.T) {
		// An app that only sends needs no role to read the mailbox.
		w := newWorld(t, graphemu.Options{})
		w.e.Revoke(appID, mbox, graphemu.MailReadWrite)
		steps := w.c.CheckWith(t.Context(), mbox, graph.Checks{Send: true})
		if len(steps) != 2 || steps[0].Step != "graph token" || steps[1].Step != "graph send" || !steps[1].OK {
			t.Errorf("steps %+v", steps)
		}
		read := w.c.CheckWith(t.Context(), mbox, graph.Checks{Read: true, Folders: []string{"Processed"}})
		if len(read) != 2 || read[1].Step != "graph mailbox" || read[1].OK || !strings.Contains(read[1].Detail, "Mail.ReadWrite") {
			t.Errorf("reading without the role: %+v", read)
		}
	})
	t.Run("NoSuchMailbox", func(t *testing.T) {
		w := newWorld(t, graphemu.Options{})
		steps := w.c.Check(t.Context(), "typo@council.example", "Processed")
		if len(steps) != 2 || steps[1].OK || !strings.Contains(steps[1].Detail, "no such user") {
			t.Errorf("steps %+v", steps)
		}
	})
}

func TestLogsNameNoAddressOrContent(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w.c.Logger = log
	id := w.deliver(t, "inbox", message("logged"))
	w.e.Throttle(1, time.Second)
	w.e.InjectFault(graphemu.Fault{Op: "value", Status: 503})
	tok, _ := w.tokens.Token()
	w.e.RevokeToken(tok.AccessToken)
	if _, err := w.c.Raw(t.Context(), mbox, id, 1<<20); err != nil {
		t.Fatal(err)
	}
	down := w.client(w.tokens)
	down.BaseURL, down.MaxAttempts, down.Logger = "http://127.0.0.1:1", 2, log
	if _, err := down.Raw(t.Context(), mbox, id, 1<<20); err == nil {
		t.Fatal("no error from a server that is not there")
	}
	out := buf.String()
	if strings.Count(out, "graph: retrying") != 3 || !strings.Contains(out, "token refused") {
		t.Errorf("the log does not tell the retries:\n%s", out)
	}
	if strings.Contains(out, "@") || strings.Contains(out, "Loud music") || strings.Contains(out, id) {
		t.Errorf("the log names an address, a message id or content:\n%s", out)
	}
}

// TestHeadersOfOversizeMessage: what is kept of a message too large to
// download is its header, read from internetMessageHeaders, in order,
// folded fields on one line.
func TestHeadersOfOversizeMessage(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	raw := []byte("Received: from mx.example.org\r\n\tby outlook.example; Mon, 2 Mar 2026 10:00:00 +0000\r\n" +
		"From: Resident <resident@example.org>\r\nTo: cst@council.example\r\nSubject: Video of the\r\n =?utf-8?q?riders?=\r\n" +
		"Message-ID: <big@example.org>\r\n\r\n" + strings.Repeat("0123456789abcdef", 1<<16))
	id := w.deliver(t, "inbox", raw)
	if _, err := w.c.Raw(t.Context(), mbox, id, 1<<10); !errors.Is(err, graph.ErrTooLarge) {
		t.Fatalf("Raw with a 1 KB cap: %v", err)
	}
	head, err := w.c.Headers(t.Context(), mbox, id)
	if err != nil {
		t.Fatal(err)
	}
	want := "Received: from mx.example.org by outlook.example; Mon, 2 Mar 2026 10:00:00 +0000\r\n" +
		"From: Resident <resident@example.org>\r\nTo: cst@council.example\r\nSubject: Video of the =?utf-8?q?riders?=\r\n" +
		"Message-ID: <big@example.org>\r\n\r\n"
	if string(head) != want {
		t.Errorf("headers:\n%q\nwant\n%q", head, want)
	}
}
