package casefile

import (
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/gb"
)

// englandWales are the bank holidays of England and Wales, with their
// substitute days, from the maintained rickar/cal table (Scotland's summer
// holiday and St Andrew's Day are not in it).
var englandWales = []*cal.Holiday{
	gb.NewYear, gb.GoodFriday, gb.EasterMonday, gb.EarlyMay, gb.VEDay,
	gb.CoronationDay, gb.SpringHoliday, gb.SpringHoliday2022,
	gb.PlatinumJubilee, gb.SummerHoliday, gb.ChristmasDay, gb.BoxingDay,
}

// Calendar counts working days: Monday to Friday, except the bank holidays
// of England and Wales and the partnership's extra closure days.
type Calendar struct {
	extra map[Date]bool
	years map[int]map[Date]bool
}

// NewCalendar returns a calendar with the given extra holidays.
func NewCalendar(extra []Date) *Calendar {
	c := &Calendar{extra: map[Date]bool{}, years: map[int]map[Date]bool{}}
	for _, d := range extra {
		c.extra[d] = true
	}
	// Holidays are computed for a generous span up front so that the
	// calendar is read-only afterwards and safe for concurrent use.
	for y := 2000; y <= 2100; y++ {
		c.years[y] = bankHolidays(y)
	}
	return c
}

func bankHolidays(year int) map[Date]bool {
	days := map[Date]bool{}
	for _, h := range englandWales {
		_, observed := h.Calc(year)
		if observed.IsZero() {
			continue
		}
		days[Date{observed.Year(), observed.Month(), observed.Day()}] = true
	}
	return days
}

// IsHoliday reports whether d is a bank holiday or an extra closure day.
func (c *Calendar) IsHoliday(d Date) bool {
	if c.extra[d] {
		return true
	}
	if hs, ok := c.years[d.Year]; ok {
		return hs[d]
	}
	return bankHolidays(d.Year)[d]
}

// IsWorkingDay reports whether d is a working day.
func (c *Calendar) IsWorkingDay(d Date) bool {
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday && !c.IsHoliday(d)
}

// AddWorkingDays returns the working day n working days after d: the day
// itself does not count, so 5 working days from a Friday is the next Friday.
func (c *Calendar) AddWorkingDays(d Date, n int) Date {
	for n > 0 {
		d = d.AddDays(1)
		if c.IsWorkingDay(d) {
			n--
		}
	}
	return d
}

// WorkingDaysBetween counts the working days after from up to and including
// to; it is 0 when to is not after from.
func (c *Calendar) WorkingDaysBetween(from, to Date) int {
	n := 0
	for d := from.AddDays(1); !d.After(to); d = d.AddDays(1) {
		if c.IsWorkingDay(d) {
			n++
		}
	}
	return n
}
