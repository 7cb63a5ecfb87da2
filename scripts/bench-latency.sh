#!/bin/sh
# bench-latency.sh — email-to-channel latency of `trigger serve`: N web-form
# applications (default 200) are appended one after another to a local
# Dovecot mailbox with IMAP APPEND; each is timed from just before its APPEND
# until the Slack channel of its case exists. The service learns of the mail
# by IMAP IDLE, ingests it, and its outbox creates the channel in the
# project's Slack emulator (rate limits off). Prints the median, 90th and
# 99th percentiles, split into mail (APPEND → case committed) and Slack
# (case → channel), and a BENCH line. The goal: under 1 s.
#
# Needs Dovecot (Debian: apt-get install dovecot-imapd); it runs rootless in
# a temporary directory on a free 127.0.0.1 port. The measuring program is
# scripts/benchworld.go; the binary is built without -race.
#
# Usage: scripts/bench-latency.sh [MESSAGES]
set -eu
cd "$(dirname "$0")/.."
n=${1:-200}
[ -x /usr/sbin/dovecot ] || {
	echo "bench-latency: /usr/sbin/dovecot not found: apt-get install dovecot-imapd" >&2
	exit 2
}
bin=$(mktemp -d "${TMPDIR:-/tmp}/bench-latency.XXXXXX")
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/trigger" ./cmd/trigger
go build -o "$bin/benchworld" scripts/benchworld.go
"$bin/benchworld" latency -bin "$bin/trigger" -n "$n"
