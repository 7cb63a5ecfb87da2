package main

import (
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/csp/trigger/casefile"
)

// The sample emails in demodata are real messages, written in October 2026
// (README ingests them as they are). The demo moves every date in them, and
// in what its people type, by whole weeks to the week it runs in, so that
// the complaints are always recent enough for the threshold to be met and
// the days of the week they name stay true.

// demoWritten is when the last sample email is dated: the demo moves the
// samples so that this falls at or before the moment it runs.
var demoWritten = time.Date(2026, 10, 14, 9, 0, 3, 0, casefile.London)

// demoShift is how many days (whole weeks) the samples move when the demo
// runs at now.
func demoShift(now time.Time) int {
	const week = 7 * 24 * time.Hour
	d := now.Sub(demoWritten)
	weeks := int(d / week)
	if d < 0 && d%week != 0 {
		weeks-- // round towards the past, so that nothing is dated after now
	}
	// A move across a change of the clocks keeps the time of day in London,
	// which may put the last sample up to an hour after now.
	for demoWritten.AddDate(0, 0, 7*weeks).After(now) {
		weeks--
	}
	return 7 * weeks
}

var (
	dateHeaderRE = regexp.MustCompile(`^Date: ([^\r\n]*)`)
	numericRE    = regexp.MustCompile(`\b(\d{1,2})/(\d{1,2})/(\d{4})\b`)
	dayMonthRE   = regexp.MustCompile(`\b(\d{1,2}) (January|February|March|April|May|June|July|August|September|October|November|December)( \d{4})?\b`)
)

// moveDates returns text with every date in it moved by days: the Date
// header, dates written 03/08/2026, and dates written "5 September" (with
// or without a year; without, the one nearest to written is meant).
func moveDates(text string, days int, written time.Time) string {
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		if m := dateHeaderRE.FindStringSubmatch(l); m != nil {
			if t, err := mail.ParseDate(m[1]); err == nil {
				lines[i] = "Date: " + t.In(casefile.London).AddDate(0, 0, days).Format("Mon, 02 Jan 2006 15:04:05 -0700") + l[len(m[0]):]
			}
			continue
		}
		lines[i] = moveDatesInLine(l, days, written)
	}
	return strings.Join(lines, "")
}

func moveDatesInLine(text string, days int, written time.Time) string {
	text = numericRE.ReplaceAllStringFunc(text, func(s string) string {
		m := numericRE.FindStringSubmatch(s)
		d, ok := validDate(atoi(m[3]), time.Month(atoi(m[2])), atoi(m[1]))
		if !ok {
			return s
		}
		d = d.AddDays(days)
		return fmt.Sprintf("%02d/%02d/%04d", d.Day, d.Month, d.Year)
	})
	return dayMonthRE.ReplaceAllStringFunc(text, func(s string) string {
		m := dayMonthRE.FindStringSubmatch(s)
		month := monthOf(m[2])
		var d casefile.Date
		ok := false
		if m[3] != "" {
			d, ok = validDate(atoi(m[3][1:]), month, atoi(m[1]))
		} else {
			ref := casefile.DateOf(written)
			for y := ref.Year - 1; y <= ref.Year+1; y++ {
				if c, valid := validDate(y, month, atoi(m[1])); valid && (!ok || daysApart(c, ref) < daysApart(d, ref)) {
					d, ok = c, true
				}
			}
		}
		if !ok {
			return s
		}
		d = d.AddDays(days)
		out := fmt.Sprintf("%d %s", d.Day, d.Month)
		if m[3] != "" {
			out += fmt.Sprintf(" %d", d.Year)
		}
		return out
	})
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func monthOf(name string) time.Month {
	for m := time.January; m <= time.December; m++ {
		if m.String() == name {
			return m
		}
	}
	return 0
}

// validDate is the day, if there is such a day.
func validDate(y int, m time.Month, d int) (casefile.Date, bool) {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if m < time.January || m > time.December || t.Day() != d || t.Month() != m {
		return casefile.Date{}, false
	}
	return casefile.Date{Year: y, Month: m, Day: d}, true
}

func daysApart(a, b casefile.Date) int {
	d := a.Time().Sub(b.Time()).Hours() / 24
	if d < 0 {
		d = -d
	}
	return int(d + 0.5)
}
