package mailin_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/mailin"
)

func message(date, body string) []byte {
	return []byte("From: Ann Example <ann@example.org>\r\nTo: communitytrigger@example-council.gov.uk\r\nSubject: test\r\n" +
		"Date: " + date + "\r\nMessage-ID: <t@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body)
}

func TestFreeTextIncidents(t *testing.T) {
	d := casefile.MustDate
	for _, tc := range []struct {
		name, date, body string
		want             []casefile.Incident
	}{
		{"ReportDateIsNotBehaviourDate", "Tue, 13 Oct 2026 10:00:00 +0100",
			"I called the police on 5 September (incident 1123).",
			[]casefile.Incident{{ReportedOn: d("2026-09-05"), Agency: "police", Reference: "1123"}}},
		{"ThatNightMeansSameDay", "Tue, 13 Oct 2026 10:00:00 +0100",
			"On 14th Sept 2026 there was a fight and I rang the police that night (0512 of 14/09/2026).",
			[]casefile.Incident{{OccurredOn: d("2026-09-14"), ReportedOn: d("2026-09-14"), Agency: "police", Reference: "0512 of 14/09/2026"}}},
		{"YearNotInTheFuture", "Mon, 12 Jan 2026 10:00:00 +0000",
			"I reported it to the council on 14 December.",
			[]casefile.Incident{{ReportedOn: d("2025-12-14"), Agency: "council"}}},
		{"ISOAndNumeric", "Mon, 12 Oct 2026 10:00:00 +0100",
			"There was a fight on 2026-09-30, I told the landlord on 01/10/2026 (ref FH-20931).",
			[]casefile.Incident{{OccurredOn: d("2026-09-30"), ReportedOn: d("2026-10-01"), Agency: "housing", Reference: "FH-20931"}}},
		{"SinceIsNotADay", "Mon, 12 Oct 2026 10:00:00 +0100",
			"Since 2 June they have had parties. I have complained to the council many times.",
			nil},
		{"NumberAliasNeedsACall", "Mon, 12 Oct 2026 10:00:00 +0100",
			"The party at 101 High Street went on all night, I rang 101 on 3 October.",
			[]casefile.Incident{{ReportedOn: d("2026-10-03"), Agency: "police"}}},
		{"FutureDateIgnored", "Mon, 12 Oct 2026 10:00:00 +0100",
			"I reported it to the council on 30/12/2026.",
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := mailin.Parse(message(tc.date, tc.body), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			got := in.Application.Incidents
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("incidents\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestConfiguredAliases(t *testing.T) {
	cfg := casefile.DefaultConfig()
	cfg.Agencies = append(cfg.Agencies, casefile.Agency{ID: "fire", Name: "Fire and Rescue", Aliases: []string{"fire service", "LFRS"}})
	opt := testOptions()
	opt.Config = &cfg
	in, err := mailin.Parse(message("Mon, 12 Oct 2026 10:00:00 +0100",
		"The bins were set alight. I called the fire service on 4 October and told LFRS again on 6 October."), opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := in.Application.Agencies; !reflect.DeepEqual(got, []string{"fire"}) {
		t.Errorf("agencies %v", got)
	}
	if n := len(in.Application.Incidents); n != 2 {
		t.Errorf("incidents %+v", in.Application.Incidents)
	}
}

func TestNoReplyNeverApplicant(t *testing.T) {
	raw := []byte("From: Forms <noreply@forms.example.gov.uk>\r\nSubject: form\r\nDate: Mon, 12 Oct 2026 10:00:00 +0100\r\n" +
		"Message-ID: <f@forms.example.gov.uk>\r\n\r\nName: Ann Example\r\nPhone: 07700 900001\r\nPostcode: LE67 3FJ\r\nEmail: no-reply@forms.example.gov.uk\r\n")
	in, err := mailin.Parse(raw, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if e := in.Application.Applicant.Email; e != "" {
		t.Errorf("applicant email %q: a no-reply address must not be acknowledged", e)
	}
	if in.Application.Applicant.Name != "Ann Example" || in.Application.Applicant.Postcode != "LE67 3FJ" {
		t.Errorf("applicant %+v", in.Application.Applicant)
	}
}

func TestLimits(t *testing.T) {
	raw := mustRead(t, "attachment-rfc2231.eml")
	for _, tc := range []struct {
		lim  mailin.Limits
		want string
	}{
		{mailin.Limits{MaxSize: 1024}, "size"},
		{mailin.Limits{MaxParts: 3}, "parts"},
		{mailin.Limits{MaxDepth: 0, MaxParts: 0, MaxHeaderBytes: 100}, "header"},
	} {
		opt := testOptions()
		opt.Limits = tc.lim
		_, err := mailin.Parse(raw, opt)
		le, ok := err.(*mailin.LimitError)
		if !ok || le.Limit != tc.want {
			t.Errorf("%+v: error %v, want the %s limit", tc.lim, err, tc.want)
		}
	}
}

func TestSplitMbox(t *testing.T) {
	mbox := "From a@example.org Mon Nov  9 10:00:00 2026\n" +
		"Subject: one\n\nbody one\n>From the start\n>>From quoted twice\n\n" +
		"From b@example.org Mon Nov  9 10:01:00 2026\r\n" +
		"Subject: two\r\n\r\nbody two\r\n\r\n" +
		"From c@example.org Mon Nov  9 10:02:00 2026\n" +
		"Subject: three\n\nlast, no blank line after"
	var got []string
	if err := mailin.SplitMbox(strings.NewReader(mbox), func(raw []byte) error {
		got = append(got, string(raw))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Subject: one\n\nbody one\nFrom the start\n>From quoted twice\n",
		"Subject: two\r\n\r\nbody two\r\n",
		"Subject: three\n\nlast, no blank line after",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// a single message not in mbox form is one message
	got = nil
	mailin.SplitMbox(bytes.NewReader(message("Mon, 12 Oct 2026 10:00:00 +0100", "hi\r\n")), func(raw []byte) error {
		got = append(got, string(raw))
		return nil
	})
	if len(got) != 1 {
		t.Errorf("plain message split into %d", len(got))
	}
}

// TestParseLongText guards against work that grows faster than the text:
// a long body must parse in a moment.
func TestParseLongText(t *testing.T) {
	body := strings.Repeat("I called the police on 5 September (incident 1123), they came.\n", 10000)
	in, err := mailin.Parse(message("Mon, 12 Oct 2026 10:00:00 +0100", body), testOptions())
	if err != nil || len(in.Text) < len(body)-100 {
		t.Fatalf("err %v, text %d bytes", err, len(in.Text))
	}
}

// TestExtractionReadsAPrefix: extraction reads the first MaxExtract bytes
// of the text, and HTML is made text from its first MaxHTMLRender bytes;
// the text and HTML themselves are kept whole.
func TestExtractionReadsAPrefix(t *testing.T) {
	filler := strings.Repeat("The music from next door went on all night again and nobody came.\n", mailin.MaxExtract/60)
	t.Run("Text", func(t *testing.T) {
		body := "I called the police on 5 September (incident 1123).\n\n" + filler + "\nI also told the council on 6 September.\n"
		in, err := mailin.Parse(message("Mon, 12 Oct 2026 10:00:00 +0100", body), testOptions())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(in.Text, "I also told the council on 6 September.") {
			t.Errorf("text not kept whole: ends %q", in.Text[len(in.Text)-60:])
		}
		if got := in.Application.Agencies; !reflect.DeepEqual(got, []string{"police"}) {
			t.Errorf("agencies %v: only the first %d bytes are read", got, mailin.MaxExtract)
		}
	})
	t.Run("HTML", func(t *testing.T) {
		html := "<p>Start</p>" + strings.Repeat("<p>The music went on all night again.</p>", mailin.MaxHTMLRender/40) + "<p>THE END</p>"
		raw := []byte("From: Ann Example <ann@example.org>\r\nSubject: x\r\nDate: Mon, 12 Oct 2026 10:00:00 +0100\r\n" +
			"Message-ID: <h@example.org>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html)
		in, err := mailin.Parse(raw, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		if in.HTML != html {
			t.Errorf("HTML not kept whole: %d bytes of %d", len(in.HTML), len(html))
		}
		if !strings.HasPrefix(in.Text, "Start") || strings.Contains(in.Text, "THE END") {
			t.Errorf("text made of more than the first %d bytes of HTML", mailin.MaxHTMLRender)
		}
	})
}

// TestDatesInWords: dates written in words become incident dates, counted
// from the message's Date; what is vague or could mean two days stays
// empty, and no date is ever after the message.
func TestDatesInWords(t *testing.T) {
	d := casefile.MustDate
	const wed = "Wed, 14 Oct 2026 19:20:00 +0100" // Wednesday 14 October 2026
	for _, tc := range []struct {
		name, date, body string
		want             []casefile.Incident
	}{
		{"TheNthOfMonth", wed, "On the 3rd of October there was a fight and I called the police that night.",
			[]casefile.Incident{{OccurredOn: d("2026-10-03"), ReportedOn: d("2026-10-03"), Agency: "police"}}},
		{"DayMonth", wed, "I reported it to the council on 3 October.",
			[]casefile.Incident{{ReportedOn: d("2026-10-03"), Agency: "council"}}},
		{"MonthDayOrdinal", wed, "I reported it to the council on October 3rd.",
			[]casefile.Incident{{ReportedOn: d("2026-10-03"), Agency: "council"}}},
		{"MonthTheDay", wed, "I reported it to the council on October the 3rd.",
			[]casefile.Incident{{ReportedOn: d("2026-10-03"), Agency: "council"}}},
		{"LastFriday", wed, "Last Friday there was a party and I rang the police the same night.",
			[]casefile.Incident{{OccurredOn: d("2026-10-09"), ReportedOn: d("2026-10-09"), Agency: "police"}}},
		{"OnFriday", wed, "I called the police on Friday.",
			[]casefile.Incident{{ReportedOn: d("2026-10-09"), Agency: "police"}}},
		{"FridayNight", wed, "Friday night they smashed my window and I rang the police the next day.",
			[]casefile.Incident{{OccurredOn: d("2026-10-09"), ReportedOn: d("2026-10-10"), Agency: "police"}}},
		{"WeekdayWithDateIsOneDate", wed, "I called the police on Friday 9 October.",
			[]casefile.Incident{{ReportedOn: d("2026-10-09"), Agency: "police"}}},
		{"Yesterday", wed, "I emailed the council yesterday.",
			[]casefile.Incident{{ReportedOn: d("2026-10-13"), Agency: "council"}}},
		{"AcrossNewYear", "Mon, 04 Jan 2027 09:00:00 +0000", "I called the police last Friday and the council on 28 December.",
			[]casefile.Incident{{ReportedOn: d("2027-01-01"), Agency: "police"}, {ReportedOn: d("2026-12-28"), Agency: "council"}}},
		{"YearNeverInTheFuture", wed, "I called the police on 20 October.",
			[]casefile.Incident{{ReportedOn: d("2025-10-20"), Agency: "police"}}},
		// left empty
		{"LastMondayInTheSameWeek", wed, "I rang the police last Monday.", nil},
		{"SameWeekdayAsTheMessage", wed, "I called the police on Wednesday.", nil},
		{"LastSaturdayWrittenOnSunday", "Sun, 18 Oct 2026 10:00:00 +0100", "I called the police last Saturday.", nil},
		{"EarlyMonth", wed, "In early September I told the council about it.", nil},
		{"Summer", wed, "In the summer I called the police several times.", nil},
		{"EveryFriday", wed, "They have parties every Friday and I have called the police.", nil},
		{"Future", wed, "I will call the police on Friday if it happens again.", nil},
		{"MonthAndCount", wed, "I rang the police in September 3 times.", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := testOptions()
			opt.Now = time.Date(2027, 6, 1, 12, 0, 0, 0, time.UTC) // after every Date here
			in, err := mailin.Parse(message(tc.date, tc.body), opt)
			if err != nil {
				t.Fatal(err)
			}
			var got []casefile.Incident
			for _, i := range in.Application.Incidents {
				if !i.OccurredOn.IsZero() || !i.ReportedOn.IsZero() {
					got = append(got, i)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("incidents\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestConsentInProse: consent is read from a sentence that gives or
// refuses it, with that sentence as the evidence; never from silence, and
// never from a sentence about something else.
func TestConsentInProse(t *testing.T) {
	const lead = "I am applying on behalf of my mother, Margaret Hill. The neighbours play loud music every night and I called the police on 3 October. "
	yes, no := ptr(true), ptr(false)
	for _, tc := range []struct {
		name, sentence string
		want           *bool
	}{
		{"WrittenConsentToActAndShare", "She has given me her written consent to act for her and to share these details.", yes},
		{"HappyForInformationShared", "She is happy for her information to be shared.", yes},
		{"ConsentsToApplying", "Margaret consents to me applying for her.", yes},
		{"WithHerConsent", "I am writing with her consent.", yes},
		{"AgreedToSharing", "She has agreed to me sharing her details with the partnership.", yes},
		{"BareConsent", "She has given her consent.", yes},
		{"NoObjection", "She has no objection to her details being shared.", yes},
		{"NotGiven", "She has not given consent for me to share her details.", no},
		{"NotYetGiven", "She hasn't yet given her permission to share anything.", no},
		{"DoesNotWantShared", "She does not want her details shared with the landlord.", no},
		{"WritingWithout", "I am writing without her consent because she is frightened.", no},
		{"Refused", "She refused to let me share her information.", no},
		{"Silence", "She finds all this very hard.", nil},
		{"GardenWithoutConsent", "They came into her garden without her consent and broke the fence.", nil},
		{"LandlordConsent", "The landlord has given consent for a new fence.", nil},
		{"Doubt", "I am not sure whether she would consent to sharing her details.", nil},
		{"WillAsk", "I will ask her for consent to share her details.", nil},
		{"GivenAndRefused", "She has given consent to share her details. She does not consent to sharing them with the landlord.", nil},
		{"HappyToBeContacted", "I am happy for you to contact me.", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := mailin.ParseMessage(message("Wed, 14 Oct 2026 19:20:00 +0100", lead+tc.sentence+"\r\n\r\nHelen Hill\r\n"), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			got := p.Inbound.Application.ConsentToShare
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Fatalf("consent %v, want %v (evidence %q)", fmtBool(got), fmtBool(tc.want), p.ConsentEvidence)
			}
			switch {
			case tc.want == nil && p.ConsentEvidence != "":
				t.Errorf("evidence %q with no consent read", p.ConsentEvidence)
			case tc.want != nil && !strings.Contains(tc.sentence, p.ConsentEvidence):
				t.Errorf("evidence %q is not the sentence %q", p.ConsentEvidence, tc.sentence)
			case tc.want != nil && p.ConsentEvidence == "":
				t.Error("no evidence kept")
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func fmtBool(b *bool) string {
	if b == nil {
		return "null"
	}
	if *b {
		return "true"
	}
	return "false"
}

// TestAgencyLocalForms: agencies are found by the names residents use —
// the force's name, "999", "the local authority", the housing
// association's name from the config — and not where their names only
// describe a home ("a council flat").
func TestAgencyLocalForms(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"ForceName", "I reported it to Leicestershire Police on 3 October.", []string{"police"}},
		{"Constabulary", "I reported it to Leicestershire Constabulary on 3 October.", []string{"police"}},
		{"TheForce", "I reported it to the force on 3 October.", []string{"police"}},
		{"Dialled999", "I dialled 999 on 3 October when they attacked my door.", []string{"police"}},
		{"NumberWithoutACall", "They took the 999 bus home.", []string{}},
		{"TheCouncil", "I told the council on 3 October.", []string{"council"}},
		{"LocalAuthority", "I told the local authority on 3 October.", []string{"council"}},
		{"HousingAssociationByName", "I told Futurehome on 3 October.", []string{"housing"}},
		{"CouncilFlat", "I live in a council flat and the youths gather on the stairs.", []string{}},
		{"CouncilHouseAndPolice", "They deal drugs from their council house, I called the police on 3 October.", []string{"police"}},
		{"HousingEstate", "The youths ride bikes round the housing estate every night.", []string{}},
		{"CouncilTax", "I pay my council tax and nothing is done.", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := mailin.Parse(message("Wed, 14 Oct 2026 19:20:00 +0100", tc.body), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if got := in.Application.Agencies; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("agencies %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("LocalFormNeedsTheAgency", func(t *testing.T) {
		cfg := casefile.DefaultConfig()
		cfg.Agencies = []casefile.Agency{{ID: "police", Name: "Police", Aliases: []string{"police"}}}
		opt := testOptions()
		opt.Config = &cfg
		in, err := mailin.Parse(message("Wed, 14 Oct 2026 19:20:00 +0100", "I told the local authority and the force on 3 October."), opt)
		if err != nil {
			t.Fatal(err)
		}
		if got := in.Application.Agencies; !reflect.DeepEqual(got, []string{"police"}) {
			t.Errorf("agencies %v, want [police]: no agency is configured for the council", got)
		}
	})
}

// TestPostcodeIsWhose: a postcode in free text is the applicant's only
// when the words around it say so; the place of the behaviour keeps its
// own, and one that says nothing stays unread.
func TestPostcodeIsWhose(t *testing.T) {
	for _, tc := range []struct {
		name, body                  string
		postcode, address, location string
	}{
		{"NameThenPostcodeEndsTheMessage", "The parties go on until 4am and I have complained to the council. Ann Example LE67 4HD",
			"LE67 4HD", "", ""},
		{"StatedPostcode", "My postcode is LE67 4HD and the youths gather in the park behind my house.", "LE67 4HD", "", ""},
		{"PlaceOfTheBehaviour", "The family at 12 Elm Road, Coalville LE67 1AB have parties every night.", "", "", "12 Elm Road, Coalville LE67 1AB"},
		{"HomeThenPlace", "I live at 10 Elm Road, where the parties are at 12 Elm Road LE67 1AB.", "", "10 Elm Road", "12 Elm Road LE67 1AB"},
		{"HomeAndPlaceEachTheirOwn", "I live at 10 Elm Road LE67 1AA and the parties are at 14 Elm Road LE67 1AB.", "LE67 1AA", "10 Elm Road", "14 Elm Road LE67 1AB"},
		{"OutsideMyHouse", "They gather outside my house at 3 Hall Lane, Coalville LE67 4HD every night.", "LE67 4HD", "", ""},
		{"SaysNothing", "The postcode LE67 4HD came up when I searched online.", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := mailin.Parse(message("Wed, 14 Oct 2026 19:20:00 +0100", tc.body), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			app := in.Application
			if app.Applicant.Postcode != tc.postcode || app.Applicant.Address != tc.address || app.Location != tc.location {
				t.Errorf("applicant postcode %q address %q, location %q\nwant postcode %q address %q, location %q",
					app.Applicant.Postcode, app.Applicant.Address, app.Location, tc.postcode, tc.address, tc.location)
			}
		})
	}
}
