package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile/config"
)

// graphConfig is a Microsoft 365 tenant with IMAP and SMTP AUTH off: the
// mailbox read and sent from through Graph, as README's set-up writes it.
const graphConfig = `
[mail]
source = "graph"
sender = "graph"

[graph]
mailbox = "communitytrigger@example-council.gov.uk"

[smtp]
from = "Community Trigger <communitytrigger@example-council.gov.uk>"

[oauth2]
provider = "microsoft"
tenant = "example-council.gov.uk"
client_id = "00000000-1111-2222-3333-444444444444"
`

// TestConfigGraph reads [mail] and [graph] with their defaults.
func TestConfigGraph(t *testing.T) {
	cfg, err := config.Load(writeConfig(t, graphConfig), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Graph
	if !cfg.ReadsGraph() || !cfg.SendsGraph() || g.Mailbox != "communitytrigger@example-council.gov.uk" ||
		g.Processed != "Processed" || g.Quarantine != "Quarantine" || g.PollInterval.Duration != 30*time.Second || g.APIURL != "" {
		t.Errorf("[mail] %+v [graph] %+v", cfg.Mail, g)
	}
	def, err := config.Load("", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if def.UsesGraph() || def.Mail.Source != "imap" || def.Mail.Sender != "smtp" {
		t.Errorf("defaults: [mail] %+v", def.Mail)
	}
}

// TestConfigGraphErrorsNameTheKey: what Graph needs is named by its key.
func TestConfigGraphErrorsNameTheKey(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(graphConfig, old) {
			t.Fatalf("%q is not in the config", old)
		}
		return strings.Replace(graphConfig, old, new, 1)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"SourceUnknown", replace(`source = "graph"`, `source = "ews"`), `mail.source: "ews" is not one of imap, graph`},
		{"SenderUnknown", replace(`sender = "graph"`, `sender = "sendgrid"`), `mail.sender: "sendgrid" is not one of smtp, graph`},
		{"GoogleProvider", replace(`provider = "microsoft"`, `provider = "google"`), `mail.source: "graph" needs [oauth2] provider = "microsoft" with flow = "client_credentials"`},
		{"DeviceCode", replace(`provider = "microsoft"`, "provider = \"microsoft\"\nflow = \"device_code\""), `mail.source: "graph" needs [oauth2] provider = "microsoft" with flow = "client_credentials"`},
		{"SenderOnlyNamesSender", strings.Replace(replace(`source = "graph"`, `source = "imap"`), `provider = "microsoft"`, `provider = "custom"`, 1), `mail.sender: "graph" needs [oauth2] provider = "microsoft"`},
		{"NoMailbox", replace(`mailbox = "communitytrigger@example-council.gov.uk"`, ``), `graph.mailbox: required when mail.source = "graph"`},
		{"MailboxWithName", replace(`mailbox = "communitytrigger@example-council.gov.uk"`, `mailbox = "Trigger <communitytrigger@example-council.gov.uk>"`), `graph.mailbox: "Trigger <communitytrigger@example-council.gov.uk>" is not an email address`},
		{"IMAPToo", graphConfig + "[imap]\naddress = \"outlook.office365.com:993\"\nusername = \"ct\"\n", `imap.address: set, but mail.source = "graph"`},
		{"SMTPToo", replace("[smtp]\n", "[smtp]\naddress = \"smtp.office365.com:587\"\n"), `smtp.address: set, but mail.sender = "graph"`},
		{"FromAnotherMailbox", replace(`from = "Community Trigger <communitytrigger@example-council.gov.uk>"`, `from = "Community Trigger <asb@example-council.gov.uk>"`), `smtp.from: with mail.sender = "graph" mail is sent as graph.mailbox itself: its address must be communitytrigger@example-council.gov.uk`},
		{"SameFolders", replace("[graph]\n", "[graph]\nquarantine = \"processed\"\n"), `graph.quarantine: "processed" is also graph.processed`},
		{"InboxAsProcessed", replace("[graph]\n", "[graph]\nprocessed = \"Inbox\"\n"), `graph.processed: "Inbox" is the Inbox the service reads`},
		{"PollTooOften", replace("[graph]\n", "[graph]\npoll_interval = \"100ms\"\n"), `graph.poll_interval: must be at least 1s`},
		{"APIURLInClear", replace("[graph]\n", "[graph]\napi_url = \"http://graph-proxy.example-council.gov.uk\"\n"), `graph.api_url: http:// would send the app's token in clear`},
		{"UnknownKey", replace("[graph]\n", "[graph]\nfolder = \"Inbox\"\n"), `graph.folder: unknown key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(writeConfig(t, tc.body), noEnv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
	t.Run("LoopbackAPIURL", func(t *testing.T) {
		if _, err := config.Load(writeConfig(t, replace("[graph]\n", "[graph]\napi_url = \"http://127.0.0.1:8443\"\n")), noEnv); err != nil {
			t.Errorf("the emulator on this machine: %v", err)
		}
	})
	t.Run("ReadOnlyThroughGraph", func(t *testing.T) {
		// smtp.from may then be any address the SMTP account sends as.
		body := strings.Replace(replace(`sender = "graph"`, `sender = "smtp"`), `from = "Community Trigger <communitytrigger@example-council.gov.uk>"`, `from = "Community Trigger <asb@example-council.gov.uk>"`, 1)
		if _, err := config.Load(writeConfig(t, body), noEnv); err != nil {
			t.Errorf("reading through Graph, sending over SMTP: %v", err)
		}
	})
}
