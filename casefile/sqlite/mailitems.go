package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/csp/trigger/casefile"
)

// FiledItem reports whether a mail store's item was filed (or quarantined)
// before, and its outcome then: the Graph watcher moves such an item on
// without downloading it again.
func (s *Store) FiledItem(ctx context.Context, item casefile.MailItem) (outcome string, ok bool, err error) {
	err = s.view(ctx, func(tx *Tx) error {
		rec, found, err := tx.filedItem(ctx, item)
		outcome, ok = rec.outcome, found
		return err
	})
	return outcome, ok, err
}

// itemRecord is a row of mail_items.
type itemRecord struct{ key, ref, outcome string }

// filedItem finds item by its id, else by its Message-ID and the instant
// it was received.
func (tx *Tx) filedItem(ctx context.Context, item casefile.MailItem) (itemRecord, bool, error) {
	var r itemRecord
	err := tx.QueryRowContext(ctx, `SELECT message_key, case_ref, outcome FROM mail_items WHERE source = ? AND item_id = ?`,
		item.Source, item.ID).Scan(&r.key, &r.ref, &r.outcome)
	if errors.Is(err, sql.ErrNoRows) && item.InternetMessageID != "" && !item.ReceivedAt.IsZero() {
		err = tx.QueryRowContext(ctx, `SELECT message_key, case_ref, outcome FROM mail_items
			WHERE source = ? AND internet_message_id = ? AND received_at = ? ORDER BY at LIMIT 1`,
			item.Source, item.InternetMessageID, ms(item.ReceivedAt)).Scan(&r.key, &r.ref, &r.outcome)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return r, false, nil
	case err != nil:
		return r, false, fmt.Errorf("mail item %s: %w", item.ID, err)
	}
	return r, true, nil
}

// itemDuplicate is the result of filing an item filed before.
func (r itemRecord) duplicate() casefile.IngestResult {
	return result(casefile.OutcomeDuplicate, r.ref, r.key, "this message was downloaded and filed before ("+r.outcome+")")
}

// recordItem records that item was filed with res.
func (tx *Tx) recordItem(ctx context.Context, item casefile.MailItem, res casefile.IngestResult) error {
	ref := ""
	if res.Case != nil {
		ref = *res.Case
	}
	var received int64
	if !item.ReceivedAt.IsZero() {
		received = ms(item.ReceivedAt)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO mail_items (source, item_id, internet_message_id, received_at, message_key, case_ref, outcome, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, item_id) DO NOTHING`,
		item.Source, item.ID, item.InternetMessageID, received, res.MessageID, ref, res.Outcome, ms(tx.now))
	if err != nil {
		return fmt.Errorf("record mail item %s: %w", item.ID, err)
	}
	return nil
}

// ingestItem is ingest for a message that may come with its mail store's
// item: an item filed before is a duplicate, and a new one is recorded with
// what became of it, in the same transaction.
func (tx *Tx) ingestItem(ctx context.Context, in casefile.Inbound) (casefile.IngestResult, error) {
	if in.Item == nil {
		return tx.ingest(ctx, in)
	}
	if r, ok, err := tx.filedItem(ctx, *in.Item); err != nil || ok {
		return r.duplicate(), err
	}
	res, err := tx.ingest(ctx, in)
	if err != nil {
		return res, err
	}
	return res, tx.recordItem(ctx, *in.Item, res)
}

// GraphDeltaLink returns the deltaLink stored for a folder of a mailbox,
// "" when there is none (the first round reads the whole folder).
func (s *Store) GraphDeltaLink(ctx context.Context, mailbox, folderID string) (string, error) {
	var link string
	err := s.rdb.QueryRowContext(ctx, `SELECT delta_link FROM graph_delta WHERE mailbox = ? AND folder_id = ?`, mailbox, folderID).Scan(&link)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("graph checkpoint of %s: %w", mailbox, err)
	}
	return link, nil
}

// SetGraphDeltaLink stores the deltaLink of a round whose messages are all
// handled; "" forgets it (the next round reads the whole folder).
func (s *Store) SetGraphDeltaLink(ctx context.Context, mailbox, folderID, link string) error {
	return s.update(ctx, func(tx *Tx) error {
		var err error
		if link == "" {
			_, err = tx.ExecContext(ctx, `DELETE FROM graph_delta WHERE mailbox = ? AND folder_id = ?`, mailbox, folderID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO graph_delta (mailbox, folder_id, delta_link, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (mailbox, folder_id) DO UPDATE SET delta_link = excluded.delta_link, updated_at = excluded.updated_at`,
				mailbox, folderID, link, ms(tx.now))
		}
		if err != nil {
			return fmt.Errorf("graph checkpoint of %s: %w", mailbox, err)
		}
		return nil
	})
}
