package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// CheckStep is one line of `trigger mail check`: the JSON shape of its
// --json steps.
type CheckStep struct {
	Step   string `json:"step"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Check tries what the service will do with the mailbox, step by step:
// get a token, read the Inbox, find or create each folder (folders that
// are missing are created, as the intake would create them), and learn
// whether the app may send.
//
// Graph offers no documented way to test Mail.Send without sending. The
// send step posts a sendMail body that is not base64, which can never be
// sent: a 403 means the app lacks Mail.Send; a 400 saying the content is
// not base64 means the request passed the permission check. That Graph
// checks permission before it reads the body is observed behaviour, not a
// documented promise, so any other answer is reported as unknown.
func (c *Client) Check(ctx context.Context, mailbox string, folders ...string) []CheckStep {
	return c.CheckWith(ctx, mailbox, Checks{Read: true, Send: true, Folders: folders})
}

// Checks says what CheckWith tries besides the token: reading the mailbox
// (its Inbox, then finding or creating Folders), sending from it.
type Checks struct {
	Read, Send bool
	Folders    []string
}

// CheckWith is Check for a service that only reads, or only sends, through
// Graph: the steps of the other are left out.
func (c *Client) CheckWith(ctx context.Context, mailbox string, what Checks) []CheckStep {
	var steps []CheckStep
	add := func(step string, err error, ok string) bool {
		s := CheckStep{Step: step, OK: err == nil, Detail: ok}
		if err != nil {
			s.Detail = explain(err)
		}
		steps = append(steps, s)
		return err == nil
	}

	tok, err := c.token(nil)
	detail := "token obtained"
	if err == nil && !tok.Expiry.IsZero() {
		detail += fmt.Sprintf(", valid until %s", tok.Expiry.UTC().Format(time.RFC3339))
	}
	if !add("graph token", err, detail) {
		return steps
	}
	if what.Read {
		if _, err := c.FolderID(ctx, mailbox, "inbox"); !add("graph mailbox", err, "the Inbox of "+mailbox+" is readable") {
			return steps
		}
		for _, name := range what.Folders {
			_, created, err := c.ensureFolder(ctx, mailbox, name)
			detail := "folder " + name + " exists"
			if created {
				detail = "folder " + name + " was missing and has been created"
			}
			add("graph folder "+name, err, detail)
		}
	}
	if !what.Send {
		return steps
	}
	err = c.probeSend(ctx, mailbox)
	var ge *Error
	switch {
	case errors.As(err, &ge) && ge.Status == http.StatusBadRequest && ge.Code == "ErrorMimeContentInvalidBase64String":
		add("graph send", nil, "Mail.Send is granted (a probe that cannot be sent was refused only for its content; nothing was sent)")
	case err == nil:
		add("graph send", errors.New("the send probe was accepted, which it never should be: report this"), "")
	case errors.As(err, &ge) && ge.Status == http.StatusForbidden:
		add("graph send", err, "")
	default:
		add("graph send", fmt.Errorf("could not tell whether the app may send: %w", err), "")
	}
	return steps
}

// explain turns an error into the detail of a failed step.
func explain(err error) string {
	var ge *Error
	if errors.As(err, &ge) {
		switch ge.Code {
		case "ErrorInvalidUser":
			return "no such user in the tenant: check the mailbox address (" + err.Error() + ")"
		case "MailboxNotEnabledForRESTAPI":
			return "the user has no Exchange Online mailbox, or it is inactive or on premises (" + err.Error() + ")"
		}
	}
	return err.Error()
}
