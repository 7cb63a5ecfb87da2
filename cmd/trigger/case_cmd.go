package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

func init() {
	register(command{name: "case add", summary: "open a case from JSON typed in by staff (--json FILE or -)", run: runCaseAdd})
	register(command{name: "case list", summary: "list cases [--json] [--status S]", run: runCaseList})
	register(command{name: "case show", summary: "show one case REF [--json]", run: runCaseShow})
	register(command{name: "case decide", summary: "record the threshold decision: REF met|not-met --reason TEXT --by NAME", run: runCaseDecide})
	register(command{name: "case events", summary: "the audit trail of case REF, oldest first", run: runCaseEvents})
	register(command{name: "case withdraw", summary: "record that the applicant withdrew: REF --reason TEXT --by NAME", run: runCaseWithdraw})
	register(command{name: "migrate", summary: "create or update the database schema", run: runMigrate})
}

// staffApplication is the JSON `case add` reads: the same field names as
// `case show`, of which only the application's are taken.
type staffApplication struct {
	casefile.Application
	ReceivedAt string `json:"received_at"`
	// What the applicant said about how to write to them.
	Language string   `json:"language_preference"` // en, cy, unknown
	Formats  []string `json:"accessible_format"`   // large_print, easy_read
}

func runCaseAdd(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("case add")
	file := fs.String("json", "", "the application as JSON: a file, or - for standard input")
	by := fs.String("by", "staff", "who typed it in")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return usagef("case add: --json FILE (or - for standard input) is required")
	}
	var r io.Reader = m.Stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	sa, receivedAt, err := decodeApplication(r)
	if err != nil {
		return err
	}
	pref := casefile.Preferences{Formats: sa.Formats}
	if pref.Language, err = casefile.ParseLanguagePref(sa.Language); err != nil {
		return usagef("invalid JSON: language_preference: %q is not one of en, cy, unknown", sa.Language)
	}
	if pref.Language != "" {
		pref.LanguageSource = casefile.SourceCoordinator
	}
	if _, err := casefile.NormaliseFormats(sa.Formats); err != nil {
		return usagef("invalid JSON: %s", casefile.ErrorMessage(err))
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		c, err := s.CreateCase(ctx, casefile.NewCase{Application: sa.Application, ReceivedAt: receivedAt, Source: "staff", Actor: casefile.Admin(*by), Preferences: pref})
		if err != nil {
			return domainError(err)
		}
		fmt.Fprintln(m.Stdout, c.Ref)
		return nil
	})
}

// decodeApplication reads staff JSON strictly: an unknown field or a value of
// the wrong type is an error that names the field.
func decodeApplication(r io.Reader) (staffApplication, time.Time, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return staffApplication{}, time.Time{}, err
	}
	if err := checkDates(b); err != nil {
		return staffApplication{}, time.Time{}, err
	}
	var sa staffApplication
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sa); err != nil {
		return staffApplication{}, time.Time{}, usagef("invalid JSON: %s", jsonErrorText(err))
	}
	var at time.Time
	if sa.ReceivedAt != "" {
		t, err := time.Parse(time.RFC3339, sa.ReceivedAt)
		if err != nil {
			return staffApplication{}, time.Time{}, usagef("invalid JSON: received_at: %q is not an RFC 3339 time", sa.ReceivedAt)
		}
		at = t
	}
	return sa, at, nil
}

// checkDates finds a malformed incident date and names its field, which the
// JSON decoder cannot do for a value's own parse error.
func checkDates(b []byte) error {
	var raw struct {
		Incidents []map[string]any `json:"incidents"`
	}
	if json.Unmarshal(b, &raw) != nil {
		return nil // the strict decode reports it
	}
	for i, in := range raw.Incidents {
		for _, f := range []string{"occurred_on", "reported_on"} {
			v, ok := in[f].(string)
			if !ok || v == "" {
				continue
			}
			if _, err := casefile.ParseDate(v); err != nil {
				return usagef("invalid JSON: incidents[%d].%s: %v", i, f, err)
			}
		}
	}
	return nil
}

