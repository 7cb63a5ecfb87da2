package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

//go:embed demodata/*.eml
var demoMail embed.FS

// demoWebForm is the Message-ID of the sample web-form application, the
// case the demo works through.
const demoWebForm = "sub-40117.1760259731@forms.example-council.gov.uk"

func init() {
	register(command{name: "demo", summary: "run the whole workflow on sample data: mailbox, Slack and mail sink in-process [--keep] [--mail imap|graph]", run: runDemo})
}

func runDemo(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("demo")
	keep := fs.Bool("keep", false, "keep the database (trigger-demo.db) for 'trigger case show'")
	verbose := fs.Bool("v", false, "show the service's log")
	mailVia := fs.String("mail", "imap", `the mailbox: "imap" (IMAP and SMTP) or "graph" (Microsoft 365 through Graph)`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *mailVia != casefile.MailIMAP && *mailVia != casefile.MailGraph {
		return usagef("demo: %v", errDemoMail)
	}
	dir, err := os.MkdirTemp("", "trigger-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dbPath := filepath.Join(dir, "trigger.db")
	if *keep {
		dbPath = "trigger-demo.db"
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(dbPath + suffix)
		}
	}
	now := time.Now()
	d := &demo{out: m.Stdout, start: now, shift: demoShift(now), mail: *mailVia}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = newLogger(m.Stderr, casefile.LogConfig{Format: "text", Level: "debug"})
	}
	if err := d.run(ctx, dbPath, logger); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if *keep {
		fmt.Fprintf(m.Stdout, "\nThe database is kept: try\n  go run ./cmd/trigger --db %s case show %s\n  go run ./cmd/trigger --db %s case events %s\n", dbPath, d.ref, dbPath, d.ref)
	}
	return nil
}

type demo struct {
	out   io.Writer
	start time.Time
	ref   string
	shift int    // days the sample emails' dates move: demoShift(start)
	mail  string // "imap" (default) or "graph"

	emu     *slackemu.Emulator
	store   *sqlite.Store
	mailbox demoMailbox

	coord, chair, police, council, housing string

	// beforeStop, if set, is called with the running service once the
	// script is done (the tests scrape /metrics there).
	beforeStop func(srv *server)
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "%6.2fs  %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, args...))
}

