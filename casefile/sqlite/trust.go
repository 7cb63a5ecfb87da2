package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/csp/trigger/casefile"
)

// Trust: information is never lost, but only a verified party to a case
// changes it. Mail from anyone else that points to a case is kept on it,
// marked unverified, and the coordinator decides what it is.

// verify says whether mail that points to case c comes from a party to it:
// "" when it does, else why not (casefile.Unverified…). The sender is the
// From address only; the gateway's verdict (AuthFailure) refutes a party
// who claims an address they do not own.
func (tx *Tx) verify(ctx context.Context, c *caseRow, in casefile.Inbound) (string, error) {
	if strings.TrimSpace(in.From) == "" {
		return casefile.UnverifiedUnknownSender, nil
	}
	party, err := tx.isParty(ctx, c, in.From)
	switch {
	case err != nil:
		return "", err
	case !party:
		return casefile.UnverifiedNotAParty, nil
	case in.AuthFailure != "":
		return in.AuthFailure, nil
	}
	return "", nil
}

// isParty reports whether addr belongs to a party to the case: the
// applicant, the victim, a co-applicant, an agency asked about this case
// (its address, or an officer's address in [[agency]] slack_users), or an
// address the coordinator accepted mail from as the applicant's. A web-form
// system ([intake] form_senders) is nobody's address: anyone can fill in a
// form.
func (tx *Tx) isParty(ctx context.Context, c *caseRow, addr string) (bool, error) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	if addr == "" || tx.s.Config.Intake.IsFormSender(addr) {
		return false, nil
	}
	is := func(a string) bool { return strings.EqualFold(strings.TrimSpace(a), addr) }
	if is(c.app.Applicant.Email) || (c.app.OnBehalfOf != nil && is(c.app.OnBehalfOf.Email)) {
		return true, nil
	}
	for _, p := range c.app.CoApplicants {
		if is(p.Email) {
			return true, nil
		}
	}
	for _, a := range tx.s.Config.Agencies {
		if !is(a.Email) && !slices.ContainsFunc(a.SlackUsers, is) {
			continue
		}
		var asked int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM info_requests WHERE case_id = ? AND agency = ?`, c.id, a.ID).Scan(&asked); err != nil {
			return false, fmt.Errorf("party: %w", err)
		}
		if asked > 0 {
			return true, nil
		}
	}
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE case_id = ? AND direction = 'in' AND from_addr = ? AND treated_as = ?`,
		c.id, addr, casefile.TreatAsCorrespondence).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("party: %w", err)
	}
	return n > 0, nil
}

// ingestUnverified keeps mail that points to case c but is not from a
// party to it: stored on the case, marked unverified, changing nothing — no
// further review, no status change, no acknowledgement, no reopening. The
// coordinator is shown it with buttons to treat it as a request for a
// further review or as the applicant's correspondence.
func (tx *Tx) ingestUnverified(ctx context.Context, in casefile.Inbound, st stored, c *caseRow, how string) (casefile.IngestResult, error) {
	st.kind, st.asksFurtherReview = "followup", in.WantsFurtherReview
	id, err := tx.storeMessage(ctx, c.id, in, st)
	if err != nil {
		return casefile.IngestResult{}, err
	}
	ev, err := tx.event(ctx, c.id, "intake", "mail.unverified", map[string]any{
		"message_id": in.MessageID, "reason": st.unverified, "threaded_by": how, "asks_further_review": in.WantsFurtherReview,
	})
	if err != nil {
		return casefile.IngestResult{}, err
	}
	if _, err := tx.enqueue(ctx, c.id, ev, fmt.Sprintf("notify:%s:%d", c.ref, ev), casefile.NotifyJob{
		Case: c.ref, Event: ev, Coordinator: true, Prompt: casefile.PromptUnverified, Message: id,
		Text: tx.unverifiedNotice(c.ref, in, st.unverified),
	}); err != nil {
		return casefile.IngestResult{}, err
	}
	res := result(casefile.OutcomeFollowup, c.ref, in.MessageID, how+": not from a party to the case, so it changed nothing")
	return unverified(res, st.unverified), nil
}

// unverifiedNotice is what the case channel is told of unverified mail:
// why it is not taken as the applicant's and what it changed (nothing).
// Who sent it and its subject are personal data: shown only with
// share_personal_data.
func (tx *Tx) unverifiedNotice(ref string, in casefile.Inbound, why string) string {
	var b strings.Builder
	b.WriteString("An email arrived on this case that is *not verified* as coming from a party to it: ")
	b.WriteString(unverifiedWords(why))
	b.WriteString(". It changed nothing")
	if in.WantsFurtherReview {
		b.WriteString(" — it asks for a further review, which was *not* recorded")
	}
	b.WriteString(". If it is the applicant's, treat it below (mail from its address then counts as the applicant's on this case); `trigger case show " + ref + "` lists it.")
	if tx.s.Config.Slack.SharePersonalData {
		from := in.From
		if from == "" {
			from = "no readable address"
		}
		fmt.Fprintf(&b, "\nFrom: %s\nSubject: %s", clip(casefile.CleanHeaderText(from), 200), clip(casefile.CleanHeaderText(in.Subject), 300))
	}
	return b.String()
}

