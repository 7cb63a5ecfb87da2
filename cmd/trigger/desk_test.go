package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile/sqlite"
)

// TestConfigCheckDigestChannel: `config check` asks Slack whether the app
// is in [slack] digest_channel, and says to invite it when it is not.
func TestConfigCheckDigestChannel(t *testing.T) {
	emu := slackemu.New(slackemu.Options{Scopes: bot.Scopes()})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	person := emu.AddUser("sam.patel", "").ID
	if _, err := emu.AddChannel("community-trigger", false, person); err != nil {
		t.Fatal(err)
	}
	joined, err := emu.AddChannel("ct-digest", true, emu.BotUserID(), person)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := func(channel string) string {
		path := filepath.Join(dir, strings.Trim(channel, "#")+".toml")
		os.WriteFile(path, []byte("[slack]\napi_url = \""+emu.APIURL()+"\"\ndigest_channel = \""+channel+"\"\n"), 0o600)
		return path
	}
	env := map[string]string{"TRIGGER_SLACK_BOT_TOKEN": emu.BotToken()}
	for _, tc := range []struct {
		channel string
		env     map[string]string
		want    string
	}{
		{"#community-trigger", env, "# warning: invite the app to #community-trigger ([slack] digest_channel)"},
		{"#ct-digest", env, "# slack: the app is a member of #ct-digest (slack.digest_channel)"},
		{joined.ID, env, "# slack: the app is a member of " + joined.ID},
		{"#ct-digest", nil, "# slack.digest_channel: #ct-digest not checked (TRIGGER_SLACK_BOT_TOKEN is not set)"},
	} {
		code, out, errs := run(t, dir, "", tc.env, "--config", config(tc.channel), "config", "check")
		if code != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %d, want %q in\n%s%s", tc.channel, code, tc.want, out, errs)
		}
	}
}

// TestReadyzDigestChannel: `serve` with the app not in the digest channel
// stays ready, and /readyz says to invite it; /slack/commands answers a
// signed command and refuses a forged one.
func TestReadyzDigestChannel(t *testing.T) {
	w := newWorld(t, worldOptions{mode: "http"})
	cfg := w.config()
	cfg.Slack.DigestChannel = "#community-trigger"
	store, err := sqlite.Open(cfg.Database.Path, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	srv, _ := w.serveInProcess(&cfg, store, io.Discard)
	base := "http://" + srv.HTTPAddr()
	waitFor(t, 20*time.Second, "/readyz to name the digest channel", func() bool {
		code, body := httpGet(t, base+"/readyz")
		return code == http.StatusOK && strings.Contains(body, "ready\n") && strings.Contains(body, "slack: invite the app to #community-trigger")
	})

	dm, err := w.emu.OpenDM(w.coord)
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.emu.SlashCommand(w.coord, dm, "/trigger", "help")
	if err != nil || !res.Acked {
		t.Fatalf("/trigger help over HTTP: %+v %v", res, err)
	}
	waitFor(t, 10*time.Second, "the help", func() bool {
		eph := w.emu.Ephemerals(w.coord)
		return len(eph) > 0 && strings.Contains(eph[len(eph)-1].Text, "/trigger new")
	})
	form := "command=%2Ftrigger&text=help&user_id=" + w.coord + "&channel_id=" + dm + "&response_url=http%3A%2F%2F127.0.0.1%3A1%2Fx&trigger_id=1.2.3"
	if code, _ := signedPost(t, base+"/slack/commands", "application/x-www-form-urlencoded", []byte(form), "not-the-signing-secret", time.Now()); code != http.StatusUnauthorized {
		t.Errorf("a forged command: %d", code)
	}
}
