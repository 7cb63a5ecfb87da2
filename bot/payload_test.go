package bot

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMalformedPayloads: no payload makes the bot panic, whatever is
// missing or wrong in it (issue 14, point 10): each is answered, a form's
// errors name only inputs the form has (Slack refuses others), and nothing
// changes. The recover in interactSafely is the safety net, not the answer:
// the log must show no panic.
func TestMalformedPayloads(t *testing.T) {
	emu := slackemu.New(slackemu.Options{NoRateLimits: true})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	coord := emu.AddUser("coord", "coord@council.example").ID
	cfg := casefile.DefaultConfig()
	cfg.Roles.Coordinator = casefile.IDList{coord}
	cfg.Roles.Chair = casefile.IDList{coord}
	cfg.Roles.Approvers = casefile.IDList{coord}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "trigger.db"), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var logs syncBuffer
	b := New(slack.New(emu.BotToken(), slack.OptionAPIURL(emu.APIURL())), store, &cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()
	c, err := store.CreateCase(ctx, casefile.NewCase{Application: casefile.Application{Route: casefile.RouteIndividual,
		Applicant: casefile.Person{Name: "A Resident", Email: "a@example.net"}}, Actor: casefile.Admin("test")})
	if err != nil {
		t.Fatal(err)
	}
	ref := c.Ref
	input := func(id string) slack.Blocks {
		return slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock(id, plain("x"), nil, slack.NewPlainTextInputBlockElement(nil, id))}}
	}
	submission := func(callback, meta string, blocks slack.Blocks, state *slack.ViewState) slack.InteractionCallback {
		return slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: coord},
			View: slack.View{ID: "V1", CallbackID: callback, PrivateMetadata: meta, Blocks: blocks, State: state}}
	}
	click := func(action, value string) slack.InteractionCallback {
		return slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: coord}, Channel: slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: "CNOWHERE"}}},
			ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: action, Value: value}}}}
	}
	wrongState := &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
		BlockReason:  {"x": {SelectedOptions: []slack.OptionBlockObject{{Value: "yes"}}}},
		"rec1_text":  {"x": {Value: "a recommendation"}},
		"rec9_owner": {"x": {Value: "police"}},
	}}
	cases := map[string]slack.InteractionCallback{
		"Nothing":             {},
		"UnknownType":         {Type: "shortcut"},
		"NoView":              {Type: slack.InteractionTypeViewSubmission},
		"NoActions":           {Type: slack.InteractionTypeBlockActions},
		"NilAction":           {Type: slack.InteractionTypeBlockActions, ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{nil}}},
		"UnknownAction":       click("frobnicate", ref),
		"ActionWithoutValue":  click(ActionAccept, ""),
		"LetterWithoutID":     click(ActionEditDraft, ref),
		"LetterBadID":         click(ActionApprove, ref+"|x|y"),
		"LetterOfAnotherCase": click(ActionReadLetter, "CT-2020-0001|1"),
		"SnoozeWithoutKey":    click(ActionSnoozeReminder, ref),
		"UnknownCallback":     submission("frobnicate", ref, input("x"), nil),
		"NoState":             submission(ViewNotMet, ref, input(BlockReason), nil),
		"StateOfWrongTypes":   submission(ViewRecordOutcome, ref, input(BlockSummary), wrongState),
		"NoBlocks":            submission(ViewScheduleMeeting, ref, slack.Blocks{}, nil),
		"NoMetadata":          submission(ViewProvideDetails, "", input(BlockComplaints), nil),
		"GarbageMetadata":     submission(ViewNotMet, "garbage|||", input(BlockReason), nil),
		"EditWithoutParts":    submission(ViewEditDraft, ref+"|1", input(BlockLetterText+"_1"), nil),
		"EditBadLetter":       submission(ViewEditDraft, ref+"|notanumber|3", input(BlockLetterText+"_1"), nil),
		"EditPartsMismatch":   submission(ViewEditDraft, ref+"|1|99", input(BlockLetterText+"_1"), nil),
		"ChangesBadLetter":    submission(ViewRequestChanges, ref+"|", input(BlockComment), nil),
		"OutcomeNoState":      submission(ViewFurtherOutcome, ref, input(BlockSummary), nil),
		"DeclineNoState":      submission(ViewDeclineFurther, ref, input(BlockComment), nil),
		"DetailsSubmitted":    submission(ViewDetails, "", slack.Blocks{}, nil),
	}
	for name, cb := range cases {
		t.Run(name, func(t *testing.T) {
			resp := b.interactSafely(ctx, &cb)
			if resp.After != nil {
				resp.After(ctx) // outside the recover: a panic here fails the test
			}
			if errs, ok := resp.Ack.(*slack.ViewSubmissionResponse); ok {
				for block := range errs.Errors {
					if !hasInput(cb.View, block) {
						t.Errorf("an error under %q, an input the form does not have (Slack refuses the answer)", block)
					}
				}
			}
		})
	}
	if strings.Contains(logs.String(), "code=panic") {
		t.Errorf("a payload made the bot panic:\n%s", logs.String())
	}
	if got, _ := store.Case(ctx, ref); got.Status != casefile.StatusReceived {
		t.Errorf("a malformed payload changed the case: %s", got.Status)
	}
}