// jsonErrorText names the field a JSON error is about.
func jsonErrorText(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := strings.TrimPrefix(te.Field, "Application.")
		if field == "" {
			field = "(top level)"
		}
		want := te.Type.Kind().String()
		if te.Type.String() == "casefile.Date" {
			want = "a date YYYY-MM-DD or null"
		}
		return fmt.Sprintf("%s: expected %s, got JSON %s", field, want, te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d: %v", se.Offset, se)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ") + " (see `trigger case show --json` for the field names)"
	default:
		return strings.TrimPrefix(err.Error(), "json: ")
	}
}

func runCaseList(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("case list")
	asJSON := fs.Bool("json", false, "print JSON")
	status := fs.String("status", "", "only cases with this status")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		cases, err := s.Cases(ctx, casefile.Status(*status))
		if err != nil {
			return domainError(err)
		}
		if *asJSON {
			return writeJSONList(m.Stdout, cases)
		}
		if len(cases) == 0 {
			fmt.Fprintln(m.Stdout, "no cases")
			return nil
		}
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "REF\tSTATUS\tROUTE\tRECEIVED\tTHRESHOLD\tNEXT DEADLINE")
		for _, c := range cases {
			next := "-"
			if c.NextDeadline != "" {
				next = c.NextDeadline + " " + c.NextDue.String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Ref, c.Status, c.Route, c.ReceivedAt[:10], c.Assessment, next)
		}
		return tw.Flush()
	})
}

func runCaseShow(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("case show")
	asJSON := fs.Bool("json", false, "print the case as JSON")
	ref, err := parseRefArgs(fs, "case show", args)
	if err != nil {
		return err
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		c, err := s.Case(ctx, ref)
		if err != nil {
			return domainError(err)
		}
		if *asJSON {
			return writeJSON(m.Stdout, c)
		}
		printCase(m.Stdout, c)
		return nil
	})
}

// parseRefArgs parses flags that may stand before or after the reference.
func parseRefArgs(fs interface {
	Parse([]string) error
	Args() []string
	Name() string
}, name string, args []string) (string, error) {
	var ref string
	var flags []string
	for _, a := range args {
		if ref == "" && !strings.HasPrefix(a, "-") && casefile.RefRE.MatchString(strings.ToUpper(a)) {
			ref = strings.ToUpper(a)
			continue
		}
		flags = append(flags, a)
	}
	if err := fs.Parse(flags); err != nil {
		return "", usagef("%s: %v", name, err)
	}
	if ref == "" {
		if len(fs.Args()) > 0 {
			return "", usagef("%s: %q is not a case reference like CT-2026-0001", name, fs.Args()[0])
		}
		return "", usagef("%s: a case reference like CT-2026-0001 is required", name)
	}
	if len(fs.Args()) > 0 {
		return "", usagef("%s: unexpected %q", name, fs.Args()[0])
	}
	return ref, nil
}

