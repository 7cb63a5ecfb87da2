#!/bin/sh
# bench-stdin.sh — peak memory (maximum RSS) of `trigger ingest` reading a
# 300 MB email piped to it on stdin, as a mail server's pipe would: over
# imap.max_message_size (25 MB) it reads no further than the limit and one
# byte, and quarantines the header. The goal: what a 25 MB message costs,
# not 300 MB's worth. Needs GNU time (/usr/bin/time, Debian package "time").
set -eu
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/trigger" ./cmd/trigger
size=${1:-314572800}
{
	printf 'From: Resident <resident@example.net>\r\nTo: communitytrigger@example-council.gov.uk\r\n'
	printf 'Subject: My diary of the noise\r\nDate: Mon, 12 Oct 2026 10:02:11 +0100\r\nMessage-ID: <stdin-1@example.net>\r\n'
	printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'
	yes 'Another night of noise from number 6, music until three in the morning.' | head -c "$size"
} | /usr/bin/time -v "$dir/trigger" --db "$dir/t.db" ingest --json 2>"$dir/time.txt" || true
grep -E 'Maximum resident|Elapsed' "$dir/time.txt"