// wait polls cond until it holds, for at most 20 seconds.
func (d *demo) wait(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s", what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

func (d *demo) run(parent context.Context, dbPath string, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	// The world around the service: a mailbox and where mail is sent,
	// Slack.
	cfg := casefile.DefaultConfig()
	var deps serverDeps
	var err error
	if d.mail == casefile.MailGraph {
		var g *graphDemo
		g, err = newGraphDemo(&cfg)
		d.mailbox = g
		if g != nil {
			deps.oauthBaseURL = g.tokenURL
		}
	} else {
		d.mailbox, err = newIMAPDemo(&cfg)
	}
	if err != nil {
		return err
	}
	defer d.mailbox.close()
	d.emu = slackemu.New(slackemu.Options{TimeScale: 1})
	if err := d.emu.Start("127.0.0.1:0"); err != nil {
		return err
	}
	defer d.emu.Close()
	d.coord = d.emu.AddUser("sam.patel", "sam.patel@example-council.gov.uk").ID
	d.police = d.emu.AddUser("pc.jones", "pc.jones@police.example").ID
	d.council = d.emu.AddUser("asb.officer", "asb.officer@example-council.gov.uk").ID
	d.housing = d.emu.AddUser("housing.officer", "officer@housing.example").ID
	d.chair = d.emu.AddUser("csp.chair", "chair@example-council.gov.uk").ID

	// The service's configuration, as trigger.toml and the environment
	// would give it.
	cfg.Database.Path = dbPath
	cfg.Slack.APIURL, cfg.Slack.Mode = d.emu.APIURL(), "socket"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Roles.Coordinator = casefile.IDList{d.coord}
	cfg.Roles.Chair = casefile.IDList{d.chair}
	cfg.Roles.Approvers = casefile.IDList{d.coord, d.chair}
	cfg.Agencies[0].SlackUsers = []string{d.police}
	cfg.Agencies[1].SlackUsers = []string{d.council}
	cfg.Agencies[2].SlackUsers = []string{"officer@housing.example"}
	cfg.Partnership.Name = "North West Leicestershire Community Safety Partnership"
	cfg.Partnership.ContactOfficer = "Sam Patel, Community Safety Team Leader"
	cfg.Partnership.ContactEmail = "communitytrigger@example-council.gov.uk"
	cfg.Secrets.SlackBotToken, cfg.Secrets.SlackAppToken = d.emu.BotToken(), d.emu.AppToken()
	if err := cfg.Validate(); err != nil {
		return err
	}

	d.store, err = sqlite.Open(dbPath, &cfg)
	if err != nil {
		return err
	}
	defer d.store.Close()
	srv, err := newServer(&cfg, d.store, logger, deps)
	if err != nil {
		return err
	}
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- srv.run(ctx, started) }()
	<-started
	fmt.Fprintf(d.out, "Community Trigger demo: %s and a Slack workspace, all in this process.\n", d.mailbox.describe())
	fmt.Fprintf(d.out, "The service is the real 'trigger serve' wiring (HTTP on %s); people act through the Slack emulator.\n\n", srv.HTTPAddr())

	if err := d.script(ctx); err != nil {
		cancel()
		<-done
		return err
	}
	// The last click's side effects (the card updated to "responded") may
	// still be in the outbox: let them out before stopping, so that the
	// kept database has nothing pending.
	if err := d.wait(ctx, "the outbox to drain", func() bool {
		st, err := d.store.OutboxStats(ctx)
		return err == nil && st.Pending == 0
	}); err != nil {
		cancel()
		<-done
		return err
	}
	if d.beforeStop != nil {
		d.beforeStop(srv)
	}
	cancel()
	if err := <-done; err != nil {
		return err
	}
	d.say("service stopped cleanly")
	return nil
}

