package mailin_test

import (
	"strings"
	"testing"

	"github.com/csp/trigger/mailin"
)

// TestAuthVerdict reads the trusted gateway's Authentication-Results and
// nothing else: fields of other authserv-ids and fields below the
// gateway's own (written by the sender) are ignored.
func TestAuthVerdict(t *testing.T) {
	const gw = "mx.example-council.gov.uk"
	received := "Received: from mail.example.net by mx.example-council.gov.uk; Mon, 16 Nov 2026 09:00:01 +0000"
	for _, tc := range []struct {
		name    string
		trusted string
		fields  []string // above From, top first
		reason  string
		dmarc   string
	}{
		{"NoTrustedIDNoVerdict", "", []string{gw + "; dmarc=fail header.from=example.net"}, "", ""},
		{"DMARCFail", gw, []string{gw + "; dmarc=fail header.from=example.net"}, mailin.ReasonDMARCFail, "fail"},
		{"CaseOfIDIgnored", gw, []string{"MX.Example-Council.GOV.UK; dmarc=fail"}, mailin.ReasonDMARCFail, "fail"},
		{"DMARCPass", gw, []string{gw + "; dmarc=pass header.from=example.net"}, "", "pass"},
		{"OtherIDIgnored", gw, []string{"mx.evil.example; dmarc=fail; spf=fail"}, "", ""},
		{"ForgedFailBelowIgnored", gw, []string{gw + "; dmarc=pass", received, gw + "; dmarc=fail"}, "", "pass"},
		{"ForgedPassBelowIgnored", gw, []string{gw + "; dmarc=fail", received, gw + "; dmarc=pass"}, mailin.ReasonDMARCFail, "fail"},
		{"ForgedPassAdjacentSameMethodIgnored", gw, []string{gw + "; dmarc=fail", gw + "; dmarc=pass"}, mailin.ReasonDMARCFail, "fail"},
		// When the gateway wrote nothing the first trusted field is read,
		// whoever wrote it: a forged field can only make the forger's own
		// message fail, since no verdict ever verifies a sender.
		{"FirstTrustedRunWhereverItIs", gw, []string{"mx.other.example; dmarc=pass", received, gw + "; dmarc=fail"}, mailin.ReasonDMARCFail, "fail"},
		{"SPFFailNoDKIM", gw, []string{gw + "; spf=fail smtp.mailfrom=example.net; dkim=none"}, mailin.ReasonSPFFail, ""},
		{"SPFFailAlignedDKIMPass", gw, []string{gw + "; spf=fail smtp.mailfrom=example.net; dkim=pass header.d=example.net"}, "", ""},
		{"SPFFailSubdomainDKIMPass", gw, []string{gw + "; spf=fail; dkim=pass header.d=mail.example.net"}, "", ""},
		{"SPFFailForeignDKIMPass", gw, []string{gw + "; spf=fail; dkim=pass header.d=evil.example"}, mailin.ReasonSPFFail, ""},
		{"SPFFailDKIMFailThenPass", gw, []string{gw + "; spf=fail; dkim=fail header.d=example.net; dkim=pass header.d=example.net"}, "", ""},
		{"SPFSoftfailNoVerdict", gw, []string{gw + "; spf=softfail; dkim=none"}, "", ""},
		{"SplitFields", gw, []string{gw + "; spf=fail", gw + "; dkim=pass header.d=example.net", gw + "; dmarc=pass"}, "", "pass"},
		{"CommentsAndSpaces", gw, []string{gw + " 1; (checked) dmarc = fail (p=reject; dis=none) header.from=example.net"}, mailin.ReasonDMARCFail, "fail"},
		{"QuotedSemicolon", gw, []string{gw + `; dkim=pass reason="good; really" header.d=example.net; dmarc=fail`}, mailin.ReasonDMARCFail, "fail"},
		{"NoneResult", gw, []string{gw + "; none"}, "", ""},
		{"NoAuthServID", gw, []string{"spf=fail smtp.mailfrom=example.net; dmarc=fail header.from=example.net"}, "", ""},
		{"ARCResultsNotRead", gw, []string{}, "", ""},
		// Microsoft 365 writes no authserv-id: "microsoft365" reads its
		// one field at the top, and nothing below it.
		{"Microsoft365DMARCFail", "microsoft365", []string{"spf=fail (sender IP is 192.0.2.1) smtp.mailfrom=example.net; dkim=none (message not signed) header.d=none;dmarc=fail action=oreject header.from=example.net;compauth=fail reason=000"}, mailin.ReasonDMARCFail, "fail"},
		{"Microsoft365Pass", "microsoft365", []string{"spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=example.net; dkim=pass (signature was verified) header.d=example.net;dmarc=pass action=none header.from=example.net;compauth=pass reason=100"}, "", "pass"},
		{"Microsoft365ForgedBelowIgnored", "microsoft365", []string{"spf=pass smtp.mailfrom=example.net; dmarc=pass action=none header.from=example.net", "spf=fail; dmarc=fail"}, "", "pass"},
		{"Microsoft365FieldsWithAnIDIgnored", "microsoft365", []string{gw + "; dmarc=fail", "dmarc=pass action=none header.from=example.net"}, "", "pass"},
		{"Microsoft365NotTrustedByDefault", gw, []string{"dmarc=fail action=oreject header.from=example.net"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sb strings.Builder
			for _, f := range tc.fields {
				if strings.HasPrefix(f, "Received:") {
					sb.WriteString(f + "\r\n")
					continue
				}
				sb.WriteString("Authentication-Results: " + f + "\r\n")
			}
			if tc.name == "ARCResultsNotRead" {
				sb.WriteString("ARC-Authentication-Results: i=1; " + gw + "; dmarc=fail\r\n")
			}
			sb.WriteString("From: Lucy Fielding <lucy@example.net>\r\nSubject: x\r\nDate: Mon, 16 Nov 2026 09:00:00 +0000\r\n" +
				"Message-ID: <a@example.net>\r\n\r\nHello.\r\n")
			opt := testOptions()
			opt.TrustedAuthServID = tc.trusted
			p, err := mailin.ParseMessage([]byte(sb.String()), opt)
			if err != nil {
				t.Fatal(err)
			}
			if p.Auth.Reason != tc.reason || p.Auth.DMARC != tc.dmarc {
				t.Errorf("verdict %+v, want reason %q dmarc %q", p.Auth, tc.reason, tc.dmarc)
			}
			if p.Auth.Failed() != (tc.reason != "") {
				t.Errorf("Failed() = %v", p.Auth.Failed())
			}
		})
	}
}
