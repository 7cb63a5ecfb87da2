package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// seeded are the cases seedReportDB builds, in 2019 so that the closed ones
// are past the six years of retention whatever day the test runs.
type seeded struct {
	X string // by email with two attachments; threshold not met; further review declined; closed
	Y string // withdrawn
	Z string // reviewed with a recommendation; responded, not closed
}

var seedAttachments = map[string][]byte{
	"Lucy Fielding's diary.pdf": []byte("%PDF-1.4\n\x00\x01\x02\xfe\xff diary\r\n"),
	"../noise recording.m4a":    {0, 0, 0, 0x20, 'f', 't', 'y', 'p', 'M', '4', 'A', ' ', 0xff, 0x00},
}

func seedApplication() casefile.Application {
	yes := true
	return casefile.Application{
		Route:     casefile.RouteIndividual,
		Applicant: casefile.Person{Name: "Lucy Fielding", Email: "lucy.fielding@example.net", Phone: "07700 900123", Address: "27 Mill Street, Measham", Postcode: "DE12 7HS"},
		Location:  "Alleyway between Mill Street and the High Street",
		Incidents: []casefile.Incident{
			{OccurredOn: casefile.MustDate("2019-01-07"), ReportedOn: casefile.MustDate("2019-01-08"), Agency: "police", Reference: "0345 of 08/01/2019"},
			{OccurredOn: casefile.MustDate("2019-01-28"), ReportedOn: casefile.MustDate("2019-01-28"), Agency: "council", Reference: "ASB/2019/0981"},
			{OccurredOn: casefile.MustDate("2019-02-18"), ReportedOn: casefile.MustDate("2019-02-19"), Agency: "housing", Reference: "FH-20931"},
		},
		ConsentToShare: &yes,
	}
}

