package mailin_test

import (
	"testing"

	"github.com/csp/trigger/mailin"
)

// TestSenderIsTheAddress proves that who sent a message is read from the
// address only: a display name never becomes an address, and a From with
// no address is an unknown sender.
func TestSenderIsTheAddress(t *testing.T) {
	for _, tc := range []struct{ name, from, want string }{
		{"Ordinary", `Lucy Fielding <Lucy@Example.NET>`, "lucy@example.net"},
		{"Bare", `lucy@example.net`, "lucy@example.net"},
		{"BareWithComment", `lucy@example.net (Lucy Fielding)`, "lucy@example.net"},
		{"AddressAsDisplayName", `lucy@example.net <mallory@evil.example>`, "mallory@evil.example"},
		{"QuotedAddressAsDisplayName", `"lucy@example.net" <mallory@evil.example>`, "mallory@evil.example"},
		{"AngleFirst", `<mallory@evil.example> lucy@example.net`, "mallory@evil.example"},
		{"EncodedCRLFInName", `=?utf-8?q?Lucy=0D=0ABcc:_victim@example.com?= <mallory@evil.example>`, "mallory@evil.example"},
		{"EncodedAddressOnly", `=?utf-8?q?help=0D=0ATo:_victim@example.com?=`, ""},
		{"NameOnly", `Lucy Fielding`, ""},
		{"Empty", ``, ""},
		{"TwoAts", `<lucy@example.net@evil.example>`, ""},
		{"NoDomainDot", `<lucy@localhost>`, ""},
		{"ControlInAddress", "<lu\x1bcy@example.net>", ""},
		{"FirstOfTwo", `Ann <ann@example.org>, Bob <bob@example.org>`, "ann@example.org"},
		{"BrokenFirstValidSecond", `Ann <ann@@x>, Bob <bob@example.org>`, "bob@example.org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := "From: " + tc.from + "\r\nSender: someone-else@example.org\r\nSubject: x\r\nDate: Mon, 16 Nov 2026 09:00:00 +0000\r\n" +
				"Message-ID: <id@example.org>\r\n\r\nHello.\r\n"
			in, err := mailin.Parse([]byte(raw), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if in.From != tc.want {
				t.Errorf("From %q read as %q, want %q", tc.from, in.From, tc.want)
			}
			if e := in.Application.Applicant.Email; e != tc.want {
				t.Errorf("applicant email %q, want %q", e, tc.want)
			}
		})
	}
}

// TestReplyToNeverFromDisplayName: the applicant's address for a form
// comes from Reply-To, and a Reply-To whose only "address" is inside an
// encoded display name gives none.
func TestReplyToNeverFromDisplayName(t *testing.T) {
	form := "Name: Ann Example\r\nPhone: 07700 900001\r\nPostcode: LE67 3FJ\r\nDescription: parties every night\r\n"
	for _, tc := range []struct{ name, replyTo, want string }{
		{"Valid", `Ann Example <ann@example.org>`, "ann@example.org"},
		{"EncodedCRLF", `=?utf-8?q?help=0D=0ATo:_victim@example.com?=`, ""},
		{"AddressInName", `victim@example.com <ann@example.org>`, "ann@example.org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := "From: Forms <noreply@forms.example.gov.uk>\r\nReply-To: " + tc.replyTo + "\r\nSubject: form\r\n" +
				"Date: Mon, 16 Nov 2026 09:00:00 +0000\r\nMessage-ID: <f@forms.example.gov.uk>\r\n\r\n" + form
			in, err := mailin.Parse([]byte(raw), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if e := in.Application.Applicant.Email; e != tc.want {
				t.Errorf("applicant email %q, want %q", e, tc.want)
			}
		})
	}
}

// TestFormEmailField: a form's email field is the applicant's stated
// address, used only when it holds exactly one valid address.
func TestFormEmailField(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"Plain", "ann@example.org", "ann@example.org"},
		{"Upper", "Ann@Example.ORG", "ann@example.org"},
		{"Mailto", "mailto:ann@example.org", "ann@example.org"},
		{"NameAndAddress", "Ann Example <ann@example.org>", "ann@example.org"},
		{"TwoAddresses", "ann@example.org, mallory@evil.example", ""},
		{"TwoAddressesBySpace", "ann@example.org mallory@evil.example", ""},
		{"Sentence", "my email is ann@example.org", ""},
		{"NotAnAddress", "ann at example dot org", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := "From: Forms <noreply@forms.example.gov.uk>\r\nSubject: form\r\nDate: Mon, 16 Nov 2026 09:00:00 +0000\r\n" +
				"Message-ID: <f@forms.example.gov.uk>\r\n\r\nName: Ann Example\r\nEmail: " + tc.value +
				"\r\nPhone: 07700 900001\r\nPostcode: LE67 3FJ\r\n"
			in, err := mailin.Parse([]byte(raw), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if e := in.Application.Applicant.Email; e != tc.want {
				t.Errorf("Email: %q read as %q, want %q", tc.value, e, tc.want)
			}
		})
	}
}

// TestApplicantNameFromDisplayName: a free-text application takes the
// applicant's name from the display name only when it looks like a name,
// so the acknowledgement never greets a web address or a sentence.
func TestApplicantNameFromDisplayName(t *testing.T) {
	for _, tc := range []struct{ name, display, want string }{
		{"Name", `Siân Lloyd-Jones`, "Siân Lloyd-Jones"},
		{"Address", `"ann@example.org"`, ""},
		{"Advert", `"Win 1000 pounds at http://evil.example"`, ""},
		{"Sentence", `"Dear friend, click here"`, ""},
		{"ControlsRemovedFirst", "=?utf-8?q?Ann=1B[31m_Example?=", "Ann Example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := "From: " + tc.display + " <sender@example.org>\r\nSubject: x\r\nDate: Mon, 16 Nov 2026 09:00:00 +0000\r\n" +
				"Message-ID: <n@example.org>\r\n\r\nThe neighbours play loud music every night and I have told the council.\r\n"
			in, err := mailin.Parse([]byte(raw), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if got := in.Application.Applicant.Name; got != tc.want {
				t.Errorf("applicant name %q, want %q", got, tc.want)
			}
		})
	}
}
