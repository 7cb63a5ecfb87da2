package slackemu_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// interaction is the next block_actions payload the bot received.
func nextInteraction(t *testing.T, b *socketBot) map[string]any {
	t.Helper()
	for {
		req := receive(t, b.requests, "an interaction")
		if req.Type != string(socketmode.EventTypeInteractive) {
			continue
		}
		var p map[string]any
		if err := json.Unmarshal(req.Payload, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

func homeWithFilter() slack.HomeTabViewRequest {
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, slack.NewTextBlockObject(slack.PlainTextType, "Show", false, false), "home_filter",
		slack.NewOptionBlockObject("all", slack.NewTextBlockObject(slack.PlainTextType, "All open cases", false, false), nil),
		slack.NewOptionBlockObject("overdue", slack.NewTextBlockObject(slack.PlainTextType, "Overdue", false, false), nil))
	next := slack.NewButtonBlockElement("home_page", "all|2", slack.NewTextBlockObject(slack.PlainTextType, "Next", false, false))
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, PrivateMetadata: "all|1", Blocks: slack.Blocks{BlockSet: []slack.Block{
		section("3 open cases"), slack.NewActionBlock("home_controls", sel, next),
	}}}
}

func TestClickInView(t *testing.T) {
	e := startEmulator(t, socketOptions)
	b := startSocketBot(t, e, ackAll)
	receive(t, b.hellos, "hello")
	coord := e.AddUser("coordinator", "coord@council.example")
	other := e.AddUser("officer", "officer@police.example")
	published, err := b.api.PublishView(coord.ID, homeWithFilter(), "")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("HomeSelect", func(t *testing.T) {
		res, err := e.ClickInView(coord.ID, published.ID, "home_filter", "overdue")
		if err != nil || !res.Acked || res.TriggerID == "" || res.ResponseURL != "" {
			t.Fatalf("click = %+v, %v", res, err)
		}
		p := nextInteraction(t, b)
		container, _ := p["container"].(map[string]any)
		view, _ := p["view"].(map[string]any)
		actions, _ := p["actions"].([]any)
		a, _ := actions[0].(map[string]any)
		opt, _ := a["selected_option"].(map[string]any)
		if p["type"] != "block_actions" || container["type"] != "view" || container["view_id"] != published.ID ||
			view["type"] != "home" || view["hash"] != published.Hash || view["private_metadata"] != "all|1" || opt["value"] != "overdue" {
			t.Errorf("payload %v", p)
		}
		if _, ok := p["response_url"]; ok {
			t.Error("a click in a view came with a response_url")
		}
	})
	t.Run("HomeButton", func(t *testing.T) {
		if _, err := e.ClickInView(coord.ID, published.ID, "home_page", ""); err != nil {
			t.Fatal(err)
		}
		p := nextInteraction(t, b)
		a := p["actions"].([]any)[0].(map[string]any)
		if a["value"] != "all|2" {
			t.Errorf("action %v", a)
		}
	})
	t.Run("ErrSomeoneElsesView", func(t *testing.T) {
		if _, err := e.ClickInView(other.ID, published.ID, "home_filter", "all"); err == nil {
			t.Error("a person clicked in another person's Home tab")
		}
	})
	t.Run("ErrNoSuchOption", func(t *testing.T) {
		if _, err := e.ClickInView(coord.ID, published.ID, "home_filter", "mine"); err == nil {
			t.Error("a person chose an option the select does not have")
		}
	})
	t.Run("ModalNotOnTop", func(t *testing.T) {
		dm, _ := e.OpenDM(coord.ID)
		res, err := e.SlashCommand(coord.ID, dm, "/trigger", "new")
		if err != nil {
			t.Fatal(err)
		}
		receive(t, b.requests, "the command")
		modal := reasonModal("first")
		modal.Blocks.BlockSet = append(modal.Blocks.BlockSet, slack.NewActionBlock("more", slack.NewButtonBlockElement("add_row", "1", slack.NewTextBlockObject(slack.PlainTextType, "Add a row", false, false))))
		first, err := b.api.OpenView(res.TriggerID, modal)
		if err != nil {
			t.Fatal(err)
		}
		click, err := e.ClickInView(coord.ID, first.ID, "add_row", "")
		if err != nil || !click.Acked {
			t.Fatalf("click in the modal: %+v %v", click, err)
		}
		p := nextInteraction(t, b)
		if v := p["view"].(map[string]any); v["type"] != "modal" || v["id"] != first.ID {
			t.Errorf("view %v", v)
		}
		if _, err := b.api.PushView(click.TriggerID, reasonModal("second")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ClickInView(coord.ID, first.ID, "add_row", ""); err == nil {
			t.Error("a click in a modal under another one")
		}
	})
}

func TestClickEphemeral(t *testing.T) {
	e := startEmulator(t, socketOptions)
	b := startSocketBot(t, e, ackAll)
	receive(t, b.hellos, "hello")
	coord := e.AddUser("coordinator", "coord@council.example")
	other := e.AddUser("officer", "officer@police.example")
	ch, err := e.AddChannel("ct-2026-0001", true, e.BotUserID(), coord.ID, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.api.PostEphemeral(ch.ID, coord.ID, buttonBlocks("view_details", "CT-2026-0001")); err != nil {
		t.Fatal(err)
	}
	eph := e.Ephemerals(coord.ID)[0]

	res, err := e.ClickEphemeral(coord.ID, eph.TS, "view_details", "")
	if err != nil || !res.Acked || res.TriggerID == "" || res.ResponseURL == "" {
		t.Fatalf("click = %+v, %v", res, err)
	}
	p := nextInteraction(t, b)
	container := p["container"].(map[string]any)
	if container["is_ephemeral"] != true || container["message_ts"] != eph.TS || container["channel_id"] != ch.ID {
		t.Errorf("container %v", container)
	}
	if _, ok := p["message"]; ok {
		t.Error("an ephemeral message's click carried the message")
	}
	if a := p["actions"].([]any)[0].(map[string]any); a["value"] != "CT-2026-0001" {
		t.Errorf("action %v", a)
	}
	if _, err := e.ClickEphemeral(other.ID, eph.TS, "view_details", ""); err == nil {
		t.Error("a person clicked in an ephemeral message shown to someone else")
	}
	// The response_url replaces nothing (no message was clicked in) and
	// answers the person alone.
	if _, _, err := b.api.PostMessage("", slack.MsgOptionResponseURL(res.ResponseURL, slack.ResponseTypeEphemeral), slack.MsgOptionText("opened", false)); err != nil {
		t.Fatal(err)
	}
	if got := e.Ephemerals(coord.ID); len(got) != 2 || !strings.Contains(got[1].Text, "opened") {
		t.Errorf("ephemerals %+v", got)
	}
}

func TestNoHomeTab(t *testing.T) {
	opts := socketOptions
	opts.NoHomeTab = true
	e := startEmulator(t, opts)
	b := startSocketBot(t, e, ackAll)
	receive(t, b.hellos, "hello")
	coord := e.AddUser("coordinator", "")
	_, err := b.api.PublishView(coord.ID, homeView("x"), "")
	wantCode(t, err, "not_enabled")
	if err := e.OpenHome(coord.ID); err == nil {
		t.Error("a person opened a Home tab the app does not have")
	}
}