// seedReportDB builds a database in dir through the store's commands, on a
// clock set to each step's day.
func seedReportDB(t *testing.T, dir string) seeded {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(filepath.Join(dir, "trigger.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var now time.Time
	s.Clock = func() time.Time { return now }
	at := func(v string) {
		var err error
		if now, err = time.ParseInLocation("2006-01-02 15:04", v, casefile.London); err != nil {
			t.Fatal(err)
		}
	}
	ok := func(_ bool, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	approve := func(ref string) {
		t.Helper()
		ls, err := s.Letters(ctx, ref)
		if err != nil || len(ls) == 0 {
			t.Fatalf("letters of %s: %v", ref, err)
		}
		l := ls[len(ls)-1]
		ok(s.ApproveLetter(ctx, who("U0CHAIR"), ref, l.ID, l.SHA256))
	}
	var sd seeded

	at("2019-03-04 10:00")
	in := casefile.Inbound{
		MessageID: "sub-1@forms.example", Subject: "Community Trigger application: Lucy Fielding", From: "lucy.fielding@example.net",
		Raw:         []byte("From: Lucy Fielding <lucy.fielding@example.net>\r\nSubject: Community Trigger application\r\n\r\nPhone: 07700 900123\r\nPostcode: DE12 7HS\r\n"),
		Text:        "Phone: 07700 900123\nPostcode: DE12 7HS\n",
		Application: seedApplication(),
	}
	names := make([]string, 0, len(seedAttachments))
	for n := range seedAttachments {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		in.Attachments = append(in.Attachments, casefile.Attachment{Filename: n, ContentType: "application/octet-stream", Data: seedAttachments[n]})
	}
	res, err := s.Ingest(ctx, in)
	if err != nil || res.Case == nil {
		t.Fatalf("ingest: %+v %v", res, err)
	}
	sd.X = *res.Case
	at("2019-03-06 10:00")
	ok(s.Decide(ctx, who("U0COORD"), sd.X, casefile.NotMet, "Lucy Fielding reported to one agency only"))
	at("2019-03-08 10:00")
	approve(sd.X)
	at("2019-03-11 10:00")
	ok(s.RequestFurtherReview(ctx, who("U0COORD"), sd.X))
	at("2019-03-12 10:00")
	ok(s.DecideFurtherReview(ctx, who("U0CHAIR"), sd.X, false, "Nothing new in Ms Fielding's email"))
	approve(sd.X) // the letter saying why; sending it closes the case

	at("2019-05-13 10:00")
	c, err := s.CreateCase(ctx, casefile.NewCase{Application: seedApplication(), Actor: who("staff")})
	if err != nil {
		t.Fatal(err)
	}
	sd.Y = c.Ref
	at("2019-05-14 10:00")
	ok(s.Withdraw(ctx, who("U0COORD"), sd.Y, "Ms Fielding has moved away from Mill Street"))

	at("2019-06-03 10:00")
	if c, err = s.CreateCase(ctx, casefile.NewCase{Application: seedApplication(), Actor: who("staff")}); err != nil {
		t.Fatal(err)
	}
	sd.Z = c.Ref
	at("2019-06-05 10:00")
	ok(s.Decide(ctx, who("U0COORD"), sd.Z, casefile.Met, ""))
	for i, a := range []string{"police", "council", "housing"} {
		at([]string{"2019-06-07 10:00", "2019-06-10 10:00", "2019-06-11 10:00"}[i])
		ok(s.RecordReply(ctx, who("U0"), casefile.ReplyInput{Ref: sd.Z, Agency: a, Author: "U0" + strings.ToUpper(a), Source: "form", Taken: "Spoke to Lucy Fielding", DedupeKey: a}))
	}
	ok(s.ScheduleMeeting(ctx, who("U0COORD"), sd.Z, casefile.MeetingPlan{When: now.Add(96 * time.Hour), Place: "Room 2", By: "U0COORD"}))
	at("2019-06-17 16:00")
	no := false
	ok(s.RecordOutcome(ctx, who("U0COORD"), sd.Z, casefile.MeetingOutcome{Attendance: []string{"police", "council"}, Summary: "Not joined up.", Adequate: &no, By: "U0COORD",
		Recommendations: []casefile.Recommendation{{Text: "Gate the alleyway", Owner: "council", Due: casefile.MustDate("2019-09-30")}}}))
	ok(s.SkipConsultation(ctx, who("U0COORD"), sd.Z, "Ms Fielding agreed the plan by phone"))
	at("2019-06-20 10:00")
	approve(sd.Z)
	return sd
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	seedReportDB(t, dir)

	code, out, stderr := run(t, dir, "", nil, "report", "--year", "2019")
	if code != 0 {
		t.Fatalf("report: %d %s", code, stderr)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"figures for 2019", "1 January to 31 December 2019 (UK time, Europe/London)",
		"Applications for a case review received 3",
		"Applications where the threshold for a review was not met 1",
		"Case reviews carried out 1",
		"Case reviews that resulted in recommendations 1",
		"Further reviews requested 1", "Further reviews upheld 0", "Applications withdrawn 1",
		"Reviews of a threshold-not-met decision requested (police and crime commissioner's route) 0",
		"Reviews of a threshold-not-met decision upheld 0",
		"From application to threshold decision 2 (2 applications)",
		"From application to the partnership's response 8.5 (2 applications)", // 4 and 13
		"Police 2 (1 of 1 request answered)",
		"District Council 3 (1 of 1 request answered)",
		"March 1 April 0 May 1 June 1",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = run(t, dir, "", nil, "report", "--year", "2019", "--csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil {
		t.Fatalf("csv: %d %v\n%s", code, err, out)
	}
	got := map[string]string{}
	for _, r := range rows[1:] {
		got[r[1]+"/"+r[2]] = r[3]
	}
	for k, v := range map[string]string{
		"applications_received/": "3", "threshold_not_met/": "1", "case_reviews_carried_out/": "1", "reviews_with_recommendations/": "1",
		"median_working_days_to_response/": "8.5", "median_working_days_agency_reply/housing": "4",
		"applications_received_in_month/2019-03": "1", "applications_received_in_month/2019-04": "0",
		"threshold_decision_reviews_requested/": "0", "threshold_decision_reviews_upheld/": "0",
	} {
		if got[k] != v {
			t.Errorf("csv %s = %q, want %q", k, got[k], v)
		}
	}

	code, out, _ = run(t, dir, "", nil, "report", "--year", "2019", "--html")
	if code != 0 {
		t.Fatalf("html: %d", code)
	}
	for _, want := range []string{`<html lang="en">`, `name="viewport"`, "<h1>", "<h2", `<svg viewBox=`, `role="img"`, "<title id=\"chart-title\">",
		"<caption>", `scope="row"`, "March: 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, external := range []string{"http://", "https://", "<script", "<link", "<img", "@import", "url("} {
		if strings.Contains(out, external) {
			t.Errorf("the page uses an external asset or script: %q", external)
		}
	}
	for _, pd := range []string{"Lucy", "Fielding", "DE12", "07700"} {
		if strings.Contains(out, pd) {
			t.Errorf("the page holds %q", pd)
		}
	}

	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"report"}, "--year YYYY is required"},
		{[]string{"report", "--year", "2019", "--csv", "--html"}, "choose one of --csv and --html"},
		{[]string{"report", "--year", "19"}, "year: 19"},
	} {
		if code, _, stderr := run(t, dir, "", nil, tc.args...); code != 2 || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: %d %q", tc.args, code, stderr)
		}
	}
}

