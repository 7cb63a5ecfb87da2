package casefile

import "strconv"

// Count is n with the noun that agrees with it: "1 qualifying complaint",
// "3 qualifying complaints", "0 agencies".
func Count(n int, one, many string) string {
	return strconv.Itoa(n) + " " + plural(n, one, many)
}
