package main

import (
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/mailin"
)

func TestMoveDates(t *testing.T) {
	written := time.Date(2026, 10, 14, 9, 0, 0, 0, casefile.London)
	for _, tc := range []struct {
		in   string
		days int
		want string
	}{
		{"Date: Mon, 12 Oct 2026 10:02:11 +0100\nSubject: x", 77, "Date: Mon, 28 Dec 2026 10:02:11 +0000\nSubject: x"},
		{"Complaint 1 date reported: 03/08/2026", 77, "Complaint 1 date reported: 19/10/2026"},
		{"0345 of 03/08/2026 and 28/12/2026", 7, "0345 of 10/08/2026 and 04/01/2027"},
		{"on 5 September (incident 1123), 19 September and 3 October.", 77, "on 21 November (incident 1123), 5 December and 19 December."},
		{"on leave until Monday 19 October.", 84, "on leave until Monday 11 January."},
		{"on 2 October 2026", 140, "on 19 February 2027"},
		{"nothing on 31/02/2026, since June, 1123", 7, "nothing on 31/02/2026, since June, 1123"},
		{"Date: Mon, 12 Oct 2026 10:02:11 +0100", -7, "Date: Mon, 05 Oct 2026 10:02:11 +0100"},
		{"Date: Tue, 27 Apr 2027 09:00:00 +0100\r\n\r\non 27 April", 7, "Date: Tue, 04 May 2027 09:00:00 +0100\r\n\r\non 4 May"},
		{"Date: Tue, 04 May 2027 09:00:00 +0100", 7, "Date: Tue, 11 May 2027 09:00:00 +0100"},
	} {
		if got := moveDates(tc.in, tc.days, written); got != tc.want {
			t.Errorf("moveDates(%q, %d):\n got %q\nwant %q", tc.in, tc.days, got, tc.want)
		}
	}
}

// TestDemoSamplesStayMet moves the demo's sample emails to every 13th day
// (so every day of the week) of two years and a bit, and to the days CI's
// moved clocks and the changes of the clocks, the year and the month fall
// on, just after and just before midnight, and reads them as intake would:
// none is dated after the moment, the web-form application always meets
// the threshold with its three complaints, and the free-text one is always
// assessed as it was when it was written.
func TestDemoSamplesStayMet(t *testing.T) {
	entries, err := demoMail.ReadDir("demodata")
	if err != nil || len(entries) != 3 {
		t.Fatalf("demodata: %v %v", entries, err)
	}
	var samples []string
	for _, e := range entries {
		raw, err := demoMail.ReadFile("demodata/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, string(raw))
	}
	cfg := casefile.DefaultConfig()
	assess := func(raw string, now time.Time) (casefile.Inbound, casefile.ThresholdResult) {
		t.Helper()
		in, err := mailin.Parse([]byte(raw), mailin.Options{Config: &cfg, ReceivedAt: now, Now: now})
		if err != nil {
			t.Fatalf("%s: %v", now, err)
		}
		return in, casefile.Assess(in.Application, casefile.DateOf(now), cfg.Threshold)
	}
	_, freeText := assess(samples[1], demoWritten)

	var days []casefile.Date
	for day := casefile.DateOf(demoWritten); day.Year < 2029; day = day.AddDays(13) {
		days = append(days, day)
	}
	for _, d := range []string{"2027-01-04", "2027-03-15", "2027-03-28", "2027-06-26", "2027-10-31", "2027-12-27",
		"2027-12-31", "2028-01-01", "2028-02-29", "2028-03-01"} {
		days = append(days, casefile.MustDate(d))
	}
	for _, day := range days {
		for _, hm := range [][2]int{{0, 30}, {23, 30}} {
			now := time.Date(day.Year, day.Month, day.Day, hm[0], hm[1], 0, 0, casefile.London)
			shift := demoShift(now)
			if shift%7 != 0 {
				t.Fatalf("%s: the samples move %d days, not whole weeks", now, shift)
			}
			var moved []string
			for _, s := range samples {
				m := moveDates(s, shift, demoWritten)
				msg, err := mail.ReadMessage(strings.NewReader(m))
				if err != nil {
					t.Fatal(err)
				}
				date, err := msg.Header.Date()
				if err != nil || date.After(now) || now.Sub(date) > 9*24*time.Hour {
					t.Fatalf("%s: a sample is dated %s (%v), want the week before", now, date, err)
				}
				moved = append(moved, m)
			}
			in, th := assess(moved[0], now)
			if in.MessageID != demoWebForm || th.Assessment != casefile.Met || th.QualifyingComplaints != 3 {
				t.Fatalf("%s: the web-form application is %s with %d qualifying complaints: %v", now, th.Assessment, th.QualifyingComplaints, th.Reasons)
			}
			if _, th := assess(moved[1], now); th.Assessment != freeText.Assessment || th.QualifyingComplaints != freeText.QualifyingComplaints {
				t.Fatalf("%s: the free-text application is %s (%d), was %s (%d) when written", now, th.Assessment, th.QualifyingComplaints, freeText.Assessment, freeText.QualifyingComplaints)
			}
			if in, _ := assess(moved[2], now); in.Machine == "" {
				t.Fatalf("%s: the out-of-office reply is taken for a person's mail", now)
			}
			if !regexp.MustCompile(`until Monday \d{1,2} [A-Z][a-z]+\.`).MatchString(moved[2]) {
				t.Fatalf("%s: the out-of-office reply lost its date: %s", now, moved[2])
			}
		}
	}
}