// unverifiedWords says an unverified_reason in words.
func unverifiedWords(why string) string {
	switch why {
	case casefile.UnverifiedNotAParty:
		return "its sender is not the applicant, the person applied for, a co-applicant or an agency asked about this case"
	case casefile.UnverifiedUnknownSender:
		return "its From field has no address that can be read"
	case casefile.UnverifiedDMARCFail:
		return "the receiving mail gateway says the sender's address was forged (DMARC failed)"
	case casefile.UnverifiedSPFFail:
		return "the receiving mail gateway says it did not come from a server the sender's domain allows (SPF failed)"
	}
	return why
}

// clip cuts s to n characters.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// TreatUnverified records what the coordinator makes of an unverified
// message on case ref (its stored id): casefile.TreatAsFurtherReview asks
// for a further review as the applicant would have by email;
// casefile.TreatAsCorrespondence takes it as the applicant's, and mail from
// its address counts as the applicant's on this case from then on. Who
// decided is recorded. Deciding again the same way changes nothing;
// deciding the other way is a conflict.
func (s *Store) TreatUnverified(ctx context.Context, a casefile.Actor, ref string, message int64, as string) (casefile.Changed, error) {
	if err := a.Permit(casefile.ActTreatUnverified); err != nil {
		return false, err
	}
	if as != casefile.TreatAsFurtherReview && as != casefile.TreatAsCorrespondence {
		return false, casefile.Errorf(casefile.EINVALID, "as: %q is neither %s nor %s", as, casefile.TreatAsFurtherReview, casefile.TreatAsCorrespondence)
	}
	changed := false
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		var verified bool
		var treated, header string
		err = tx.QueryRowContext(ctx, `SELECT verified, treated_as, header_id FROM messages WHERE id = ? AND case_id = ? AND direction = 'in'`,
			message, c.id).Scan(&verified, &treated, &header)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return casefile.Errorf(casefile.ENOTFOUND, "%s has no message %d", ref, message)
		case err != nil:
			return fmt.Errorf("treat message %d: %w", message, err)
		case treated == as:
			return nil
		case treated != "":
			return casefile.Errorf(casefile.ECONFLICT, "that email on %s was already treated as %s. Nothing was changed.", ref, treatedWords(treated))
		case verified:
			return casefile.Errorf(casefile.ECONFLICT, "that email on %s came from a party to the case and was filed as such. Nothing was changed.", ref)
		}
		if as == casefile.TreatAsFurtherReview {
			reviewed, err := tx.hadFurtherReview(ctx, c.id)
			if err != nil {
				return err
			}
			switch {
			case c.status == casefile.StatusFurtherReviewRequested || c.status == casefile.StatusFurtherReview:
				return casefile.Errorf(casefile.ECONFLICT, "%s has a further review under way already. Nothing was changed.", ref)
			case c.status == casefile.StatusResponded, c.status == casefile.StatusClosed && !reviewed:
			case c.status == casefile.StatusClosed:
				return casefile.Errorf(casefile.ECONFLICT, "%s had its further review already: it is the last stage. Nothing was changed.", ref)
			default:
				return casefile.Errorf(casefile.ECONFLICT, "%s is %s: a further review can be asked for once the response is sent. Nothing was changed; the email stays on the case.", ref, c.status)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET treated_as = ?, decided_by = ?, decided_at = ? WHERE id = ?`,
			as, a.Audit(), ms(tx.now), message); err != nil {
			return fmt.Errorf("treat message %d: %w", message, err)
		}
		if _, err := tx.eventAs(ctx, c.id, a, "mail.treated", map[string]any{"message": message, "message_id": header, "as": as}); err != nil {
			return err
		}
		changed = true
		if as == casefile.TreatAsFurtherReview {
			return tx.requestFurtherReview(ctx, c, a.Audit(), "email")
		}
		return nil
	})
	return changed, err
}

func treatedWords(as string) string {
	if as == casefile.TreatAsFurtherReview {
		return "a request for a further review"
	}
	return "the applicant's correspondence"
}

// resolveQuarantined marks as resolved the quarantined copies of exactly
// these bytes: another message with the same Message-ID is not the one
// that could not be read. sum is casefile.Sum(raw).
func (tx *Tx) resolveQuarantined(ctx context.Context, messageID string, raw []byte, sum string) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, raw FROM quarantine WHERE message_key IN (?, ?) AND resolved_at IS NULL`,
		messageID, casefile.VariantKeySum(messageID, sum))
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		var q []byte
		if err := rows.Scan(&id, &q); err != nil {
			rows.Close()
			return err
		}
		if bytes.Equal(q, raw) {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE quarantine SET resolved_at = ? WHERE id = ?`, ms(tx.now), id); err != nil {
			return fmt.Errorf("quarantine %d: %w", id, err)
		}
	}
	return nil
}

// sentMessage is an email we sent, as a bounce returns it.
type sentMessage struct {
	caseID    int64
	ref       string
	messageID string
	kind      string // ack, letter, agency_request
	job       int64
	recipient string // the address the bounce names that we sent it to
}

// bouncedMessage finds the email of ours a bounce returns: one of the
// Message-IDs it quotes is a message we sent, and one of the addresses it
// names is an address we sent it to. Our Message-IDs cannot be guessed, so
// a bounce that quotes one was made from our message; anything else in a
// bounce anyone can write. nil when it returns none of ours.
func (tx *Tx) bouncedMessage(ctx context.Context, b *casefile.Bounce) (*sentMessage, error) {
	if b == nil {
		return nil, nil
	}
	ids := append([]string{b.OriginalMessageID}, b.OriginalMessageIDs...)
	rcpts := append([]string{b.Recipient}, b.Recipients...)
	for _, id := range ids {
		id = strings.Trim(strings.TrimSpace(id), "<>")
		if id == "" {
			continue
		}
		var m sentMessage
		var to string
		var job sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT m.case_id, c.ref, m.message_id, m.kind, m.job_id, m.to_addr FROM messages m JOIN cases c ON c.id = m.case_id
			WHERE m.message_id = ? AND m.direction = 'out'`, id).Scan(&m.caseID, &m.ref, &m.messageID, &m.kind, &job, &to)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("bounce: %w", err)
		}
		m.job = job.Int64
		sentTo := strings.Split(to, ",")
		for _, r := range rcpts {
			r = strings.ToLower(strings.TrimSpace(r))
			if r != "" && slices.Contains(sentTo, r) {
				m.recipient = r
				return &m, nil
			}
		}
	}
	return nil, nil
}

