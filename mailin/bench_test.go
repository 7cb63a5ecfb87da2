package mailin_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/csp/trigger/mailin"
)

// bigMessage builds a message of about size bytes: a short text and one
// base64 attachment.
func bigMessage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Rita Gomez <rita.gomez@example.net>\r\nTo: communitytrigger@example-council.gov.uk\r\n" +
		"Subject: video of the fight\r\nDate: Mon, 09 Nov 2026 10:00:00 +0000\r\nMessage-ID: <big@example.net>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"big\"\r\n\r\n--big\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nVideo attached. I called the police on 8 November (incident 0042).\r\n" +
		"--big\r\nContent-Type: video/mp4\r\nContent-Disposition: attachment; filename=\"fight.mp4\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	line := make([]byte, 57)
	enc := make([]byte, 76)
	for i := 0; b.Len() < size-80; i++ {
		for j := range line {
			line[j] = byte(i*7 + j)
		}
		base64.StdEncoding.Encode(enc, line)
		b.Write(enc)
		b.WriteString("\r\n")
	}
	b.WriteString("--big--\r\n")
	return b.Bytes()
}

func BenchmarkParseTypical(b *testing.B) {
	var msgs [][]byte
	for _, n := range []string{"webform-sample.eml", "freetext-sample.eml", "followup-sample.eml", "ooo-housing-sample.eml",
		"webform-html-table.eml", "onbehalf-relative.eml", "bounce-postfix-dsn.eml", "attachment-rfc2231.eml"} {
		msgs = append(msgs, mustRead(b, n))
	}
	opt := testOptions()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := mailin.Parse(msgs[i%len(msgs)], opt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

func BenchmarkParse25MB(b *testing.B) {
	raw := bigMessage(mailin.DefaultMaxSize - 4096)
	opt := testOptions()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in, err := mailin.Parse(raw, opt)
		if err != nil {
			b.Fatal(err)
		}
		if len(in.Attachments) != 1 {
			b.Fatal(fmt.Sprint("attachments: ", len(in.Attachments)))
		}
	}
}
