package casefile_test

import (
	"testing"

	"github.com/csp/trigger/casefile"
)

func TestBankHolidays(t *testing.T) {
	cal := casefile.NewCalendar(nil)
	for _, d := range []string{
		"2024-01-01", "2024-03-29", "2024-04-01", "2024-05-06", "2024-05-27", "2024-08-26", "2024-12-25", "2024-12-26",
		"2025-04-18", "2025-04-21", "2025-12-25", "2025-12-26",
		"2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25",
		"2026-12-28", // Boxing Day 2026 is a Saturday: substitute Monday 28th
		"2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30",
		"2027-12-27", "2027-12-28", // Christmas Saturday, Boxing Day Sunday: Monday and Tuesday
		"2028-01-03", // New Year's Day 2028 is a Saturday
		"2029-03-30", "2029-04-02", "2030-04-19", "2030-04-22", "2030-12-25", "2030-12-26",
	} {
		if !cal.IsHoliday(casefile.MustDate(d)) {
			t.Errorf("%s is not a bank holiday", d)
		}
	}
	for _, d := range []string{"2026-08-03" /* Scotland's summer holiday only */, "2026-11-30" /* St Andrew's */, "2026-12-24", "2026-03-17"} {
		if cal.IsHoliday(casefile.MustDate(d)) {
			t.Errorf("%s is not an England and Wales bank holiday", d)
		}
	}
}

func TestAddWorkingDays(t *testing.T) {
	cal := casefile.NewCalendar([]casefile.Date{casefile.MustDate("2026-12-24")})
	for _, tc := range []struct {
		from string
		n    int
		want string
	}{
		{"2026-10-12", 5, "2026-10-19"},  // Monday + 5 = next Monday
		{"2026-10-16", 1, "2026-10-19"},  // Friday + 1 = Monday
		{"2026-10-17", 1, "2026-10-19"},  // a Saturday counts from the Monday
		{"2026-12-21", 5, "2026-12-31"},  // 22, 23, (24 extra, 25, 28 holidays) 29, 30, 31
		{"2026-12-21", 6, "2027-01-04"},  // … and (1 January) Monday 4 January
		{"2026-12-23", 1, "2026-12-29"},  // 24 closed, 25, 26, 27, 28 not working
		{"2027-12-23", 2, "2027-12-29"},  // 24, (27, 28 holidays) 29
		{"2026-03-31", 3, "2026-04-07"},  // 1, 2, (3 Good Friday, 6 Easter Monday) 7
		{"2027-03-24", 3, "2027-03-31"},  // 25, (26 Good Friday, 29 Easter Monday) 30, 31
		{"2026-10-12", 10, "2026-10-26"}, // threshold decision
		{"2026-10-12", 20, "2026-11-09"}, // review meeting
	} {
		got := cal.AddWorkingDays(casefile.MustDate(tc.from), tc.n)
		if got.String() != tc.want {
			t.Errorf("%s + %d working days = %s, want %s", tc.from, tc.n, got, tc.want)
		}
		if back := cal.WorkingDaysBetween(casefile.MustDate(tc.from), got); back != tc.n {
			t.Errorf("working days between %s and %s = %d, want %d", tc.from, got, back, tc.n)
		}
	}
}

func TestDateAddMonths(t *testing.T) {
	for _, tc := range []struct{ from, want string }{
		{"2026-01-31", "2026-02-28"}, {"2028-01-31", "2028-02-29"}, {"2026-08-31", "2026-09-30"}, {"2026-12-15", "2027-01-15"},
	} {
		if got := casefile.MustDate(tc.from).AddMonths(1); got.String() != tc.want {
			t.Errorf("%s + 1 month = %s, want %s", tc.from, got, tc.want)
		}
	}
}
