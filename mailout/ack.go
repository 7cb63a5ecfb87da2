package mailout

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/csp/trigger/casefile"
)

// handleAck sends the acknowledgement of an application (payload
// {"case": REF, "to": ADDRESS}), written from the acknowledgement template
// in the resident's language: in a partnership in Wales, Welsh for an
// application written in Welsh, both (Welsh first) when the preference is
// not known.
func (s *Sender) handleAck(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
	p, err := casefile.PayloadOf[casefile.AckJob](j)
	if err != nil {
		return casefile.JobDone{}, err
	}
	if strings.TrimSpace(p.To) == "" {
		return casefile.JobDone{}, casefile.Permanent(fmt.Errorf("job %d: acknowledgement: %w", j.ID, errNoAddress))
	}
	c, err := s.loadCase(ctx, j, p.Case)
	if err != nil {
		return casefile.JobDone{}, err
	}
	if err := s.checkDeliverable(ctx, j, c.Ref, p.To, "applicant"); err != nil {
		return casefile.JobDone{}, err
	}
	id, err := s.messageID(ctx, j, c.Ref, "ack")
	if err != nil {
		return casefile.JobDone{}, err
	}
	a, err := Ack(c, s.service(), s.templates())
	if err != nil {
		return casefile.JobDone{}, casefile.Permanent(fmt.Errorf("job %d: acknowledgement of %s: %w", j.ID, c.Ref, err))
	}
	m := Message{
		To:            []string{p.To},
		Subject:       a.Subject,
		Text:          a.Text,
		HTML:          a.HTML,
		MessageID:     id,
		AutoSubmitted: AutoReplied,
	}
	return s.sendJob(ctx, j, "ack", m)
}

// Acknowledgement is the acknowledgement as written for a case.
type Acknowledgement struct {
	Lang, Subject, Text, HTML string
}

// Ack writes the acknowledgement of a case: plain, kind words for someone
// who may be having a very hard time, with the reference, what happens next
// and by when (in working days), and whom to contact. It repeats nothing of
// what the resident wrote. templates are the partnership's own (nil for
// the built-in ones).
func Ack(c *casefile.Case, cfg *casefile.Config, templates fs.FS) (Acknowledgement, error) {
	langs := cfg.LanguagesFor(c.Language)
	lang := casefile.LangCode(langs)
	d := casefile.AckData(c, cfg)
	text, err := casefile.Render(templates, casefile.MailAck, langs, d)
	if err != nil {
		return Acknowledgement{}, err
	}
	subject := casefile.SubjectIn(c.Ref, casefile.MailAck, lang)
	html, err := casefile.LetterHTMLWith(subject, text, casefile.HTMLOptions{LargePrint: d.LargePrint, Lang: lang})
	if err != nil {
		return Acknowledgement{}, err
	}
	return Acknowledgement{Lang: lang, Subject: subject, Text: text, HTML: html}, nil
}

// longDate is "Monday 16 March 2026".
func longDate(d casefile.Date) string {
	return d.Weekday().String() + " " + d.Human()
}

// wrap breaks text into lines of at most width characters, at spaces.
func wrap(text string, width int) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(text) {
		l := len([]rune(w))
		switch {
		case i == 0:
		case n+1+l > width:
			b.WriteString("\n")
			n = 0
		default:
			b.WriteString(" ")
			n++
		}
		b.WriteString(w)
		n += l
	}
	return b.String()
}
