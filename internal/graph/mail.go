package graph

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Change is one entry of a delta round: a message now in the folder (new,
// or changed since the last round), or one that left it.
type Change struct {
	ID                string // Graph's id (immutable unless Client.MutableIDs)
	InternetMessageID string // the Message-ID header, angle brackets included
	ReceivedAt        time.Time
	ParentFolderID    string
	// Removed: the message was deleted or moved out of the folder; only ID
	// is set.
	Removed bool
}

// deltaSelect is what a delta round asks for: enough to dedupe and order,
// nothing of a message's content.
const deltaSelect = "internetMessageId,receivedDateTime,parentFolderId"

// Delta runs one delta round over a folder of the mailbox: from scratch
// when deltaLink is "", else from the deltaLink of the previous round. It
// follows every @odata.nextLink and returns the changes and the new
// deltaLink, to be stored as the checkpoint once the changes are handled.
//
// When Graph has dropped the state (410 Gone) or deltaLink is not for this
// endpoint, the error wraps ErrResync: call again with "" and skip the
// messages already handled. The same message may appear twice in a round
// (Graph's replays); the caller dedupes.
func (c *Client) Delta(ctx context.Context, mailbox, folderID, deltaLink string) ([]Change, string, error) {
	op := "delta of folder " + folderID + " in " + mailbox
	link := deltaLink
	if link == "" {
		link = c.userURL(mailbox, "mailFolders", folderID, "messages", "delta") + "?$select=" + deltaSelect
	} else if !c.sameOrigin(link) {
		return nil, "", fmt.Errorf("graph: %s: the stored deltaLink is not for %s: %w", op, c.base(), ErrResync)
	}
	var changes []Change
	seen := map[string]bool{}
	for {
		if seen[link] {
			return nil, "", fmt.Errorf("graph: %s: Graph handed out the same page link twice", op)
		}
		seen[link] = true
		var page struct {
			Value []struct {
				ID                string          `json:"id"`
				InternetMessageID string          `json:"internetMessageId"`
				ReceivedDateTime  string          `json:"receivedDateTime"`
				ParentFolderID    string          `json:"parentFolderId"`
				Removed           json.RawMessage `json:"@removed"`
			} `json:"value"`
			NextLink  string `json:"@odata.nextLink"`
			DeltaLink string `json:"@odata.deltaLink"`
		}
		err := c.getJSON(ctx, request{op: op, kind: "delta", mailbox: mailbox, url: link,
			pageSize: cmp.Or(c.PageSize, 50), need: "Mail.ReadWrite"}, &page)
		var ge *Error
		if errors.As(err, &ge) && (ge.Status == http.StatusGone || ge.Code == "syncStateNotFound" || ge.Code == "resyncRequired") {
			return nil, "", fmt.Errorf("%w: %w", ErrResync, err)
		}
		if err != nil {
			return nil, "", err
		}
		for _, v := range page.Value {
			ch := Change{ID: v.ID, InternetMessageID: v.InternetMessageID, ParentFolderID: v.ParentFolderID,
				Removed: len(v.Removed) > 0 && string(v.Removed) != "null"}
			if v.ReceivedDateTime != "" {
				t, err := time.Parse(time.RFC3339, v.ReceivedDateTime)
				if err != nil {
					return nil, "", fmt.Errorf("graph: %s: message %s: receivedDateTime %q: %w", op, v.ID, v.ReceivedDateTime, err)
				}
				ch.ReceivedAt = t
			}
			changes = append(changes, ch)
		}
		switch {
		case page.DeltaLink != "":
			return changes, page.DeltaLink, nil
		case page.NextLink == "":
			return nil, "", fmt.Errorf("graph: %s: a page with neither @odata.nextLink nor @odata.deltaLink", op)
		case !c.sameOrigin(page.NextLink):
			return nil, "", fmt.Errorf("graph: %s: @odata.nextLink points away from %s: not followed", op, c.base())
		}
		link = page.NextLink
	}
}

// Raw downloads a message's MIME content ($value). It stops reading past
// max bytes and returns an error wrapping ErrTooLarge (permanent: the
// intake quarantines the message).
func (c *Client) Raw(ctx context.Context, mailbox, id string, max int64) ([]byte, error) {
	if max <= 0 {
		return nil, fmt.Errorf("graph: raw message %s: the size cap must be positive", id)
	}
	resp, err := c.do(ctx, request{op: "raw message " + id + " in " + mailbox, kind: "value", mailbox: mailbox,
		method: http.MethodGet, url: c.userURL(mailbox, "messages", id) + "/$value", need: "Mail.ReadWrite", limit: max})
	if err != nil {
		return nil, err
	}
	return resp.body, nil
}

// Headers returns a message's header as an RFC 5322 header block (each
// field on one line, ending with the blank line), from its
// internetMessageHeaders: what the intake keeps of a message too large to
// download. A field Graph gives without a usable name is left out.
func (c *Client) Headers(ctx context.Context, mailbox, id string) ([]byte, error) {
	var m struct {
		Headers []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"internetMessageHeaders"`
	}
	err := c.getJSON(ctx, request{op: "headers of message " + id + " in " + mailbox, kind: "headers", mailbox: mailbox,
		url: c.userURL(mailbox, "messages", id) + "?$select=internetMessageHeaders", need: "Mail.ReadWrite"}, &m)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	unfold := strings.NewReplacer("\r", "", "\n", " ")
	for _, h := range m.Headers {
		name := strings.TrimSpace(h.Name)
		if name == "" || strings.ContainsAny(name, ": \t\r\n") {
			continue
		}
		b.WriteString(name + ": " + unfold.Replace(h.Value) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

// Move moves a message to a folder (an id or a well-known name) and
// returns its id there: a new one unless ids are immutable. Move is safe to
// repeat in effect: a message moved by an earlier attempt is not found
// (IsNotFound) under an id it no longer has.
func (c *Client) Move(ctx context.Context, mailbox, id, destFolderID string) (string, error) {
	body, _ := json.Marshal(map[string]string{"destinationId": destFolderID})
	req := request{op: "move message " + id + " in " + mailbox, kind: "move", mailbox: mailbox, method: http.MethodPost,
		url: c.userURL(mailbox, "messages", id, "move"), body: body, contentType: "application/json", need: "Mail.ReadWrite"}
	resp, err := c.do(ctx, req)
	if err != nil {
		return "", err
	}
	var moved struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp.body, &moved); err != nil || moved.ID == "" {
		return "", fmt.Errorf("graph: %s: the answer names no message", req.op)
	}
	return moved.ID, nil
}

// FolderID returns the id of a well-known folder ("inbox").
func (c *Client) FolderID(ctx context.Context, mailbox, wellKnown string) (string, error) {
	var f struct {
		ID string `json:"id"`
	}
	err := c.getJSON(ctx, request{op: "folder " + wellKnown + " of " + mailbox, kind: "folder", mailbox: mailbox,
		url: c.userURL(mailbox, "mailFolders", wellKnown), need: "Mail.ReadWrite"}, &f)
	if err != nil {
		return "", err
	}
	return f.ID, nil
}

// EnsureFolder returns the id of the top-level folder named displayName
// (beside the Inbox, where IMAP clients and the IMAP adapter keep
// Processed and Quarantine), creating it when there is none. Names
// compare without regard to case, as Exchange compares them.
func (c *Client) EnsureFolder(ctx context.Context, mailbox, displayName string) (string, error) {
	id, _, err := c.ensureFolder(ctx, mailbox, displayName)
	return id, err
}

func (c *Client) ensureFolder(ctx context.Context, mailbox, name string) (id string, created bool, err error) {
	if strings.TrimSpace(name) == "" {
		return "", false, errors.New("graph: a folder needs a name")
	}
	if id, err := c.findFolder(ctx, mailbox, name); err != nil || id != "" {
		return id, false, err
	}
	body, _ := json.Marshal(map[string]any{"displayName": name, "isHidden": false})
	req := request{op: "create folder " + name + " in " + mailbox, kind: "createFolder", mailbox: mailbox,
		method: http.MethodPost, url: c.userURL(mailbox, "mailFolders"), body: body, contentType: "application/json",
		need: "Mail.ReadWrite"}
	resp, err := c.do(ctx, req)
	var ge *Error
	if errors.As(err, &ge) && ge.Code == "ErrorFolderExists" {
		// Made meanwhile, by another instance or an attempt whose answer
		// was lost.
		id, err := c.findFolder(ctx, mailbox, name)
		if err == nil && id == "" {
			err = fmt.Errorf("graph: %s: Graph says it exists, but no top-level folder has that name", req.op)
		}
		return id, false, err
	}
	if err != nil {
		return "", false, err
	}
	var f struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp.body, &f); err != nil || f.ID == "" {
		return "", false, fmt.Errorf("graph: %s: the answer names no folder", req.op)
	}
	return f.ID, true, nil
}

func (c *Client) findFolder(ctx context.Context, mailbox, name string) (string, error) {
	filter := "displayName eq '" + strings.ReplaceAll(name, "'", "''") + "'"
	link := c.userURL(mailbox, "mailFolders") + "?$filter=" + url.QueryEscape(filter)
	for link != "" {
		var page struct {
			Value []struct {
				ID          string `json:"id"`
				DisplayName string `json:"displayName"`
			} `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		err := c.getJSON(ctx, request{op: "find folder " + name + " in " + mailbox, kind: "listFolders",
			mailbox: mailbox, url: link, need: "Mail.ReadWrite"}, &page)
		if err != nil {
			return "", err
		}
		for _, f := range page.Value {
			if strings.EqualFold(f.DisplayName, name) {
				return f.ID, nil
			}
		}
		if page.NextLink != "" && !c.sameOrigin(page.NextLink) {
			return "", fmt.Errorf("graph: find folder %s: @odata.nextLink points away from %s: not followed", name, c.base())
		}
		link = page.NextLink
	}
	return "", nil
}

// SendMIME sends a complete RFC 5322 message with sendMail, which keeps
// our Message-ID and headers and saves a copy to Sent Items. The message
// must be from the mailbox itself.
//
// It is repeated only after 429 (Graph throttles before it does
// anything). Any other failure is returned: Refused(err) means Graph
// answered and did not send it; otherwise the message may or may not have
// gone (the outbox's "in doubt").
func (c *Client) SendMIME(ctx context.Context, mailbox string, raw []byte) error {
	op := "send mail from " + mailbox
	if base64.StdEncoding.EncodedLen(len(raw)) > MaxSendBytes {
		return fmt.Errorf("graph: %s: %d bytes of MIME are over sendMail's 4 MB request limit once encoded: %w", op, len(raw), ErrTooLarge)
	}
	body := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	base64.StdEncoding.Encode(body, raw)
	_, err := c.do(ctx, request{op: op, kind: "sendMail", mailbox: mailbox, method: http.MethodPost,
		url: c.userURL(mailbox, "sendMail"), body: body, contentType: "text/plain", policy: retryThrottled, need: "Mail.Send"})
	return err
}

// probeSend asks sendMail to send a body that is not base64, which can
// never be sent, to learn whether the app holds Mail.Send.
func (c *Client) probeSend(ctx context.Context, mailbox string) error {
	_, err := c.do(ctx, request{op: "probe send permission of " + mailbox, kind: "sendMail", mailbox: mailbox,
		method: http.MethodPost, url: c.userURL(mailbox, "sendMail"), body: bytes.Repeat([]byte("!"), 4),
		contentType: "text/plain", policy: retryThrottled, need: "Mail.Send"})
	return err
}