func (d *demo) script(ctx context.Context) error {
	// 1. Mail arrives.
	entries, _ := demoMail.ReadDir("demodata")
	for _, e := range entries {
		raw, _ := demoMail.ReadFile("demodata/" + e.Name())
		if err := d.mailbox.deliver([]byte(d.dated(string(raw)))); err != nil {
			return err
		}
	}
	d.say("3 emails delivered to the mailbox: a web-form application, a free-text application, an out-of-office reply")
	var ref string
	if err := d.wait(ctx, "the web-form application to become a case", func() bool {
		cs, _ := d.store.Cases(ctx, "")
		for _, c := range cs {
			full, _ := d.store.Case(ctx, c.Ref)
			for _, m := range full.Messages {
				if m.MessageID == demoWebForm {
					ref = c.Ref
				}
			}
		}
		return ref != "" && d.mailbox.processed() == 3
	}); err != nil {
		return err
	}
	d.ref = ref
	c, _ := d.store.Case(ctx, ref)
	cases, _ := d.store.Cases(ctx, "")
	d.say("email received → case %s (threshold assessment: %s, %s); %d cases in all, the out-of-office stored without reply; mailbox moved to Processed",
		ref, c.Threshold.Assessment, casefile.Count(c.Threshold.QualifyingComplaints, "qualifying complaint", "qualifying complaints"), len(cases))

	if err := d.wait(ctx, "the acknowledgement", func() bool { return d.sinkHas("[" + ref + "]") }); err != nil {
		return err
	}
	d.say("acknowledgement emailed to the applicant: %q", d.sinkSubject("["+ref+"]"))

	// 2. The channel.
	name := "ct-" + strings.ToLower(strings.TrimPrefix(ref, "CT-"))
	var ch slackemu.Channel
	var card slackemu.Message
	if err := d.wait(ctx, "the case channel and card", func() bool {
		var ok bool
		if ch, ok = d.emu.ChannelByName(name); !ok {
			return false
		}
		card, ok = d.find(ch.ID, `"card-`+ref+`"`)
		return ok && len(d.emu.Members(ch.ID)) >= 6
	}); err != nil {
		return err
	}
	d.say("Slack: private channel #%s created, %d members invited (coordinator, Chair, 3 agency officers), case card posted", ch.Name, len(d.emu.Members(ch.ID))-1)

	// 2b. A resident phones: the coordinator types the application in
	// Slack, and the Home tab shows every case.
	phoned, err := d.phoneApplication(ctx)
	if err != nil {
		return err
	}
	if err := d.showHome(ctx, ref, phoned); err != nil {
		return err
	}

	// 3. The coordinator accepts; the agencies are asked.
	if err := d.click(d.coord, ch.ID, card.TS, bot.ActionAccept, ref); err != nil {
		return err
	}
	reqs := map[string]slackemu.Message{}
	if err := d.wait(ctx, "the requests to the agencies", func() bool {
		for _, a := range []string{"police", "council", "housing"} {
			if m, ok := d.find(ch.ID, `"request-`+ref+`-`+a+`"`); ok {
				reqs[a] = m
			}
		}
		return len(reqs) == 3
	}); err != nil {
		return err
	}
	d.say("coordinator clicked \"Accept for review\" → one request per agency posted, replies due in 10 working days")

	// 3a. The applicant is told the threshold is met (s.104(6)), by a
	// letter approved like the others while the agencies work.
	var metDraft slackemu.Message
	if err := d.wait(ctx, "the decision letter's draft", func() bool {
		var ok bool
		metDraft, ok = d.find(ch.ID, "threshold met, version 1")
		return ok
	}); err != nil {
		return err
	}
	met, err := d.letterOf(ctx, ref, casefile.LetterMet)
	if err != nil {
		return err
	}
	if err := d.click(d.chair, ch.ID, metDraft.TS, bot.ActionApprove, fmt.Sprintf("%s|%d|%s", ref, met.ID, met.SHA256)); err != nil {
		return err
	}
	metSubject := casefile.LetterSubject(ref, casefile.LetterMet)
	if err := d.wait(ctx, "the decision letter in the mail sink", func() bool { return d.sinkHas(metSubject) }); err != nil {
		return err
	}
	c, _ = d.store.Case(ctx, ref)
	d.say("decision letter (threshold met) approved by the Chair and emailed to the applicant: what happens next, their contact officer, how involved they want to be; the case is still %s", c.Status)

	// 3b. The applicant answers: they want to come to the meeting.
	if err := d.residentReply(metSubject, "reply-1@example.net", "A - please invite me to the meeting.\n\nThank you,\nLucy"); err != nil {
		return err
	}
	if err := d.wait(ctx, "the applicant's choice to be recorded", func() bool {
		c, _ := d.store.Case(ctx, ref)
		return c.Involvement.Choice == casefile.InvolvementMeeting
	}); err != nil {
		return err
	}
	d.say("applicant replied \"A\" → recorded: invite them to the meeting")

	// 4. The agencies reply.
	if err := d.click(d.police, ch.ID, reqs["police"].TS, bot.ActionProvideDetails, ref+"|police"); err != nil {
		return err
	}
	if err := d.submit(ctx, d.police, bot.ViewProvideDetails, map[string]string{
		bot.BlockComplaints: d.dated("3 calls logged (0345 of 03/08/2026 and two others)"), bot.BlockTaken: "Extra patrols on Friday nights; two riders warned under s.59",
	}); err != nil {
		return err
	}
	d.say("Police officer answered with \"Provide details\"")
	if _, err := d.emu.ReplyInThread(d.council, ch.ID, reqs["council"].TS, d.dated("ASB/2026/0981: we served a Community Protection Warning on 2 October and fitted a gate survey request.")); err != nil {
		return err
	}
	d.say("Council officer replied in the request's thread")
	if err := d.click(d.housing, ch.ID, reqs["housing"].TS, bot.ActionProvideDetails, ref+"|housing"); err != nil {
		return err
	}
	if err := d.submit(ctx, d.housing, bot.ViewProvideDetails, map[string]string{bot.BlockNoInfo: "yes"}); err != nil {
		return err
	}
	d.say("Housing officer answered: no information held")
	var prompt slackemu.Message
	if err := d.wait(ctx, "every agency to have replied", func() bool {
		var ok bool
		prompt, ok = d.find(ch.ID, "Every agency has replied")
		return ok
	}); err != nil {
		return err
	}
	d.say("every agency has replied → the coordinator is prompted to schedule the meeting")

	// 5. The meeting.
	if err := d.click(d.coord, ch.ID, prompt.TS, bot.ActionScheduleMeeting, ref); err != nil {
		return err
	}
	// A week on, and the recommendations due four weeks after it: working
	// days both, whatever day the demo runs.
	meetingDay := d.store.Cal.AddWorkingDays(casefile.DateOf(time.Now()), 5)
	if err := d.submit(ctx, d.coord, bot.ViewScheduleMeeting, map[string]string{
		bot.BlockDate: meetingDay.String(), bot.BlockTime: "14:00", bot.BlockPlace: "Council offices, Committee Room 2",
	}); err != nil {
		return err
	}
	d.say("review meeting scheduled for %s at 14:00", meetingDay.Human())
	invSubject := casefile.SubjectIn(ref, casefile.MailInvitation, casefile.LangEnglish)
	if err := d.wait(ctx, "the invitation in the mail sink", func() bool { return d.sinkHas(invSubject) }); err != nil {
		return err
	}
	d.say("invitation emailed to the applicant: %q", invSubject)
	if err := d.wait(ctx, "Record outcome on the card", func() bool {
		card, _ = d.find(ch.ID, `"card-`+ref+`"`)
		return strings.Contains(string(card.Blocks), bot.ActionRecordOutcome)
	}); err != nil {
		return err
	}
	if err := d.click(d.coord, ch.ID, card.TS, bot.ActionRecordOutcome, ref); err != nil {
		return err
	}
	due := d.store.Cal.AddWorkingDays(meetingDay, 20)
	if err := d.submit(ctx, d.coord, bot.ViewRecordOutcome, map[string]string{
		bot.BlockAttendance: "police,council,housing",
		bot.BlockSummary:    "Each agency acted on its own reports, but nobody joined them up: the riders were never identified and the alleyway was never looked at as one problem.",
		bot.BlockAdequate:   "no",
		"rec1_text":         "Agree a joint problem-solving plan for the alleyway, including gating", "rec1_owner": "council", "rec1_due": due.String(),
		"rec2_text": "Targeted patrols on Friday and Saturday evenings for eight weeks", "rec2_owner": "police", "rec2_due": due.String(),
	}); err != nil {
		return err
	}
	d.say("meeting outcome recorded: response not adequate, 2 recommendations with owners and due dates")

	// 5a. The applicant's say in the action plan.
	consultSubject := casefile.SubjectIn(ref, casefile.MailConsultation, casefile.LangEnglish)
	if err := d.wait(ctx, "the consultation in the mail sink", func() bool { return d.sinkHas(consultSubject) }); err != nil {
		return err
	}
	c, _ = d.store.Case(ctx, ref)
	d.say("proposed recommendations emailed to the applicant for comment by %s; the response waits (case %s)", c.Consultation.ReplyBy.Human(), c.Status)
	if err := d.residentReply(consultSubject, "reply-2@example.net", "Thank you. The plan looks right to me. Please make sure the gate has a lock the residents can open."); err != nil {
		return err
	}
	if err := d.wait(ctx, "the applicant's comments", func() bool {
		c, _ := d.store.Case(ctx, ref)
		return c.Consultation != nil && c.Consultation.RepliedAt != nil
	}); err != nil {
		return err
	}
	d.say("applicant replied with their comments → shown in the channel; the response is drafted")

	// 6. The letter.
	var draft slackemu.Message
	if err := d.wait(ctx, "the draft letter", func() bool {
		var ok bool
		draft, ok = d.find(ch.ID, "case review outcome, version 1")
		return ok
	}); err != nil {
		return err
	}
	l, err := d.letterOf(ctx, ref, casefile.LetterOutcome)
	if err != nil {
		return err
	}
	d.say("draft response letter v%d posted for approval (fingerprint %s)", l.Version, l.ShortHash())
	if err := d.click(d.chair, ch.ID, draft.TS, bot.ActionApprove, fmt.Sprintf("%s|%d|%s", ref, l.ID, l.SHA256)); err != nil {
		return err
	}
	d.say("Chair clicked \"Approve and send\"")
	subject := casefile.LetterSubject(ref, casefile.LetterOutcome)
	if err := d.wait(ctx, "the letter in the mail sink", func() bool { return d.sinkHas(subject) }); err != nil {
		return err
	}
	c, _ = d.store.Case(ctx, ref)
	d.say("letter emailed to the applicant; case %s is %s, further review can be asked for until %s", ref, c.Status, c.Deadlines[casefile.DeadlineFurtherReview].Due.Human())

	fmt.Fprintf(d.out, "\n──── the letter as the resident receives it ────\n")
	text, err := d.sinkText(subject)
	if err != nil {
		return err
	}
	fmt.Fprintln(d.out, text)
	fmt.Fprintf(d.out, "────────────────────────────────────────────────\n\n")
	return nil
}