func printCase(w io.Writer, c *casefile.Case) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	p("Reference", c.Ref)
	p("Status", string(c.Status))
	if c.Purged {
		p("Personal data", "removed under the retention policy; the anonymous figures are kept")
	}
	p("Route", string(c.Route))
	p("Received", c.ReceivedAt.Format("Mon 2 Jan 2006 15:04"))
	p("Source", c.Source)
	p("Applicant", personLine(c.Applicant))
	if c.OnBehalfOf != nil {
		p("On behalf of", personLine(*c.OnBehalfOf))
	}
	for i, co := range c.CoApplicants {
		p(fmt.Sprintf("Co-applicant %d", i+1), personLine(co))
	}
	p("Location", c.Location)
	p("Description", c.Description)
	p("Vulnerable", yesNo(c.Vulnerable))
	p("Consent to share", yesNo(c.ConsentToShare))
	p("Agencies", strings.Join(c.Agencies, ", "))
	p("References", strings.Join(c.References, ", "))
	p("Slack channel", c.Channel)
	contact := c.ContactOfficer.Name
	if c.ContactOfficer.Title != "" {
		contact += ", " + c.ContactOfficer.Title
	}
	if c.ContactOfficer.Default {
		contact += " (default)"
	}
	p("Contact officer", contact)
	if c.Involvement.Choice != casefile.InvolvementUnknown {
		p("Involvement", "wants "+c.Involvement.Choice.Words()+" (from the "+c.Involvement.Source+")")
	}
	lang := map[casefile.LanguagePref]string{casefile.LangWelsh: "Welsh", casefile.LangEnglish: "English"}[c.Language]
	if lang != "" {
		p("Language", lang+" ("+c.LanguageSource+")")
	}
	p("Accessible format", strings.ReplaceAll(strings.Join(c.AccessibleFormat, ", "), "_", " "))
	if k := c.Consultation; k != nil {
		state := "waiting for comments until " + k.ReplyBy.String()
		switch {
		case k.RepliedAt != nil:
			state = "the applicant replied " + k.RepliedAt.Format("2 Jan 2006")
		case k.SkippedBy != "":
			state = "skipped by " + k.SkippedBy + ": " + k.SkipReason
		case !k.Open():
			state = "no reply by " + k.ReplyBy.String()
		}
		p("Consultation", state)
	}
	for _, r := range c.ThresholdReviews {
		result := r.Result
		if result == "" {
			result = "awaited"
		}
		p("Threshold review", fmt.Sprintf("requested %s by %s to %s; result %s", r.RequestedAt.Format("2 Jan 2006"), r.Source, r.Body, strings.ReplaceAll(result, "_", " ")))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nThreshold: %s (%s)\n", c.Threshold.Assessment, casefile.Count(c.Threshold.QualifyingComplaints, "qualifying complaint", "qualifying complaints"))
	for _, r := range c.Threshold.Reasons {
		fmt.Fprintf(w, "  - %s\n", r)
	}
	if d := c.Threshold.Decision; d != nil {
		fmt.Fprintf(w, "Decision: %s by %s on %s", d.Outcome, d.By, d.At.Format("2 Jan 2006 15:04"))
		if d.Reason != "" {
			fmt.Fprintf(w, ": %s", d.Reason)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "Decision: not yet made")
	}
	if len(c.Incidents) > 0 {
		fmt.Fprintln(w, "\nComplaints:")
		for i, in := range c.Incidents {
			fmt.Fprintf(w, "  %d. behaviour %s, reported %s to %s %s\n", i+1, orDash(in.OccurredOn.String()), orDash(in.ReportedOn.String()),
				orDash(in.Agency), in.Reference)
			if in.Description != "" {
				fmt.Fprintf(w, "     %s\n", in.Description)
			}
		}
	}
	if len(c.Deadlines) > 0 {
		fmt.Fprintln(w, "\nDeadlines (working days):")
		for _, name := range deadlineOrder(c.Deadlines) {
			d := c.Deadlines[name]
			state := "open"
			if d.DoneAt != nil {
				state = "done " + d.DoneAt.Format("2 Jan 2006")
			}
			fmt.Fprintf(w, "  %-24s %s  %s\n", name, d.Due.String(), state)
		}
	}
	if len(c.Messages) > 0 {
		fmt.Fprintln(w, "\nMessages:")
		for _, msg := range c.Messages {
			fmt.Fprintf(w, "  %s %-3s %-12s %s\n", msg.At.Format("2006-01-02 15:04"), msg.Direction, msg.Kind, msg.Subject)
			if !msg.Verified {
				note := "unverified (" + msg.UnverifiedReason + "): it changed nothing"
				if msg.TreatedAs != "" {
					note += "; treated as " + msg.TreatedAs + " by " + msg.DecidedBy
				}
				fmt.Fprintf(w, "  %16s %s\n", "", note)
			}
		}
	}
	if len(c.Attachments) > 0 {
		fmt.Fprintln(w, "\nAttachments:")
		for _, a := range c.Attachments {
			fmt.Fprintf(w, "  %s (%s, %d bytes)\n", a.Filename, a.ContentType, a.Size)
		}
	}
}

func deadlineOrder(ds map[string]casefile.Deadline) []string {
	var names []string
	for _, n := range []string{casefile.DeadlineAcknowledge, casefile.DeadlineThresholdDecision, casefile.DeadlineAgencyReplies,
		casefile.DeadlineReviewMeeting, casefile.DeadlineResponse, casefile.DeadlineFurtherReview} {
		if _, ok := ds[n]; ok {
			names = append(names, n)
		}
	}
	return names
}

