package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

// startEmulatorCmd runs `trigger slack emulator` with args until the test
// ends and returns its Web API base URL.
func startEmulatorCmd(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		m := &Main{Stdin: strings.NewReader(""), Stdout: pw, Stderr: io.Discard, Getenv: func(string) string { return "" }}
		done <- m.Run(ctx, append([]string{"slack", "emulator", "--listen", "127.0.0.1:0"}, args...))
		pw.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	api := ""
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if _, url, ok := strings.Cut(line, "[slack] api_url): "); ok {
			api = url
		}
		if strings.HasPrefix(line, "Press Ctrl-C") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if api == "" {
		t.Fatal("the emulator did not say its API URL")
	}
	return api
}

// TestSlackEmulatorScopes: the emulator's token carries the manifest's
// scopes unless --scopes says otherwise, and a call without its scope is
// refused with missing_scope, as Slack refuses it.
func TestSlackEmulatorScopes(t *testing.T) {
	create := func(api, name string) error {
		_, err := slack.New("xoxb-emulator", slack.OptionAPIURL(api)).CreateConversation(slack.CreateConversationParams{ChannelName: name, IsPrivate: true})
		return err
	}
	manifest := startEmulatorCmd(t)
	if err := create(manifest, "ct-2026-0001"); err != nil {
		t.Errorf("conversations.create with the manifest's scopes: %v", err)
	}
	if _, _, _, err := slack.New("xoxb-emulator", slack.OptionAPIURL(manifest)).GetFileInfo("F1", 0, 0); err == nil || !strings.Contains(err.Error(), "missing_scope") {
		t.Errorf("files.info without files:read, which the manifest does not ask for: %v", err)
	}

	narrow := startEmulatorCmd(t, "--scopes", "chat:write")
	if err := create(narrow, "ct-2026-0002"); err == nil || !strings.Contains(err.Error(), "missing_scope") {
		t.Errorf("conversations.create with --scopes chat:write: %v", err)
	}

	code, _, stderr := run(t, t.TempDir(), "", nil, "slack", "emulator", "--scopes", "chat:write,chat:everything")
	if code != exitUsage || !strings.Contains(stderr, `"chat:everything" is not a bot scope`) {
		t.Errorf("an unknown scope: %d %q", code, stderr)
	}
}
