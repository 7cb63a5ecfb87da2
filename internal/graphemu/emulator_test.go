package graphemu_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/internal/graphemu"
)

const (
	mbox  = "cst@council.example"
	other = "chief@council.example"
	appID = "trigger"
)

type world struct {
	e     *graphemu.Emulator
	url   string
	token string
}

// newWorld serves an emulator with one mailbox the app may read, write
// and send from, and a second mailbox it has no role on.
func newWorld(t *testing.T, opts graphemu.Options) *world {
	t.Helper()
	e := graphemu.New(opts)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	e.SetBaseURL(srv.URL)
	e.AddMailbox(mbox)
	e.AddMailbox(other)
	e.AddApp(appID)
	e.Grant(appID, mbox, graphemu.MailReadWrite, graphemu.MailSend)
	return &world{e: e, url: srv.URL, token: e.IssueToken(appID, time.Hour)}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %s", a.status, err, a.body)
	}
	return v
}

// code is the error code of a Graph error body.
func (a answer) code(t *testing.T) string {
	t.Helper()
	e, _ := a.json(t)["error"].(map[string]any)
	if e == nil {
		t.Fatalf("answer %d has no error object: %s", a.status, a.body)
	}
	return fmt.Sprint(e["code"])
}

func (w *world) call(t *testing.T, method, path string, body []byte, headers ...string) answer {
	t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = w.url + path
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+w.token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: res.StatusCode, header: res.Header, body: data}
}

func mustStatus(t *testing.T, a answer, status int, code string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	if code != "" {
		if got := a.code(t); got != code {
			t.Fatalf("code %q, want %q: %s", got, code, a.body)
		}
	}
}

func message(id string) []byte {
	return []byte("From: Resident <resident@example.org>\r\nTo: cst@council.example\r\nSubject: Noise " + id +
		"\r\nMessage-ID: <" + id + "@example.org>\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\nLoud music every night.\r\n")
}

func TestAuthentication(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	inbox := "/v1.0/users/" + mbox + "/mailFolders/inbox"

	t.Run("NoToken", func(t *testing.T) {
		w := *w
		w.token = ""
		a := w.call(t, "GET", inbox, nil)
		mustStatus(t, a, 401, "InvalidAuthenticationToken")
		if a.header.Get("WWW-Authenticate") == "" {
			t.Error("a 401 without WWW-Authenticate")
		}
	})
	t.Run("UnknownToken", func(t *testing.T) {
		w := *w
		w.token = "forged"
		mustStatus(t, w.call(t, "GET", inbox, nil), 401, "InvalidAuthenticationToken")
	})
	t.Run("ExpiredToken", func(t *testing.T) {
		w := *w
		w.token = w.e.IssueToken(appID, time.Minute)
		mustStatus(t, w.call(t, "GET", inbox, nil), 200, "")
		w.e.Advance(2 * time.Minute)
		a := w.call(t, "GET", inbox, nil)
		mustStatus(t, a, 401, "InvalidAuthenticationToken")
		if !strings.Contains(string(a.body), "expired") {
			t.Errorf("an expired token's refusal does not say so: %s", a.body)
		}
	})
	t.Run("VerifiedElsewhere", func(t *testing.T) {
		w := newWorld(t, graphemu.Options{VerifyToken: func(tok string) (string, bool) {
			return appID, tok == "from-the-token-endpoint"
		}})
		w.token = "from-the-token-endpoint"
		mustStatus(t, w.call(t, "GET", inbox, nil), 200, "")
		w.token = "revoked-at-the-token-endpoint"
		mustStatus(t, w.call(t, "GET", inbox, nil), 401, "InvalidAuthenticationToken")
	})
	t.Run("MeIsDelegatedOnly", func(t *testing.T) {
		mustStatus(t, w.call(t, "GET", "/v1.0/me/mailFolders/inbox", nil), 400, "BadRequest")
	})
	t.Run("ErrorBodyShape", func(t *testing.T) {
		a := w.call(t, "GET", "/v1.0/users/"+other+"/mailFolders/inbox", nil, "client-request-id", "abc-123")
		e := a.json(t)["error"].(map[string]any)
		inner, _ := e["innerError"].(map[string]any)
		if e["message"] == "" || inner["request-id"] == "" || inner["date"] == nil || inner["client-request-id"] != "abc-123" {
			t.Errorf("error body is not Graph's shape: %s", a.body)
		}
		if a.header.Get("request-id") != inner["request-id"] {
			t.Errorf("request-id header %q differs from the body's %v", a.header.Get("request-id"), inner["request-id"])
		}
	})
}