func personLine(p casefile.Person) string {
	var parts []string
	for _, s := range []string{p.Name, p.Email, p.Phone, p.Address, p.Postcode} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

func yesNo(b *bool) string {
	switch {
	case b == nil:
		return "not said"
	case *b:
		return "yes"
	default:
		return "no"
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runCaseDecide(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("case decide")
	reason := fs.String("reason", "", "why (required for not-met)")
	by := fs.String("by", "", "who decided (required)")
	var outcome casefile.Assessment
	var rest []string
	for _, a := range args {
		switch strings.ToLower(a) {
		case "met":
			outcome = casefile.Met
		case "not-met", "not_met":
			outcome = casefile.NotMet
		default:
			rest = append(rest, a)
		}
	}
	ref, err := parseRefArgs(fs, "case decide", rest)
	if err != nil {
		return err
	}
	if outcome == "" {
		return usagef("case decide: say met or not-met")
	}
	if *by == "" {
		return usagef("case decide: --by NAME is required: the audit trail records who decided")
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		changed, err := s.Decide(ctx, casefile.Admin(*by), ref, outcome, *reason)
		if err != nil {
			return domainError(err)
		}
		c, err := s.Case(ctx, ref)
		if err != nil {
			return err
		}
		if !changed {
			fmt.Fprintf(m.Stdout, "%s: already decided (%s); nothing changed\n", ref, outcome)
			return nil
		}
		fmt.Fprintf(m.Stdout, "%s: threshold %s, recorded; the case is now %s\n", ref, outcome, c.Status)
		return nil
	})
}

func runCaseWithdraw(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("case withdraw")
	reason := fs.String("reason", "", "why, as the applicant said it")
	by := fs.String("by", "", "who records it (required)")
	ref, err := parseRefArgs(fs, "case withdraw", args)
	if err != nil {
		return err
	}
	if *by == "" {
		return usagef("case withdraw: --by NAME is required: the audit trail records who")
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		changed, err := s.Withdraw(ctx, casefile.Admin(*by), ref, *reason)
		if err != nil {
			return domainError(err)
		}
		if !changed {
			fmt.Fprintf(m.Stdout, "%s: already withdrawn; nothing changed\n", ref)
			return nil
		}
		fmt.Fprintf(m.Stdout, "%s: withdrawn, recorded\n", ref)
		return nil
	})
}

func runCaseEvents(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("case events")
	asJSON := fs.Bool("json", false, "print JSON")
	ref, err := parseRefArgs(fs, "case events", args)
	if err != nil {
		return err
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		evs, err := s.Events(ctx, ref)
		if err != nil {
			return domainError(err)
		}
		if *asJSON {
			return writeJSON(m.Stdout, evs)
		}
		for _, e := range evs {
			det := ""
			if len(e.Details) > 0 {
				b, _ := json.Marshal(e.Details)
				det = " " + string(b)
			}
			fmt.Fprintf(m.Stdout, "%3d  %s  %-22s %-14s%s\n", e.Seq, e.At.Format("2006-01-02 15:04:05"), e.Kind, e.Actor, det)
		}
		return nil
	})
}

func runMigrate(ctx context.Context, m *Main, g *globals, args []string) error {
	if err := parseFlags(newFlagSet("migrate"), args); err != nil {
		return err
	}
	cfg, err := g.config(m)
	if err != nil {
		return err
	}
	s, err := sqlite.Open(cfg.Database.Path, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(m.Stdout, "database %s is up to date\n", cfg.Database.Path)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSONList prints a list as writeJSON does, byte for byte, one item at
// a time: a list of 100,000 cases is not first built as one 20 MB buffer
// and then indented as a second.
func writeJSONList[T any](w io.Writer, items []T) error {
	if items == nil {
		return writeJSON(w, items)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("[")
	for i := range items {
		b, err := json.MarshalIndent(&items[i], "  ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n  ")
		bw.Write(b)
	}
	if len(items) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}
