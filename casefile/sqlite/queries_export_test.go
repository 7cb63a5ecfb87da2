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

// WriterPragma reads a pragma's value on the writers' connection.
func WriterPragma(s *Store, name string) (v int64, err error) {
	err = s.db.QueryRow(`PRAGMA ` + name).Scan(&v)
	return v, err
}