func TestRBACForApplications(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	w.e.AddUserWithoutMailbox("nomail@council.example")
	w.e.AddApp("reader")
	w.e.Grant("reader", mbox, graphemu.MailRead)
	reader := *w
	reader.token = w.e.IssueToken("reader", time.Hour)
	id, err := w.e.Deliver(mbox, "inbox", message("m1"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("MailboxOutsideTheScope", func(t *testing.T) {
		mustStatus(t, w.call(t, "GET", "/v1.0/users/"+other+"/mailFolders/inbox", nil), 403, "ErrorAccessDenied")
	})
	t.Run("ReadRoleCannotMove", func(t *testing.T) {
		mustStatus(t, reader.call(t, "GET", "/v1.0/users/"+mbox+"/messages/"+id+"/$value", nil), 200, "")
		mustStatus(t, reader.call(t, "POST", "/v1.0/users/"+mbox+"/messages/"+id+"/move", []byte(`{"destinationId":"archive"}`),
			"Content-Type", "application/json"), 403, "ErrorAccessDenied")
	})
	t.Run("SendNeedsMailSendBeforeTheBodyIsRead", func(t *testing.T) {
		mustStatus(t, reader.call(t, "POST", "/v1.0/users/"+mbox+"/sendMail", []byte("!!!"), "Content-Type", "text/plain"), 403, "ErrorAccessDenied")
		mustStatus(t, w.call(t, "POST", "/v1.0/users/"+mbox+"/sendMail", []byte("!!!"), "Content-Type", "text/plain"), 400, "ErrorMimeContentInvalidBase64String")
		if n := len(w.e.Sent(mbox)); n != 0 {
			t.Errorf("a probe was sent: %d in Sent Items", n)
		}
	})
	t.Run("UnknownUser", func(t *testing.T) {
		mustStatus(t, w.call(t, "GET", "/v1.0/users/nobody@council.example/mailFolders/inbox", nil), 404, "ErrorInvalidUser")
	})
	t.Run("UserWithoutMailbox", func(t *testing.T) {
		mustStatus(t, w.call(t, "GET", "/v1.0/users/nomail@council.example/mailFolders/inbox", nil), 404, "MailboxNotEnabledForRESTAPI")
	})
	t.Run("RevokedRole", func(t *testing.T) {
		w.e.Revoke("reader", mbox, graphemu.MailRead)
		mustStatus(t, reader.call(t, "GET", "/v1.0/users/"+mbox+"/mailFolders/inbox", nil), 403, "ErrorAccessDenied")
	})
}

func TestMoveChangesTheID(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	move := func(id, dest string, prefer ...string) answer {
		return w.call(t, "POST", "/v1.0/users/"+mbox+"/messages/"+url.PathEscape(id)+"/move",
			[]byte(`{"destinationId":"`+dest+`"}`), append([]string{"Content-Type", "application/json"}, prefer...)...)
	}

	t.Run("RestID", func(t *testing.T) {
		id, _ := w.e.Deliver(mbox, "inbox", message("rest"))
		a := move(id, "archive")
		mustStatus(t, a, 201, "")
		moved := a.json(t)
		newID := moved["id"].(string)
		if newID == id {
			t.Fatal("the moved message kept its id; Graph gives it a new one")
		}
		mustStatus(t, w.call(t, "GET", "/v1.0/users/"+mbox+"/messages/"+id+"/$value", nil), 404, "ErrorItemNotFound")
		raw := w.call(t, "GET", "/v1.0/users/"+mbox+"/messages/"+newID+"/$value", nil)
		mustStatus(t, raw, 200, "")
		if !bytes.Equal(raw.body, message("rest")) {
			t.Errorf("$value after the move: %q", raw.body)
		}
		if got := w.e.Messages(mbox, "archive"); len(got) != 1 || got[0].ID != newID || moved["parentFolderId"] != got[0].FolderID {
			t.Errorf("archive holds %+v; the answer said %v", got, moved)
		}
	})
	t.Run("ImmutableID", func(t *testing.T) {
		w.e.Deliver(mbox, "inbox", message("imm"))
		list := w.call(t, "GET", "/v1.0/users/"+mbox+"/mailFolders/inbox/messages?$select=internetMessageId", nil,
			"Prefer", `IdType="ImmutableId"`).json(t)["value"].([]any)
		id := list[len(list)-1].(map[string]any)["id"].(string)
		a := move(id, "archive", "Prefer", `IdType="ImmutableId"`)
		mustStatus(t, a, 201, "")
		if a.json(t)["id"] != id {
			t.Errorf("an immutable id changed on move: %v -> %v", id, a.json(t)["id"])
		}
		mustStatus(t, w.call(t, "GET", "/v1.0/users/"+mbox+"/messages/"+id+"/$value", nil), 200, "")
	})
	t.Run("UnknownDestination", func(t *testing.T) {
		id, _ := w.e.Deliver(mbox, "inbox", message("nodest"))
		mustStatus(t, move(id, "AAMkAGInotafolder"), 404, "ErrorItemNotFound")
	})
}

// deltaRound follows a round to its deltaLink and returns its entries.
func (w *world) deltaRound(t *testing.T, link string, headers ...string) ([]map[string]any, string, int) {
	t.Helper()
	var entries []map[string]any
	pages := 0
	for {
		a := w.call(t, "GET", link, nil, headers...)
		mustStatus(t, a, 200, "")
		pages++
		page := a.json(t)
		for _, v := range page["value"].([]any) {
			entries = append(entries, v.(map[string]any))
		}
		if next, ok := page["@odata.nextLink"].(string); ok {
			if _, ok := page["@odata.deltaLink"]; ok {
				t.Fatal("a page with both links")
			}
			link = next
			continue
		}
		return entries, page["@odata.deltaLink"].(string), pages
	}
}

func TestDelta(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	first := "/v1.0/users/" + mbox + "/mailFolders/inbox/messages/delta?$select=internetMessageId,receivedDateTime"
	var ids []string
	for i := range 5 {
		id, _ := w.e.Deliver(mbox, "inbox", message(fmt.Sprint("d", i)))
		ids = append(ids, id)
	}
	entries, link, pages := w.deltaRound(t, first, "Prefer", "odata.maxpagesize=2")
	if len(entries) != 5 || pages != 3 {
		t.Fatalf("first round: %d entries in %d pages, want 5 in 3", len(entries), pages)
	}
	for i, e := range entries {
		if e["internetMessageId"] != fmt.Sprintf("<d%d@example.org>", i) || e["subject"] != nil || e["receivedDateTime"] == nil {
			t.Errorf("entry %d is not what $select asked for: %v", i, e)
		}
	}

	t.Run("NextRoundHasOnlyChanges", func(t *testing.T) {
		w.e.Deliver(mbox, "inbox", message("d5"))
		a := w.call(t, "POST", "/v1.0/users/"+mbox+"/messages/"+ids[1]+"/move", []byte(`{"destinationId":"archive"}`), "Content-Type", "application/json")
		mustStatus(t, a, 201, "")
		if err := w.e.Delete(mbox, ids[2]); err != nil {
			t.Fatal(err)
		}
		entries, next, _ := w.deltaRound(t, link)
		if len(entries) != 3 {
			t.Fatalf("second round: %v, want one new and two removed", entries)
		}
		if entries[0]["internetMessageId"] != "<d5@example.org>" {
			t.Errorf("new message: %v", entries[0])
		}
		removed := map[string]bool{}
		for _, e := range entries[1:] {
			r, _ := e["@removed"].(map[string]any)
			if r["reason"] != "deleted" {
				t.Errorf("removed entry shape: %v", e)
			}
			removed[e["id"].(string)] = true
		}
		if !removed[ids[1]] || !removed[ids[2]] {
			t.Errorf("removed %v, want the moved %s and the deleted %s under the ids the client knew", removed, ids[1], ids[2])
		}
		again, _, _ := w.deltaRound(t, next)
		if len(again) != 0 {
			t.Errorf("a round with no change returned %v", again)
		}
	})
	t.Run("ArrivalDuringARoundComesNextRound", func(t *testing.T) {
		a := w.call(t, "GET", first, nil, "Prefer", "odata.maxpagesize=1").json(t)
		w.e.Deliver(mbox, "inbox", message("late"))
		entries, next, _ := w.deltaRound(t, a["@odata.nextLink"].(string), "Prefer", "odata.maxpagesize=1")
		for _, e := range entries {
			if e["internetMessageId"] == "<late@example.org>" {
				t.Fatal("a message that arrived during the round came in it; the round is a snapshot")
			}
		}
		later, _, _ := w.deltaRound(t, next)
		if len(later) != 1 || later[0]["internetMessageId"] != "<late@example.org>" {
			t.Errorf("next round: %v, want the late message", later)
		}
	})
	t.Run("SizeIsNoMessageProperty", func(t *testing.T) {
		mustStatus(t, w.call(t, "GET", "/v1.0/users/"+mbox+"/mailFolders/inbox/messages/delta?$select=id,size", nil), 400, "RequestBroker--ParseUri")
	})
	t.Run("ExpiredToken", func(t *testing.T) {
		_, link, _ := w.deltaRound(t, first)
		w.e.ExpireDeltaTokens()
		mustStatus(t, w.call(t, "GET", link, nil), 410, "syncStateNotFound")
	})
	t.Run("ResetToken", func(t *testing.T) {
		_, link, _ := w.deltaRound(t, first)
		w.e.ResetDeltaTokens()
		a := w.call(t, "GET", link, nil)
		mustStatus(t, a, 410, "resyncRequired")
		loc := a.header.Get("Location")
		if loc == "" {
			t.Fatal("resyncRequired without a Location")
		}
		entries, _, _ := w.deltaRound(t, loc)
		if len(entries) != len(w.e.Messages(mbox, "inbox")) {
			t.Errorf("the Location's round has %d entries, the inbox %d messages", len(entries), len(w.e.Messages(mbox, "inbox")))
		}
	})
}

func TestDeltaTokenCacheCapacity(t *testing.T) {
	w := newWorld(t, graphemu.Options{DeltaTokenCapacity: 2})
	first := "/v1.0/users/" + mbox + "/mailFolders/inbox/messages/delta"
	_, oldest, _ := w.deltaRound(t, first)
	w.deltaRound(t, first)
	w.deltaRound(t, first)
	mustStatus(t, w.call(t, "GET", oldest, nil), 410, "syncStateNotFound")
}

func TestThrottling(t *testing.T) {
	t.Run("MailboxConcurrency", func(t *testing.T) {
		w := newWorld(t, graphemu.Options{})
		hold := w.e.HoldRequests()
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.call(t, "GET", "/v1.0/users/"+mbox+"/mailFolders/inbox", nil)
			}()
		}
		done := make(chan struct{})
		defer close(done)
		hold.WaitHeld(4, done)
		a := w.call(t, "GET", "/v1.0/users/"+mbox+"/mailFolders/inbox", nil)
		mustStatus(t, a, 429, "ApplicationThrottled")
		if !strings.Contains(string(a.body), "MailboxConcurrency") || a.header.Get("Retry-After") == "" {
			t.Errorf("concurrency refusal: %v %s", a.header, a.body)
		}
		// Another mailbox is another budget.
		w.e.Grant(appID, other, graphemu.MailRead)
		hold.Release()
		mustStatus(t, w.call(t, "GET", "/v1.0/users/"+other+"/mailFolders/inbox", nil), 200, "")
		wg.Wait()
		if got := w.e.PeakConcurrency(appID, mbox); got != 4 {
			t.Errorf("peak %d, want 4", got)
		}
	})
	t.Run("RetryAfterWindow", func(t *testing.T) {
		w := newWorld(t, graphemu.Options{})
		w.e.Throttle(1, 5*time.Second)
		a := w.call(t, "GET", "/v1.0/users/"+mbox+"/mailFolders/inbox", nil)
		mustStatus(t, a, 429, "ApplicationThrottled")
		if a.header.Get("Retry-After") != "5" {
			t.Errorf("Retry-After %q, want 5", a.header.Get("Retry-After"))
		}
		mustStatus(t, w.call(t, "GET", "/v1.0/users/"+mbox+"/mailFolders/inbox", nil), 429, "ApplicationThrottled")
		w.e.Advance(5 * time.Second)
		mustStatus(t, w.call(t, "GET", "/v1.0/users/"+mbox+"/mailFolders/inbox", nil), 200, "")
	})
	t.Run("RequestRate", func(t *testing.T) {
		w := newWorld(t, graphemu.Options{RateLimit: 3, RateWindow: time.Minute})
		for range 3 {
			mustStatus(t, w.call(t, "GET", "/v1.0/users/"+mbox+"/mailFolders/inbox", nil), 200, "")
		}
		a := w.call(t, "GET", "/v1.0/users/"+mbox+"/mailFolders/inbox", nil)
		mustStatus(t, a, 429, "ApplicationThrottled")
		if a.header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		w.e.Advance(time.Minute)
		mustStatus(t, w.call(t, "GET", "/v1.0/users/"+mbox+"/mailFolders/inbox", nil), 200, "")
	})
	t.Run("Faults", func(t *testing.T) {
		w := newWorld(t, graphemu.Options{})
		w.e.InjectFault(graphemu.Fault{Op: "getFolder", Status: 503, RetryAfter: 3 * time.Second})
		w.e.InjectFault(graphemu.Fault{Status: 504})
		a := w.call(t, "GET", "/v1.0/users/"+mbox+"/mailFolders/inbox", nil)
		mustStatus(t, a, 503, "serviceNotAvailable")
		if a.header.Get("Retry-After") != "3" {
			t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
		}
		mustStatus(t, w.call(t, "GET", "/v1.0/users/"+mbox+"/mailFolders/inbox", nil), 504, "")
		mustStatus(t, w.call(t, "GET", "/v1.0/users/"+mbox+"/mailFolders/inbox", nil), 200, "")
	})
}

