package mailin_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/csp/trigger/internal/mixedmail"
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

// freeTextMessage builds a plain-text application of about size bytes:
// the same paragraphs of a resident's account, over and over, as a
// hostile or runaway sender might send.
func freeTextMessage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Rita Gomez <rita.gomez@example.net>\r\nTo: communitytrigger@example-council.gov.uk\r\n" +
		"Subject: what has been happening\r\nDate: Mon, 09 Nov 2026 10:00:00 +0000\r\nMessage-ID: <long@example.net>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello,\r\n\r\n")
	paras := []string{
		"The tenants at 6 Oak Court have had parties every weekend since June, with fights in the street and music until 4am. ",
		"I called the police on 5 September (incident 1123), 19 September (incident 0877) and emailed the council on 3 October, who gave me ASB-2026-0444. ",
		"On the 3rd of October there was another fight and I rang 101 that night; my neighbour at 8 Oak Court LE65 1HX saw it too. ",
		"Last Friday they threw bottles at my car, I reported it to the housing association the next day. ",
	}
	for i := 0; b.Len() < size; i++ {
		b.WriteString(paras[i%len(paras)])
		if i%7 == 6 {
			b.WriteString("\r\n\r\n")
		} else if i%3 == 2 {
			b.WriteString("\r\n")
		}
	}
	b.WriteString("\r\n\r\nRita Gomez\r\n8 Oak Court, Coalville LE67 3PN\r\n")
	return b.Bytes()
}

// BenchmarkParse25MBFreeText measures a free-text email at the size limit:
// extraction reads a capped prefix, so it costs about what a short
// application costs, whatever the size (run with GOMEMLIMIT=64MiB).
func BenchmarkParse25MBFreeText(b *testing.B) {
	raw := freeTextMessage(mailin.DefaultMaxSize - 4096)
	opt := testOptions()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in, err := mailin.Parse(raw, opt)
		if err != nil {
			b.Fatal(err)
		}
		if in.Application.Applicant.Email != "rita.gomez@example.net" {
			b.Fatal("applicant: ", in.Application.Applicant.Email)
		}
	}
}

// BenchmarkParseMixed parses the mailbox a partnership really receives
// (internal/mixedmail), one message after another on one core: what
// reading costs before anything is filed.
func BenchmarkParseMixed(b *testing.B) {
	mb := mixedmail.Generate(mixedmail.Options{Messages: 2000, Seed: 3, Year: 2026})
	cfg := mixedmail.Config()
	opt := mailin.Options{Config: &cfg, Now: testNow}
	b.ReportAllocs()
	b.SetBytes(mb.Bytes() / int64(len(mb.Inbox)))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := mailin.Parse(mb.Inbox[i%len(mb.Inbox)].Raw, opt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