// phoneApplication has the coordinator type in a phone call with
// /trigger new, and returns the case it opened.
func (d *demo) phoneApplication(ctx context.Context) (string, error) {
	dm, err := d.emu.OpenDM(d.coord)
	if err != nil {
		return "", err
	}
	res, err := d.emu.SlashCommand(d.coord, dm, "/trigger", "new")
	if err != nil {
		return "", err
	}
	if !res.Acked {
		return "", fmt.Errorf("/trigger new was not acknowledged: %s", res.Problem)
	}
	var view slackemu.View
	if err := d.wait(ctx, "the new application form", func() bool {
		for _, v := range d.emu.OpenViews(d.coord) {
			if v.CallbackID == bot.ViewNewCase {
				view = v
				return true
			}
		}
		return false
	}); err != nil {
		return "", err
	}
	today := casefile.DateOf(time.Now())
	sub, err := d.emu.SubmitView(d.coord, view.ID, map[string]string{
		bot.BlockNewVia: "phone", bot.BlockNewRoute: "individual", bot.BlockNewConsent: "yes",
		"nc_app_name": "Margaret Okafor", "nc_app_phone": "07700 900456", "nc_app_address": "3 Station Road, Ashby", "nc_app_postcode": "le65 1ab",
		bot.BlockNewLocation: "Station Road car park", bot.BlockNewDescription: "Cars racing round the car park late at night.",
		"nc_c1_occurred": today.AddDays(-40).String(), "nc_c1_reported": today.AddDays(-39).String(), "nc_c1_agency": "police", "nc_c1_reference": "0771 of the 101 log",
		"nc_c2_occurred": today.AddDays(-12).String(), "nc_c2_reported": today.AddDays(-12).String(), "nc_c2_agency": "council",
	})
	if err != nil {
		return "", err
	}
	if sub.View == nil || sub.View.CallbackID != bot.ViewCaseOpened {
		return "", fmt.Errorf("the new application was not accepted: %v %s", sub.Errors, sub.Problem)
	}
	ref := sub.View.PrivateMetadata
	c, err := d.store.Case(ctx, ref)
	if err != nil {
		return "", err
	}
	name := "ct-" + strings.ToLower(strings.TrimPrefix(ref, "CT-"))
	if err := d.wait(ctx, "the phoned case's channel", func() bool {
		ch, ok := d.emu.ChannelByName(name)
		if !ok {
			return false
		}
		_, ok = d.find(ch.ID, `"card-`+ref+`"`)
		return ok
	}); err != nil {
		return "", err
	}
	d.say("a resident phoned: the coordinator typed /trigger new in Slack → case %s (threshold assessment: %s, %s), channel #%s; no email address, so the coordinator is asked there to acknowledge it by phone",
		ref, c.Threshold.Assessment, casefile.Count(c.Threshold.QualifyingComplaints, "qualifying complaint", "qualifying complaints"), name)
	return ref, nil
}

