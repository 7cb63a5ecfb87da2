package slackemu_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func homeView(text string) slack.HomeTabViewRequest {
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, CallbackID: "home", Blocks: slack.Blocks{BlockSet: []slack.Block{section(text)}}}
}

func TestHomeTab(t *testing.T) {
	e := startEmulator(t, socketOptions)
	b := startSocketBot(t, e, ackAll)
	receive(t, b.hellos, "hello")
	coord := e.AddUser("coordinator", "coord@council.example")

	t.Run("OpenedBeforePublish", func(t *testing.T) {
		if err := e.OpenHome(coord.ID); err != nil {
			t.Fatal(err)
		}
		ev, _ := nextEvent(t, b)
		if ev["type"] != "app_home_opened" || ev["user"] != coord.ID || ev["tab"] != "home" || !strings.HasPrefix(ev["channel"].(string), "D") {
			t.Errorf("event %v", ev)
		}
		if _, ok := ev["view"]; ok {
			t.Errorf("event carries a view before any was published: %v", ev["view"])
		}
		if _, ok := e.HomeView(coord.ID); ok {
			t.Error("a home view exists before any was published")
		}
	})
	var first *slack.ViewResponse
	t.Run("Publish", func(t *testing.T) {
		var err error
		first, err = b.api.PublishView(coord.ID, homeView("3 open cases"), "")
		if err != nil {
			t.Fatal(err)
		}
		v, ok := e.HomeView(coord.ID)
		if !ok || v.ID != first.ID || v.Type != "home" || !strings.Contains(string(v.Blocks), "3 open cases") || v.Hash != first.Hash {
			t.Errorf("home view %+v, %v", v, ok)
		}
		if err := e.OpenHome(coord.ID); err != nil {
			t.Fatal(err)
		}
		ev, _ := nextEvent(t, b)
		if view, _ := ev["view"].(map[string]any); view["id"] != first.ID {
			t.Errorf("app_home_opened view = %v, want %s", ev["view"], first.ID)
		}
	})
	t.Run("Hash", func(t *testing.T) {
		second, err := b.api.PublishView(coord.ID, homeView("4 open cases"), first.Hash)
		if err != nil {
			t.Fatalf("publish with the current hash: %v", err)
		}
		if second.ID != first.ID || second.Hash == first.Hash {
			t.Errorf("republished %s/%s after %s/%s", second.ID, second.Hash, first.ID, first.Hash)
		}
		_, err = b.api.PublishView(coord.ID, homeView("stale"), first.Hash)
		wantCode(t, err, "hash_conflict")
		if v, _ := e.HomeView(coord.ID); !strings.Contains(string(v.Blocks), "4 open cases") {
			t.Errorf("a conflicting publish changed the view: %s", v.Blocks)
		}
	})
	t.Run("ErrUserID", func(t *testing.T) {
		gone := e.AddUser("gone", "")
		if err := e.Deactivate(gone.ID); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"U404", e.BotUserID(), gone.ID} {
			_, err := b.api.PublishView(id, homeView("x"), "")
			wantCode(t, err, "invalid_arguments")
			var se slack.SlackErrorResponse
			errors.As(err, &se)
			if !slices.Contains(se.ResponseMetadata.Messages, "invalid `user_id`") {
				t.Errorf("user %q: messages %q", id, se.ResponseMetadata.Messages)
			}
		}
	})
	t.Run("ErrOpenHomeNobody", func(t *testing.T) {
		if err := e.OpenHome("U404"); err == nil {
			t.Error("an unknown user opened the home tab")
		}
	})
	t.Run("ViewsUpdateByID", func(t *testing.T) {
		v, _ := e.HomeView(coord.ID)
		if _, err := b.api.UpdateView(slack.ModalViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{section("updated")}}}, "", "", v.ID); err != nil {
			t.Fatal(err)
		}
		if now, _ := e.HomeView(coord.ID); !strings.Contains(string(now.Blocks), "updated") {
			t.Errorf("home now %s", now.Blocks)
		}
	})
}
