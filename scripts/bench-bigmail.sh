#!/bin/sh
# bench-bigmail.sh — peak memory (maximum RSS) of `trigger ingest` filing one
# 25 MB email (a text part and an 18 MB video, base64). The goal: within
# 100 MB. Needs GNU time (/usr/bin/time, Debian package "time").
set -eu
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/trigger" ./cmd/trigger
{
	printf 'From: Resident <resident@example.net>\r\nTo: communitytrigger@example-council.gov.uk\r\n'
	printf 'Subject: Videos of the noise\r\nDate: Mon, 12 Oct 2026 10:02:11 +0100\r\nMessage-ID: <big-1@example.net>\r\n'
	printf 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
	printf 'Content-Type: text/plain; charset=utf-8\r\n\r\nI attach the recordings. I reported it to the police on 5 September.\r\n\r\n'
	printf -- '--b1\r\nContent-Type: video/mp4; name="noise.mp4"\r\nContent-Disposition: attachment; filename="noise.mp4"\r\n'
	printf 'Content-Transfer-Encoding: base64\r\n\r\n'
	head -c 18874368 /dev/urandom | base64 -w 76 | sed 's/$/\r/'
	printf -- '--b1--\r\n'
} >"$dir/big.eml"
echo "message: $(wc -c <"$dir/big.eml") bytes"
/usr/bin/time -v "$dir/trigger" --db "$dir/t.db" ingest --json "$dir/big.eml" 2>"$dir/time.txt"
grep -E 'Maximum resident|Elapsed' "$dir/time.txt"