// showHome has the coordinator open the app's Home tab, and prints it as
// text.
func (d *demo) showHome(ctx context.Context, refs ...string) error {
	if err := d.emu.OpenHome(d.coord); err != nil {
		return err
	}
	var view slackemu.View
	if err := d.wait(ctx, "the Home tab", func() bool {
		var ok bool
		if view, ok = d.emu.HomeView(d.coord); !ok {
			return false
		}
		for _, ref := range refs {
			if !bytes.Contains(view.Blocks, []byte(ref)) {
				return false
			}
		}
		return true
	}); err != nil {
		return err
	}
	d.say("the coordinator opened the app's Home tab in Slack:")
	fmt.Fprintf(d.out, "\n──── the coordinator's Home tab ────\n%s────────────────────────────────────\n\n", homeText(view.Blocks, d.emu))
	return nil
}

// homeText is a Home tab as text: what the coordinator reads, channels by
// name, buttons in brackets.
func homeText(raw json.RawMessage, emu *slackemu.Emulator) string {
	var blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
		Fields []struct {
			Text string `json:"text"`
		} `json:"fields"`
		Elements []struct {
			Type string `json:"type"`
			Text any    `json:"text"`
			Init *struct {
				Text struct {
					Text string `json:"text"`
				} `json:"text"`
			} `json:"initial_option"`
		} `json:"elements"`
		Accessory *struct {
			Text struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"accessory"`
	}
	_ = json.Unmarshal(raw, &blocks)
	names := map[string]string{}
	for _, ch := range emu.Channels() {
		names[ch.ID] = "#" + ch.Name
	}
	channelRE := regexp.MustCompile(`<#([A-Z0-9]+)>`)
	tidy := func(s string) string {
		s = channelRE.ReplaceAllStringFunc(s, func(m string) string { return names[channelRE.FindStringSubmatch(m)[1]] })
		return strings.NewReplacer("*", "", ":warning: ", "⚠ ", "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
	}
	var b strings.Builder
	for _, bl := range blocks {
		switch bl.Type {
		case "header":
			fmt.Fprintf(&b, "%s\n", strings.ToUpper(bl.Text.Text))
		case "divider":
			b.WriteString("\n")
		case "section":
			var parts []string
			if bl.Text != nil {
				parts = append(parts, tidy(bl.Text.Text))
			}
			for _, f := range bl.Fields {
				parts = append(parts, strings.ReplaceAll(tidy(f.Text), "\n", ": "))
			}
			line := strings.Join(parts, " · ")
			if bl.Accessory != nil {
				line += "  [" + bl.Accessory.Text.Text + "]"
			}
			fmt.Fprintf(&b, "%s\n", strings.ReplaceAll(line, "\n", "\n    "))
		case "context":
			for _, e := range bl.Elements {
				if t, ok := e.Text.(string); ok {
					fmt.Fprintf(&b, "  %s\n", tidy(t))
				}
			}
		case "actions":
			var parts []string
			for _, e := range bl.Elements {
				switch {
				case e.Init != nil:
					parts = append(parts, "[Show: "+e.Init.Text.Text+" ▾]")
				case e.Type == "button":
					if t, ok := e.Text.(map[string]any); ok {
						parts = append(parts, fmt.Sprintf("[%v]", t["text"]))
					}
				}
			}
			fmt.Fprintf(&b, "%s\n", strings.Join(parts, " "))
		}
	}
	return b.String()
}

// letterOf is the newest letter of a kind on the case.
func (d *demo) letterOf(ctx context.Context, ref, kind string) (*casefile.Letter, error) {
	letters, err := d.store.Letters(ctx, ref)
	if err != nil {
		return nil, err
	}
	for i := len(letters) - 1; i >= 0; i-- {
		if letters[i].Kind == kind {
			return &letters[i], nil
		}
	}
	return nil, fmt.Errorf("no %s letter on %s", kind, ref)
}

// residentReply delivers the applicant's reply to the email with this
// subject, threaded to it as a mail client does (In-Reply-To).
func (d *demo) residentReply(subject, id, body string) error {
	r, ok := d.sinkMessage(subject)
	if !ok {
		return fmt.Errorf("no email %q to reply to", subject)
	}
	parent, _ := r.Header.MessageID()
	raw := "From: Lucy Fielding <lucy.fielding@example.net>\r\nTo: communitytrigger@example-council.gov.uk\r\n" +
		"Subject: Re: " + subject + "\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\nMessage-ID: <" + id + ">\r\n" +
		"In-Reply-To: <" + parent + ">\r\nReferences: <" + parent + ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		strings.ReplaceAll(body, "\n", "\r\n") + "\r\n"
	return d.mailbox.deliver([]byte(raw))
}

// dated is a sample text with its dates moved to the week the demo runs in.
func (d *demo) dated(text string) string { return moveDates(text, d.shift, demoWritten) }

func (d *demo) click(user, channel, ts, action, value string) error {
	res, err := d.emu.ClickButton(user, channel, ts, action, value)
	if err != nil {
		return err
	}
	if !res.Acked {
		return fmt.Errorf("the click on %s was not acknowledged: %s", action, res.Problem)
	}
	return nil
}

// submit waits for the modal on the person's screen and submits it.
func (d *demo) submit(ctx context.Context, user, callbackID string, values map[string]string) error {
	var view slackemu.View
	if err := d.wait(ctx, "the "+callbackID+" form", func() bool {
		for _, v := range d.emu.OpenViews(user) {
			if v.CallbackID == callbackID {
				view = v
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}
	res, err := d.emu.SubmitView(user, view.ID, values)
	if err != nil {
		return err
	}
	if !res.Closed {
		return fmt.Errorf("the %s form was not accepted: %v %s", callbackID, res.Errors, res.Problem)
	}
	return nil
}

func (d *demo) find(channel, s string) (slackemu.Message, bool) {
	for _, m := range d.emu.Messages(channel) {
		if bytes.Contains(m.Blocks, []byte(s)) || strings.Contains(m.Text, s) {
			return m, true
		}
	}
	return slackemu.Message{}, false
}

func (d *demo) sinkMessage(subjectPart string) (*mail.Reader, bool) {
	for _, raw := range d.mailbox.sent() {
		r, err := mail.CreateReader(bytes.NewReader(raw))
		if err != nil {
			continue
		}
		if s, _ := r.Header.Subject(); strings.Contains(s, subjectPart) {
			return r, true
		}
	}
	return nil, false
}

func (d *demo) sinkHas(subjectPart string) bool {
	_, ok := d.sinkMessage(subjectPart)
	return ok
}

func (d *demo) sinkSubject(subjectPart string) string {
	r, _ := d.sinkMessage(subjectPart)
	s, _ := r.Header.Subject()
	return s
}

// sinkText is the plain-text part of the message with this subject.
func (d *demo) sinkText(subjectPart string) (string, error) {
	r, ok := d.sinkMessage(subjectPart)
	if !ok {
		return "", errors.New("no such message in the sink")
	}
	for {
		p, err := r.NextPart()
		if err != nil {
			return "", fmt.Errorf("no plain-text part: %w", err)
		}
		if h, ok := p.Header.(*mail.InlineHeader); ok {
			if ct, _, _ := h.ContentType(); ct == "text/plain" {
				b, err := io.ReadAll(p.Body)
				return strings.TrimSpace(string(b)), err
			}
		}
	}
}
