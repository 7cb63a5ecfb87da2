#!/bin/sh
# bench-imap.sh — how long `trigger mail fetch --once` takes to drain a
# Dovecot mailbox of N messages (default 10000), against mbsync merely
# downloading the same mailbox. The target: within 2x of mbsync.
#
# Needs Dovecot and isync (Debian: apt-get install dovecot-imapd isync).
# Dovecot runs rootless in a temporary directory on a free 127.0.0.1 port;
# the measurement is the Go test TestDovecotDrainBenchmark in
# mailin/imapwatch, which prints a BENCH line:
#
#   BENCH messages=10000 ingest=… mbsync=…s fetch_once=…s fetch_once_nop_ingest=…s ratio=…
#
# fetch_once parses every message with mail intake (mailin.Intake, as the
# command does), files it in a case file (one transaction and one case
# each) and moves it to Processed; fetch_once_nop_ingest is the same with
# an ingest that does nothing: the IMAP side alone. INGEST=store uses the
# tests' stand-in for intake instead (no application read, no ack queued).
#
# Usage: [INGEST=store] scripts/bench-imap.sh [MESSAGES] [RUNS]
set -eu
cd "$(dirname "$0")/.."
n=${1:-10000}
runs=${2:-1}
for bin in /usr/sbin/dovecot mbsync; do
	command -v "$bin" >/dev/null 2>&1 || {
		echo "bench-imap: $bin not found: apt-get install dovecot-imapd isync" >&2
		exit 2
	}
done
go test -c -o "${TMPDIR:-/tmp}/imapwatch-bench.test" ./mailin/imapwatch/
i=0
while [ "$i" -lt "$runs" ]; do
	IMAPWATCH_BENCH_MESSAGES=$n IMAPWATCH_BENCH_INGEST=${INGEST:-intake} "${TMPDIR:-/tmp}/imapwatch-bench.test" \
		-test.run '^TestDovecotDrainBenchmark$' -test.v -test.timeout 30m |
		grep -E '^BENCH|bench_test.go|^(--- )?(PASS|FAIL)|^ok'
	i=$((i + 1))
done
rm -f "${TMPDIR:-/tmp}/imapwatch-bench.test"
