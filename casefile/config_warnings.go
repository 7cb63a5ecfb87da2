package casefile

import (
	"fmt"
	"unicode/utf8"
)

// agencyNameChars is the most of an agency's name Slack shows as a choice in
// a form (an option's text holds 75 characters).
const agencyNameChars = 75

// Warnings are what the configuration allows but a person should know about:
// it works, not quite as well as it might. Validate refuses what does not
// work; `trigger config check` prints these and `trigger serve` logs them at
// start.
func (c *Config) Warnings() []string {
	var w []string
	for i, a := range c.Agencies {
		if n := utf8.RuneCountInString(a.Name); n > agencyNameChars {
			w = append(w, fmt.Sprintf("agency[%d].name (%s): %d characters; Slack shows at most %d in a form's choices, so there it is shortened, ending with \"…\"",
				i, a.ID, n, agencyNameChars))
		}
	}
	return w
}
