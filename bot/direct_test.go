package bot_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
)

// TestDirectMessage: a notice about the service reaches every coordinator
// in a direct message from the bot, once each, even when Slack fails
// part-way and the job is retried.
func TestDirectMessage(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: "socket"})
	second := h.emu.AddUser("deputy.coordinator", "deputy@council.example").ID
	h.cfg.Roles.Coordinator = casefile.IDList{h.coord, second}

	// The first post goes through, the second fails: the retry sends the
	// second only.
	h.emu.InjectFault(slackemu.Fault{Method: "chat.postMessage", Delay: time.Millisecond})
	h.emu.InjectFault(slackemu.Fault{Method: "chat.postMessage", Status: http.StatusInternalServerError})
	text := "Mail is not being read: the mailbox refused the sign-in (mailbox_permission). Run New-ServicePrincipal -AppId <client id> & try `trigger mail check`."
	if _, err := h.store.BeginOutage(h.ctx, casefile.PartIMAP, "mailbox_permission", text); err != nil {
		t.Fatal(err)
	}

	dms := map[string]string{} // user → DM channel
	h.waitFor("a direct message to each coordinator", func() bool {
		for _, c := range h.emu.Channels() {
			if c.IM && len(h.emu.Messages(c.ID)) > 0 {
				dms[c.User] = c.ID
			}
		}
		return len(dms) == 2
	})
	h.waitStore("the job done", func() bool {
		st, _ := h.store.OutboxStats(h.ctx)
		return st.Pending == 0
	})
	for _, user := range []string{h.coord, second} {
		msgs := h.emu.Messages(dms[user])
		if len(msgs) != 1 {
			t.Errorf("%s got %d direct messages; want 1", user, len(msgs))
			continue
		}
		if msgs[0].Text != text {
			t.Errorf("%s was told %q", user, msgs[0].Text)
		}
		// In mrkdwn "<client id>" would be taken for a link: escaped, it
		// shows as written.
		if !strings.Contains(string(msgs[0].Blocks), "-AppId &lt;client id&gt; &amp; try") {
			t.Errorf("blocks %s", msgs[0].Blocks)
		}
	}
	if n := len(h.emu.Calls("chat.postMessage")); n != 3 {
		t.Errorf("%d chat.postMessage calls; want 3 (the second failed once)", n)
	}
}