// chromium finds a headless Chromium, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium: install it (Debian: apt-get install -y chromium fonts-liberation) to render the published page in a real browser")
	return ""
}

func runChromium(t *testing.T, bin string, extra ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--force-device-scale-factor=1", "--user-data-dir=" + t.TempDir()}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
	}
	return out.Bytes()
}

// TestReportHTMLInBrowser renders the published page in headless Chromium
// at a phone's width and looks at it: the text is there, the page is not
// blank, and the chart's bars are drawn with heights in proportion to the
// months' figures.
func TestReportHTMLInBrowser(t *testing.T) {
	bin := chromium(t)
	r := &casefile.Report{Year: 2026, Applications: 30, ThresholdNotMet: 4, ReviewsCarriedOut: 20, ReviewsWithRecommendations: 15,
		Monthly: [12]int{3, 1, 0, 4, 2, 0, 0, 5, 1, 0, 2, 6}}
	var page bytes.Buffer
	if err := writeReportHTML(&page, r, "North West Leicestershire Community Safety Partnership"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(file, page.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	url := "file://" + file

	dom := string(runChromium(t, bin, "--dump-dom", url))
	for _, want := range []string{`lang="en"`, "Community Trigger (ASB Case Review) figures for 2026", "Figures we must publish",
		"Applications for a case review received", "Case reviews that resulted in recommendations", "Applications each month", "December: 6"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	runChromium(t, bin, "--screenshot="+shot, "--window-size=412,2400", url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() != 412 {
		t.Errorf("screenshot %v wide, want 412 (a phone)", b.Dx())
	}
	dark := 0
	isBar := func(x, y int) bool {
		r, g, bl, _ := img.At(x, y).RGBA()
		near := func(v uint32, want int) bool { d := int(v>>8) - want; return d > -12 && d < 12 }
		return near(r, 0x1d) && near(g, 0x70) && near(bl, 0xb8)
	}
	var bars image.Rectangle
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 < 0x80 && g>>8 < 0x80 && bl>>8 < 0x80 {
				dark++
			}
			if isBar(x, y) {
				bars = bars.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	if dark < 2000 {
		t.Fatalf("the page looks blank: %d dark pixels", dark)
	}
	if bars.Empty() {
		t.Fatal("no bar of the chart is drawn")
	}
	if bars.Max.X > b.Max.X || bars.Dx() < 250 {
		t.Errorf("the chart does not fit the phone's width: bars span %v", bars)
	}
	// Walk the row just above the baseline: one run of bar colour per
	// month with applications, each as tall as its figure says.
	base := bars.Max.Y - 1
	type run struct{ x0, x1, h int }
	var runs []run
	for x := bars.Min.X; x < bars.Max.X; x++ {
		if !isBar(x, base) {
			continue
		}
		if len(runs) > 0 && runs[len(runs)-1].x1 == x-1 {
			runs[len(runs)-1].x1 = x
			continue
		}
		runs = append(runs, run{x0: x, x1: x})
	}
	var want []int
	for _, n := range r.Monthly {
		if n > 0 {
			want = append(want, n)
		}
	}
	if len(runs) != len(want) {
		t.Fatalf("%d bars drawn, want %d (months with applications)", len(runs), len(want))
	}
	tallest := 0
	for i := range runs {
		mid := (runs[i].x0 + runs[i].x1) / 2
		y := base
		for y >= bars.Min.Y && isBar(mid, y) {
			y--
		}
		runs[i].h = base - y
		tallest = max(tallest, runs[i].h)
	}
	for i, rn := range runs {
		expect := float64(want[i]) / 6 * float64(tallest)
		if d := float64(rn.h) - expect; d < -3 || d > 3 {
			t.Errorf("bar %d is %dpx tall, want about %.0f (value %d of 6)", i+1, rn.h, expect, want[i])
		}
	}
	if t.Failed() {
		keep := filepath.Join(os.TempDir(), "trigger-report-failed.png")
		b, _ := os.ReadFile(shot)
		os.WriteFile(keep, b, 0o644)
		t.Logf("screenshot kept at %s", keep)
	}
}
