package graphemu

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// Permission is an Exchange Online application role an app is granted on
// a mailbox with RBAC for Applications ("Application Mail.ReadWrite").
type Permission string

const (
	MailRead      Permission = "Mail.Read"
	MailReadWrite Permission = "Mail.ReadWrite"
	MailSend      Permission = "Mail.Send"
)

// wellKnownFolders are the well-known folder names the emulator creates in
// every mailbox, with their display names (mailFolder resource type).
var wellKnownFolders = []struct{ name, display string }{
	{"inbox", "Inbox"},
	{"sentitems", "Sent Items"},
	{"drafts", "Drafts"},
	{"deleteditems", "Deleted Items"},
	{"junkemail", "Junk Email"},
	{"archive", "Archive"},
	{"outbox", "Outbox"},
}

type mailbox struct {
	id      string // a GUID, like a user's object id
	upn     string
	enabled bool // has an Exchange Online mailbox

	rootID    string
	folders   map[string]*folder  // by id
	wellKnown map[string]string   // well-known name → folder id
	messages  map[string]*message // by immutable id
	restIDs   map[string]string   // current REST id → immutable id

	tokens   map[string]*tokenState // delta state tokens ($skiptoken, $deltatoken)
	tokenSeq int64
}

type folder struct {
	id, displayName, parentID string
	wellKnown                 string
	created                   int64 // order of creation, for stable listings
}

type message struct {
	immutableID string
	restID      string // changes on every move
	folderID    string
	raw         []byte
	received    time.Time
	modified    time.Time
	version     int // bumped on every change: the changeKey
	seq         int64
	downloads   int // $value downloads, for Options.MIMEVaries

	internetMessageID string
	subject           string
	from              string
	to                []string
}

func (m *message) changeKey() string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "CQAAAB%s%d", m.immutableID[:8], m.version))
}

// id answers the message's id in the form the request asked for.
func (m *message) id(immutable bool) string {
	if immutable {
		return m.immutableID
	}
	return m.restID
}

func newMailbox(upn string, enabled bool) *mailbox {
	mb := &mailbox{
		id:        newGUID(),
		upn:       upn,
		enabled:   enabled,
		folders:   map[string]*folder{},
		wellKnown: map[string]string{},
		messages:  map[string]*message{},
		restIDs:   map[string]string{},
		tokens:    map[string]*tokenState{},
	}
	root := &folder{id: newFolderID(), displayName: "Top of Information Store", parentID: newFolderID(), wellKnown: "msgfolderroot"}
	mb.rootID = root.id
	mb.folders[root.id] = root
	mb.wellKnown["msgfolderroot"] = root.id
	for i, wk := range wellKnownFolders {
		f := &folder{id: newFolderID(), displayName: wk.display, parentID: root.id, wellKnown: wk.name, created: int64(i + 1)}
		mb.folders[f.id] = f
		mb.wellKnown[wk.name] = f.id
	}
	return mb
}

// folder resolves a folder id or well-known name (case-insensitive, as
// Graph takes them) to the folder.
func (mb *mailbox) folder(idOrName string) *folder {
	if f, ok := mb.folders[idOrName]; ok {
		return f
	}
	if id, ok := mb.wellKnown[strings.ToLower(idOrName)]; ok {
		return mb.folders[id]
	}
	return nil
}

// message resolves a REST id or an immutable id; a REST id the message
// had before it moved names nothing.
func (mb *mailbox) message(id string) *message {
	if m, ok := mb.messages[id]; ok {
		return m
	}
	if key, ok := mb.restIDs[id]; ok {
		return mb.messages[key]
	}
	return nil
}

func (mb *mailbox) children(parentID string) []*folder {
	var out []*folder
	for _, f := range mb.folders {
		if f.parentID == parentID {
			out = append(out, f)
		}
	}
	sortBy(out, func(f *folder) int64 { return f.created })
	return out
}

func (mb *mailbox) inFolder(folderID string) []*message {
	var out []*message
	for _, m := range mb.messages {
		if m.folderID == folderID {
			out = append(out, m)
		}
	}
	sortBy(out, func(m *message) int64 { return m.seq })
	return out
}

func (mb *mailbox) counts(folderID string) (total int) {
	for _, m := range mb.messages {
		if m.folderID == folderID {
			total++
		}
	}
	return total
}

// parseMessage reads the headers the emulator shows as properties. A
// message net/mail cannot read is stored all the same, as Exchange stores
// mail it cannot parse well; its properties stay empty.
func parseMessage(raw []byte) (msgID, subject, from string, to []string) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", "", "", nil
	}
	h := m.Header
	msgID = strings.TrimSpace(h.Get("Message-Id"))
	subject = h.Get("Subject")
	if a, err := mail.ParseAddress(h.Get("From")); err == nil {
		from = a.Address
	}
	for _, field := range []string{"To", "Cc", "Bcc"} {
		if h.Get(field) == "" {
			continue
		}
		if list, err := h.AddressList(field); err == nil {
			for _, a := range list {
				to = append(to, a.Address)
			}
		}
	}
	return msgID, subject, from, to
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// Ids look like Exchange's: URL-safe base64 with a recognisable prefix.
func newRestID() string      { return "AAMkAGE" + randomString(64) + "AAA=" }
func newImmutableID() string { return "AAkALgAA" + randomString(64) + "AAA=" }
func newFolderID() string    { return "AAMkAGI" + randomString(40) + "AAA=" }
func newToken() string       { return randomString(43) }

func newGUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func sortBy[T any](s []T, key func(T) int64) {
	slices.SortFunc(s, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
}
