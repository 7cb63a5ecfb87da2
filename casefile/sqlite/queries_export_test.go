package sqlite

import "slices"

// PreparedQueries lists every query the store's transactions have run (each
// is prepared once and kept), sorted.
func PreparedQueries(s *Store) []string {
	var out []string
	s.stmts.Range(func(k, _ any) bool {
		out = append(out, k.(stmtKey).query)
		return true
	})
	slices.Sort(out)
	return slices.Compact(out)
}
