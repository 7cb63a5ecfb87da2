package graphemu

import (
	"fmt"
	"time"
)

// Message is a message as a test sees it.
type Message struct {
	ID                string // the REST id now (it changes when the message moves)
	ImmutableID       string
	FolderID          string
	Folder            string // the folder's display name
	InternetMessageID string
	Subject           string
	Received          time.Time
	Raw               []byte
}

// Folder is a mail folder as a test sees it.
type Folder struct {
	ID          string
	DisplayName string
	ParentID    string
	WellKnown   string // "inbox", …; empty for a created folder
}

// Deliver puts a message into a mailbox's folder (an id or well-known
// name), as mail arriving from outside does, and returns its REST id.
func (e *Emulator) Deliver(mailbox, folder string, raw []byte) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	mb := e.lookupMailbox(mailbox)
	if mb == nil {
		return "", fmt.Errorf("graphemu: deliver: no mailbox %q", mailbox)
	}
	f := mb.folder(folder)
	if f == nil {
		return "", fmt.Errorf("graphemu: deliver: no folder %q", folder)
	}
	return e.storeLocked(mb, f.id, append([]byte(nil), raw...)).restID, nil
}

func (e *Emulator) storeLocked(mb *mailbox, folderID string, raw []byte) *message {
	e.msgSeq++
	now := e.clock.Now()
	m := &message{
		immutableID: newImmutableID(),
		restID:      newRestID(),
		folderID:    folderID,
		raw:         raw,
		received:    now,
		modified:    now,
		seq:         e.msgSeq,
	}
	m.internetMessageID, m.subject, m.from, m.to = parseMessage(raw)
	mb.messages[m.immutableID] = m
	mb.restIDs[m.restID] = m.immutableID
	return m
}

// Delete removes a message, as a person emptying it from Deleted Items
// does. id is a REST or an immutable id.
func (e *Emulator) Delete(mailbox, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	mb := e.lookupMailbox(mailbox)
	if mb == nil {
		return fmt.Errorf("graphemu: delete: no mailbox %q", mailbox)
	}
	m := mb.message(id)
	if m == nil {
		return fmt.Errorf("graphemu: delete: no message %q", id)
	}
	delete(mb.restIDs, m.restID)
	delete(mb.messages, m.immutableID)
	return nil
}

// Messages lists the messages in a folder (an id, well-known name or
// display name), oldest first.
func (e *Emulator) Messages(mailbox, folder string) []Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	mb := e.mustMailbox(mailbox)
	f := mb.folder(folder)
	if f == nil {
		for _, c := range mb.folders {
			if c.displayName == folder {
				f = c
			}
		}
	}
	if f == nil {
		return nil
	}
	var out []Message
	for _, m := range mb.inFolder(f.id) {
		out = append(out, Message{
			ID: m.restID, ImmutableID: m.immutableID, FolderID: f.id, Folder: f.displayName,
			InternetMessageID: m.internetMessageID, Subject: m.subject, Received: m.received,
			Raw: append([]byte(nil), m.raw...),
		})
	}
	return out
}

// Sent lists the messages in the mailbox's Sent Items: what sendMail sent.
func (e *Emulator) Sent(mailbox string) []Message { return e.Messages(mailbox, "sentitems") }

// Folders lists a mailbox's folders in the order they were made.
func (e *Emulator) Folders(mailbox string) []Folder {
	e.mu.Lock()
	defer e.mu.Unlock()
	mb := e.mustMailbox(mailbox)
	var list []*folder
	for _, f := range mb.folders {
		list = append(list, f)
	}
	sortBy(list, func(f *folder) int64 { return f.created })
	var out []Folder
	for _, f := range list {
		out = append(out, Folder{ID: f.id, DisplayName: f.displayName, ParentID: f.parentID, WellKnown: f.wellKnown})
	}
	return out
}