func mime64(raw string) []byte { return []byte(base64.StdEncoding.EncodeToString([]byte(raw))) }

func TestSendMail(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	send := func(body []byte, ct string) answer {
		return w.call(t, "POST", "/v1.0/users/"+mbox+"/sendMail", body, "Content-Type", ct)
	}
	const letter = "From: Community Safety <cst@council.example>\r\nTo: resident@example.org\r\nSubject: [CT-2026-0001] Your application\r\n" +
		"Message-ID: <ct-2026-0001.ack.k3j@trigger.council.example>\r\nAuto-Submitted: auto-replied\r\n\r\nWe have your application.\r\n"

	t.Run("KeepsOurMessageIDAndSavesToSentItems", func(t *testing.T) {
		a := send(mime64(letter), "text/plain")
		mustStatus(t, a, 202, "")
		if len(a.body) != 0 {
			t.Errorf("202 with a body: %s", a.body)
		}
		sent := w.e.Sent(mbox)
		if len(sent) != 1 || sent[0].InternetMessageID != "<ct-2026-0001.ack.k3j@trigger.council.example>" || string(sent[0].Raw) != letter {
			t.Fatalf("sent items: %+v", sent)
		}
	})
	t.Run("Base64WithLineBreaks", func(t *testing.T) {
		enc := string(mime64(strings.Replace(letter, "k3j", "wrapped", 1)))
		var wrapped strings.Builder
		for len(enc) > 76 {
			wrapped.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		wrapped.WriteString(enc)
		mustStatus(t, send([]byte(wrapped.String()), "text/plain"), 202, "")
	})
	t.Run("AddsAMissingMessageID", func(t *testing.T) {
		before := len(w.e.Sent(mbox))
		mustStatus(t, send(mime64("To: resident@example.org\r\nSubject: no id\r\n\r\nx\r\n"), "text/plain"), 202, "")
		sent := w.e.Sent(mbox)
		if len(sent) != before+1 || sent[len(sent)-1].InternetMessageID == "" {
			t.Errorf("no Message-ID was given: %+v", sent[len(sent)-1])
		}
	})
	t.Run("Refusals", func(t *testing.T) {
		before := len(w.e.Sent(mbox))
		mustStatus(t, send([]byte("not base64!"), "text/plain"), 400, "ErrorMimeContentInvalidBase64String")
		mustStatus(t, send(mime64("Subject: nobody\r\n\r\nx\r\n"), "text/plain"), 400, "ErrorInvalidRecipients")
		mustStatus(t, send(mime64(strings.Replace(letter, "cst@council.example", "chief@council.example", 1)), "text/plain"), 403, "ErrorSendAsDenied")
		mustStatus(t, send([]byte(`{"message":{}}`), "application/json"), 400, "ErrorInvalidRequest")
		mustStatus(t, send(bytes.Repeat([]byte("QUFB"), 1<<20+1), "text/plain"), 413, "RequestEntityTooLarge")
		if n := len(w.e.Sent(mbox)); n != before {
			t.Errorf("refused messages reached Sent Items: %d, want %d", n, before)
		}
	})
}

func TestFolders(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	root := "/v1.0/users/" + mbox + "/mailFolders"
	create := func(path, name string) answer {
		return w.call(t, "POST", path, []byte(`{"displayName":`+fmt.Sprintf("%q", name)+`}`), "Content-Type", "application/json")
	}
	a := create(root, "Processed")
	mustStatus(t, a, 201, "")
	id := a.json(t)["id"].(string)
	mustStatus(t, create(root, "processed"), 409, "ErrorFolderExists")
	mustStatus(t, create(root+"/inbox/childFolders", "Processed"), 201, "")
	mustStatus(t, create(root, "Bob's"), 201, "")

	list := w.call(t, "GET", root+"?$filter="+url.QueryEscape("displayName eq 'processed'"), nil).json(t)["value"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != id {
		t.Errorf("filter found %v, want the top-level Processed %s", list, id)
	}
	list = w.call(t, "GET", root+"?$filter="+url.QueryEscape("displayName eq 'Bob''s'"), nil).json(t)["value"].([]any)
	if len(list) != 1 {
		t.Errorf("a doubled quote in the filter: %v", list)
	}
	mustStatus(t, w.call(t, "GET", root+"?$filter="+url.QueryEscape("startswith(displayName,'P')"), nil), 400, "ErrorInvalidUrlQueryFilter")

	all, _, pages := w.deltaRoundOrList(t, root+"?$top=5")
	if all != 9 || pages != 2 {
		t.Errorf("top-level folders: %d in %d pages, want 9 (7 well-known, 2 made) in 2 pages of 5", all, pages)
	}
}

// deltaRoundOrList counts the entries of a paged list.
func (w *world) deltaRoundOrList(t *testing.T, link string) (int, string, int) {
	t.Helper()
	n, pages := 0, 0
	for link != "" {
		a := w.call(t, "GET", link, nil)
		mustStatus(t, a, 200, "")
		pages++
		page := a.json(t)
		n += len(page["value"].([]any))
		link, _ = page["@odata.nextLink"].(string)
	}
	return n, link, pages
}

// TestMessageHeadersAndMIME: internetMessageHeaders only when named in
// $select; with MIMEVaries, no two downloads of a message alike.
func TestMessageHeadersAndMIME(t *testing.T) {
	raw := "From: a@example.org\r\nTo: cst@council.example\r\nSubject: long\r\n subject\r\nMessage-ID: <h@example.org>\r\n\r\nBody.\r\n"
	w := newWorld(t, graphemu.Options{MIMEVaries: true})
	id, err := w.e.Deliver(mbox, "inbox", []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	path := "/v1.0/users/" + mbox + "/messages/" + url.PathEscape(id)
	if _, ok := w.call(t, "GET", path, nil).json(t)["internetMessageHeaders"]; ok {
		t.Error("internetMessageHeaders came without $select")
	}
	hs := w.call(t, "GET", path+"?$select=internetMessageHeaders", nil).json(t)["internetMessageHeaders"].([]any)
	var got []string
	for _, h := range hs {
		m := h.(map[string]any)
		got = append(got, fmt.Sprintf("%s=%s", m["name"], m["value"]))
	}
	if strings.Join(got, "|") != "From=a@example.org|To=cst@council.example|Subject=long subject|Message-ID=<h@example.org>" {
		t.Errorf("internetMessageHeaders %q", got)
	}
	first, second := w.call(t, "GET", path+"/$value", nil), w.call(t, "GET", path+"/$value", nil)
	if bytes.Equal(first.body, second.body) || !bytes.HasSuffix(first.body, []byte(raw)) || !bytes.HasSuffix(second.body, []byte(raw)) {
		t.Errorf("two downloads:\n%q\n%q\nwant the message each time, not byte for byte the same", first.body, second.body)
	}
}
