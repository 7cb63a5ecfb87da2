#!/bin/sh
# bench-imap.sh — how long `trigger mail fetch --once` takes to drain a
# Dovecot mailbox of N messages (default 10000), against mbsync merely
# downloading the same mailbox. The target: within 1.5x of mbsync (median
# of RUNS), and the per-message cost flat from 10,000 to 100,000 messages.
#
# Needs Dovecot and isync (Debian: apt-get install dovecot-imapd isync).
# Dovecot runs rootless in a temporary directory on a free 127.0.0.1 port;
# the measurement is the Go test TestDovecotDrainBenchmark in
# mailin/imapwatch, which prints a BENCH line:
#
#   BENCH messages=10000 mb=… mbsync=…s fetch_once=…s fetch_once_nop_ingest=…s ratio=… per_message_ms=… load=… cpus_busy=… disk_read_mb=… nop_disk_read_mb=…
#
# cpus_busy is how many of the machine's CPUs were busy on average during
# fetch --once (2.00: both of two, all the time); disk_read_mb what the
# machine read from disk meanwhile (/proc/vmstat pgpgin, Dovecot's reads
# too), nop_disk_read_mb the same for the IMAP-only run: a mailbox whose
# files are still in the page cache reads next to nothing (where the
# kernel does not say, both read 0).
#
# The mailbox is internal/mixedmail's: applications, follow-ups, further-
# review requests, automatic replies, bounces, list mail, HTML-only mail,
# attachments, mail delivered twice, over a case file holding its history.
# fetch_once reads every message with mail intake (mailin.Intake, as the
# command does), files it in batches and moves it to Processed;
# fetch_once_nop_ingest is the same with an ingest that does nothing: the
# IMAP side alone. With RUNS > 1 the last line is the medians.
# PROFILE=FILE writes a CPU profile of the (last) fetch --once.
#
# Usage: [PROFILE=cpu.prof] scripts/bench-imap.sh [MESSAGES] [RUNS]
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
out=$(mktemp)
i=0
while [ "$i" -lt "$runs" ]; do
	IMAPWATCH_BENCH_MESSAGES=$n IMAPWATCH_BENCH_CPUPROFILE=${PROFILE:-} "${TMPDIR:-/tmp}/imapwatch-bench.test" \
		-test.run '^TestDovecotDrainBenchmark$' -test.v -test.timeout 60m |
		grep -E '^BENCH|bench_test.go|^(--- )?(PASS|FAIL)|^ok' | tee -a "$out"
	i=$((i + 1))
done
if [ "$runs" -gt 1 ]; then
	# The median of each figure over the runs.
	grep '^BENCH' "$out" | awk -v runs="$runs" '
		{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v = kv[2]; sub(/s$/, "", v); vals[kv[1], NR] = v; keys[i] = kv[1] } nf = NF }
		END {
			line = "MEDIAN"
			for (i = 2; i <= nf; i++) {
				k = keys[i]; m = 0
				for (r = 1; r <= NR; r++) a[r] = vals[k, r]
				for (r = 1; r <= NR; r++) for (q = r + 1; q <= NR; q++) if (a[q] + 0 < a[r] + 0) { t = a[r]; a[r] = a[q]; a[q] = t }
				line = line " " k "=" a[int((NR + 1) / 2)]
			}
			print line " runs=" NR
		}'
fi
rm -f "$out" "${TMPDIR:-/tmp}/imapwatch-bench.test"
