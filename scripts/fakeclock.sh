#!/bin/sh
# fakeclock.sh — writes a `go build -overlay` file that moves the process
# clock, so the test suite can be run on another date:
#
#   overlay=$(scripts/fakeclock.sh "$dir")
#   TRIGGER_FAKE_NOW=2027-01-04T10:00:00Z \
#   TRIGGER_FAKE_NOW_AT=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ) \
#       go test -overlay "$overlay" ./...
#
# It copies the installed standard library's time/time.go into DIR with its
# Now renamed realNow, and adds time/fakenow.go with a Now that returns
# realNow plus a fixed offset: TRIGGER_FAKE_NOW (RFC 3339) minus
# TRIGGER_FAKE_NOW_AT (RFC 3339, the real instant it stands for; the
# process's first call of Now when unset). With both set, every process of a
# run, and every child a test starts, sees one moved clock that still
# advances. Without TRIGGER_FAKE_NOW the clock is the real one. Inside a
# testing/synctest bubble the bubble's own clock is left as it is.
#
# Nothing of Go's source is kept in the repository: the copy is made from
# $(go env GOROOT) each time. The script fails if the function it patches is
# not there exactly once, rather than run the tests on the real clock.
#
# Usage: scripts/fakeclock.sh DIR   (prints the overlay file's path)
set -eu
dir=${1:?usage: fakeclock.sh DIR}
goroot=$(go env GOROOT)
src=$goroot/src/time/time.go
[ -f "$src" ] || { echo "fakeclock: $src not found" >&2; exit 1; }

mkdir -p "$dir"
n=$(grep -c '^func Now() Time {$' "$src" || true)
if [ "$n" != 1 ]; then
	echo "fakeclock: expected one 'func Now() Time {' in $src, found $n: the overlay needs updating for this Go version" >&2
	exit 1
fi
sed 's/^func Now() Time {$/func realNow() Time {/' "$src" >"$dir/time.go"
grep -q '^func realNow() Time {$' "$dir/time.go" || { echo "fakeclock: patching $src failed" >&2; exit 1; }

cat >"$dir/fakenow.go" <<'EOF'
// Added by scripts/fakeclock.sh for the moved-clock test runs.

package time

import (
	"sync"
	"syscall"
)

var (
	fakeNowOnce   sync.Once
	fakeNowOffset Duration
)

// Now returns the current local time, moved by the offset the environment
// sets (see scripts/fakeclock.sh).
func Now() Time {
	t := realNow()
	if runtimeIsBubbled() {
		return t
	}
	fakeNowOnce.Do(func() {
		v, ok := syscall.Getenv("TRIGGER_FAKE_NOW")
		if !ok || v == "" {
			return
		}
		target, err := Parse(RFC3339Nano, v)
		if err != nil {
			panic("fakeclock: TRIGGER_FAKE_NOW is not RFC 3339: " + v)
		}
		at := t
		if a, ok := syscall.Getenv("TRIGGER_FAKE_NOW_AT"); ok && a != "" {
			if at, err = Parse(RFC3339Nano, a); err != nil {
				panic("fakeclock: TRIGGER_FAKE_NOW_AT is not RFC 3339: " + a)
			}
		}
		fakeNowOffset = target.Sub(at)
	})
	if fakeNowOffset == 0 {
		return t
	}
	// Only the wall clock moves: the monotonic reading stays the runtime's,
	// so that Since, Until and Sub between two readings are still right.
	u := t.Add(fakeNowOffset)
	if u.wall&hasMonotonic != 0 {
		u.ext = t.ext
	}
	return u
}
EOF

json() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
abs=$(cd "$dir" && pwd)
cat >"$abs/overlay.json" <<EOF
{"Replace": {
  "$(json "$src")": "$(json "$abs/time.go")",
  "$(json "$goroot/src/time/fakenow.go")": "$(json "$abs/fakenow.go")"
}}
EOF
echo "$abs/overlay.json"
