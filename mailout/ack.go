package mailout

import (
	"context"
	"fmt"
	"strings"

	"github.com/csp/trigger/casefile"
)

// handleAck sends the acknowledgement of an application (payload
// {"case": REF, "to": ADDRESS}).
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
	m := Message{
		To:            []string{p.To},
		Subject:       AckSubject(c.Ref),
		Text:          AckText(c, s.Partnership, s.timescales(), s.agencies()),
		MessageID:     id,
		AutoSubmitted: AutoReplied,
	}
	return s.sendJob(ctx, j, "ack", m)
}

// AckSubject is the subject of the acknowledgement.
func AckSubject(ref string) string {
	return Tag(ref) + " Your Community Trigger application has been received"
}

// AckText is the acknowledgement: plain, kind words for someone who may be
// having a very hard time, with the reference, what happens next and by
// when (in working days), and whom to contact. It repeats nothing of what
// the resident wrote but their name, and that only when it looks like one.
func AckText(c *casefile.Case, p casefile.PartnershipConfig, ts casefile.Timescales, agencies []casefile.Agency) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	para := func(text string) { b.WriteString(wrap(text, 72) + "\n\n") }

	line("%s", Greeting(c.Applicant.Name))
	b.WriteString("\n")
	para("Thank you for contacting us. We have received your application for a Community Trigger " +
		"(also called an Anti-social Behaviour Case Review). We are sorry that you have had to put up " +
		"with this, and we will take your application seriously.")
	line("Your reference is %s.", c.Ref)
	b.WriteString("\n")
	para("Please keep it. If you reply to this email, or write to us again and keep " + Tag(c.Ref) +
		" in the subject, your message will be added to your case.")

	line("What happens next")
	line("-----------------")
	b.WriteString("\n")
	decision := fmt.Sprintf("Within %s we will look at your application and decide whether it meets the "+
		"threshold for a case review", workingDays(ts.ThresholdDecision))
	if d, ok := c.Deadlines[casefile.DeadlineThresholdDecision]; ok && d.DoneAt == nil && !d.Due.IsZero() {
		decision += ", and tell you our decision by " + longDate(d.Due)
	}
	para("1. " + decision + ". A person, not a computer, makes that decision.")
	para(fmt.Sprintf("2. If the review goes ahead, we will ask %s what they know and what they have done, "+
		"and they will meet to review your case within %s of the decision.", partners(agencies), workingDays(ts.ReviewMeeting)))
	para(fmt.Sprintf("3. Within %s of that meeting we will write to you with what the review found and "+
		"what will be done. If you are not happy with the outcome, you can ask for a further review.",
		workingDays(ts.Response)))
	para("If the threshold is not met, we will still write to you to explain why, and what else can be done.")
	para("If something new happens, or you remember dates or reference numbers you did not give us, " +
		"just reply to this email.")
	para("If you or someone else is in immediate danger, call 999. To report anti-social behaviour " +
		"that is happening now, call the police on 101.")

	line("Contact")
	line("-------")
	b.WriteString("\n")
	if p.ContactOfficer != "" {
		line("%s", p.ContactOfficer)
	}
	if p.Name != "" {
		line("%s", p.Name)
	}
	if p.ContactEmail != "" {
		line("Email: %s", p.ContactEmail)
	}
	if p.ContactPhone != "" {
		line("Telephone: %s", p.ContactPhone)
	}
	b.WriteString("\n")
	para("This email was sent automatically when your application arrived. A member of our team reads every reply.")
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// Greeting opens an email to a resident: "Dear Ann Example," when the name
// looks like a name (casefile.LooksLikeName), else "Dear applicant,". The
// name comes from whoever wrote the application — a display name, a form
// anyone can fill in — so anything else (a web address, a sentence, an
// email address) is never written back to the address the email goes to:
// the acknowledgement is not a way to send someone else's words.
func Greeting(name string) string {
	name = strings.TrimSpace(casefile.CleanHeaderText(name))
	if !casefile.LooksLikeName(name) {
		return "Dear applicant,"
	}
	return "Dear " + name + ","
}

// partners names the agencies asked in a review: "the Police, the District
// Council and the Housing provider".
func partners(agencies []casefile.Agency) string {
	var names []string
	for _, a := range agencies {
		names = append(names, "the "+a.Name)
	}
	switch len(names) {
	case 0:
		return "the partner agencies"
	case 1:
		return names[0]
	default:
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
}

func workingDays(n int) string {
	if n == 1 {
		return "1 working day"
	}
	return fmt.Sprintf("%d working days", n)
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