// ingestBounce keeps a delivery failure. It marks an address undeliverable
// only when it returns a message we sent to that address, and only for that
// message's case; the coordinator is then asked to reach the recipient
// another way. Any other bounce — forged, or about mail we did not send —
// is kept (on the case it points to, unverified) and changes nothing.
func (tx *Tx) ingestBounce(ctx context.Context, in casefile.Inbound, st stored) (casefile.IngestResult, error) {
	st.kind = "bounce"
	sent, err := tx.bouncedMessage(ctx, in.Bounce)
	if err != nil {
		return casefile.IngestResult{}, err
	}
	if sent == nil {
		st.unverified = casefile.UnverifiedNotOurMessage
		c, err := tx.bounceCase(ctx, in)
		if err != nil {
			return casefile.IngestResult{}, err
		}
		var id int64
		ref := ""
		if c != nil {
			id, ref = c.id, c.ref
		}
		if _, err := tx.storeMessage(ctx, id, in, st); err != nil {
			return casefile.IngestResult{}, err
		}
		if _, err := tx.event(ctx, id, "intake", "mail.bounce", map[string]any{"message_id": in.MessageID, "counted": false}); err != nil {
			return casefile.IngestResult{}, err
		}
		res := result(casefile.OutcomeBounce, ref, in.MessageID, "delivery failure that returns none of our messages to the address it names: nothing marked undeliverable")
		return unverified(res, st.unverified), nil
	}
	c, err := tx.loadCase(ctx, sent.ref)
	if err != nil {
		return casefile.IngestResult{}, err
	}
	if _, err := tx.storeMessage(ctx, c.id, in, st); err != nil {
		return casefile.IngestResult{}, err
	}
	status := bounceStatus(in)
	if _, err := tx.ExecContext(ctx, `INSERT INTO undeliverable (address, case_id, reason, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (address, case_id) DO UPDATE SET reason = excluded.reason, at = excluded.at`,
		sent.recipient, c.id, status, ms(tx.now)); err != nil {
		return casefile.IngestResult{}, fmt.Errorf("mark undeliverable: %w", err)
	}
	ev, err := tx.event(ctx, c.id, "intake", "mail.bounce", map[string]any{
		"message_id": in.MessageID, "counted": true, "returned": sent.messageID, "kind": sent.kind, "job": sent.job, "status": status,
	})
	if err != nil {
		return casefile.IngestResult{}, err
	}
	if err := tx.deliveryFailed(ctx, c, sent, status, ev); err != nil {
		return casefile.IngestResult{}, err
	}
	return result(casefile.OutcomeBounce, c.ref, in.MessageID, "delivery failure of our "+sentWords(sent.kind)+": the address is marked undeliverable for this case"), nil
}

