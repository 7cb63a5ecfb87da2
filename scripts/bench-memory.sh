#!/bin/sh
# bench-memory.sh — resident memory of an idle `trigger serve`: the binary
# is built, started with a configuration pointing at a local Dovecot (IMAP
# IDLE), the project's mail sink and Slack emulator (Socket Mode), and once
# more with nothing configured but a database; once /readyz answers 200 it
# idles IDLE (default 5s) and VmRSS is read from /proc/PID/status. The goal:
# under 40 MB.
#
# Needs Dovecot (Debian: apt-get install dovecot-imapd); it runs rootless in
# a temporary directory on a free 127.0.0.1 port. The measuring program is
# scripts/benchworld.go.
#
# Usage: scripts/bench-memory.sh [IDLE]
set -eu
cd "$(dirname "$0")/.."
idle=${1:-5s}
[ -x /usr/sbin/dovecot ] || {
	echo "bench-memory: /usr/sbin/dovecot not found: apt-get install dovecot-imapd" >&2
	exit 2
}
bin=$(mktemp -d "${TMPDIR:-/tmp}/bench-memory.XXXXXX")
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/trigger" ./cmd/trigger
go build -o "$bin/benchworld" scripts/benchworld.go
"$bin/benchworld" memory -bin "$bin/trigger" -idle "$idle"