// bounceCase is the case a bounce that counts for nothing points to, to
// show it there: one of ours it quotes, else the case its subject names.
func (tx *Tx) bounceCase(ctx context.Context, in casefile.Inbound) (*caseRow, error) {
	if b := in.Bounce; b != nil {
		in.ReplyTo = append(append(append([]string{}, in.ReplyTo...), b.OriginalMessageID), b.OriginalMessageIDs...)
	}
	c, _, err := tx.thread(ctx, in)
	return c, err
}

// deliveryFailed tells the coordinator that an email we sent on case c
// came back: the outbox job that sent it ends after all (casefile.EndBounced),
// and the coordinator hears of it as of any job that ends — the ended-job
// notice, with what to do (reach the recipient another way). An
// acknowledgement that bounced is owed again: its deadline reopens, and
// the notice carries the *Acknowledged* button. A second bounce of the same
// email tells nobody twice.
func (tx *Tx) deliveryFailed(ctx context.Context, c *caseRow, sent *sentMessage, status string, ev int64) error {
	if sent.kind == "ack" {
		if _, err := tx.ExecContext(ctx, `UPDATE deadlines SET done_at = NULL WHERE case_id = ? AND name = ?`, c.id, casefile.DeadlineAcknowledge); err != nil {
			return fmt.Errorf("reopen acknowledgement: %w", err)
		}
	}
	if sent.job == 0 {
		// Sent before the case file kept which job sent what.
		_, err := tx.enqueue(ctx, c.id, ev, fmt.Sprintf("notify:%s:%d", c.ref, ev), casefile.NotifyJob{
			Case: c.ref, Event: ev, Coordinator: true,
			Text: "The " + sentWords(sent.kind) + " could not be delivered: the recipient's mail server returned it (" + status + "). Please reach the recipient another way.",
		})
		return err
	}
	msg := casefile.BouncedError(status)
	res, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'dead', end_reason = ?, last_error = ?, first_failed_at = COALESCE(first_failed_at, ?)
		WHERE id = ? AND state = 'done'`, casefile.EndBounced, msg, ms(tx.now), sent.job)
	if err != nil {
		return fmt.Errorf("end job %d: %w", sent.job, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // ended already: its coordinator was told
	}
	e := casefile.EndedJob{ID: sent.job, CaseRef: c.ref, Reason: casefile.EndBounced, Error: msg, FirstFailedAt: tx.now, EndedAt: tx.now}
	var payload string
	var attempts int
	if err := tx.QueryRowContext(ctx, `SELECT kind, payload, attempts FROM outbox WHERE id = ?`, sent.job).Scan(&e.Kind, &payload, &attempts); err != nil {
		return fmt.Errorf("end job %d: %w", sent.job, err)
	}
	e.Payload = json.RawMessage(payload)
	return tx.tellEnded(ctx, c.id, e, attempts)
}

func sentWords(kind string) string {
	switch kind {
	case "ack":
		return "acknowledgement to the applicant"
	case "letter":
		return "letter"
	case "agency_request":
		return "request for details emailed to an agency"
	case "agency_reminder":
		return "reminder emailed to an agency"
	}
	return "email"
}

func bounceStatus(in casefile.Inbound) string {
	if in.Bounce == nil || in.Bounce.Status == "" {
		return "status unknown"
	}
	return casefile.CleanHeaderText(in.Bounce.Status)
}

// Undeliverable reports whether mail to addr on case ref bounced before.
// A bounce counts for the case whose message it returned, and no other.
func (s *Store) Undeliverable(ctx context.Context, ref, addr string) (bool, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM undeliverable u JOIN cases c ON c.id = u.case_id WHERE u.address = ? AND c.ref = ?`,
		strings.ToLower(strings.TrimSpace(addr)), ref).Scan(&n)
	return n > 0, err
}

// recipients reads the addresses of an email's To ("Ann <ann@x>, b@y"),
// lower case, for the record of whom we sent it to.
func recipients(to string) string {
	var out []string
	if list, err := mail.ParseAddressList(to); err == nil {
		for _, a := range list {
			out = append(out, strings.ToLower(a.Address))
		}
	} else {
		for _, a := range strings.Split(to, ",") {
			if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
				out = append(out, a)
			}
		}
	}
	return strings.Join(out, ",")
}
