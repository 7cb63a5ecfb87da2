package slackemu_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot/slackemu"
)

// raw is a block given as JSON, for shapes slack-go's builders refuse to
// make.
func raw(tb testing.TB, format string, args ...any) slack.Block {
	tb.Helper()
	b, err := slack.BlockFromJSON(fmt.Sprintf(format, args...))
	if err != nil {
		tb.Fatalf("block JSON: %v", err)
	}
	return b
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func section(s string) *slack.SectionBlock { return slack.NewSectionBlock(mrkdwn(s), nil, nil) }

func button(actionID, value, text string) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(actionID, value, plain(text))
}

func options(n, textLen, valueLen int) []*slack.OptionBlockObject {
	var out []*slack.OptionBlockObject
	for i := range n {
		text := fmt.Sprintf("%d%s", i, strings.Repeat("o", max(0, textLen-len(fmt.Sprint(i)))))
		value := fmt.Sprintf("%d%s", i, strings.Repeat("v", max(0, valueLen-len(fmt.Sprint(i)))))
		out = append(out, slack.NewOptionBlockObject(value, plain(text), nil))
	}
	return out
}

// wantDetail checks a refusal's code and that Slack's detail names the
// JSON pointer: "[ERROR] <what> [json-pointer:<pointer>]".
func wantDetail(tb testing.TB, err error, code, pointer string) {
	tb.Helper()
	wantCode(tb, err, code)
	var se slack.SlackErrorResponse
	errors.As(err, &se)
	for _, m := range se.ResponseMetadata.Messages {
		if strings.HasPrefix(m, "[ERROR] ") && strings.HasSuffix(m, "[json-pointer:"+pointer+"]") {
			return
		}
	}
	tb.Errorf("response_metadata.messages = %q, want an [ERROR] at %s", se.ResponseMetadata.Messages, pointer)
}

func TestBlockKitMessages(t *testing.T) {
	e := startEmulator(t, slackemu.Options{NoRateLimits: true})
	api := botClient(e)
	ch := caseChannel(t, api, "ct-2026-0001")
	long := func(n int) string { return strings.Repeat("x", n) }

	refused := []struct {
		name, pointer string
		blocks        []slack.Block
	}{
		{"SectionText3001", "/blocks/0/text/text", []slack.Block{section(long(3001))}},
		{"SectionNoText", "/blocks/0", []slack.Block{raw(t, `{"type":"section"}`)}},
		{"SectionFields11", "/blocks/0/fields", []slack.Block{slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			mrkdwn("1"), mrkdwn("2"), mrkdwn("3"), mrkdwn("4"), mrkdwn("5"), mrkdwn("6"), mrkdwn("7"), mrkdwn("8"), mrkdwn("9"), mrkdwn("10"), mrkdwn("11")}, nil)}},
		{"FieldText2001", "/blocks/0/fields/1/text", []slack.Block{slack.NewSectionBlock(nil, []*slack.TextBlockObject{mrkdwn("a"), mrkdwn(long(2001))}, nil)}},
		{"HeaderText151", "/blocks/0/text/text", []slack.Block{slack.NewHeaderBlock(plain(long(151)))}},
		{"HeaderMrkdwn", "/blocks/0/text/type", []slack.Block{slack.NewHeaderBlock(mrkdwn("*CT-2026-0001*"))}},
		{"EmojiInMrkdwn", "/blocks/0/text/emoji", []slack.Block{raw(t, `{"type":"section","text":{"type":"mrkdwn","text":"x","emoji":true}}`)}},
		{"VerbatimInPlainText", "/blocks/0/text/verbatim", []slack.Block{raw(t, `{"type":"section","text":{"type":"plain_text","text":"x","verbatim":true}}`)}},
		{"EmptyText", "/blocks/0/text/text", []slack.Block{raw(t, `{"type":"section","text":{"type":"mrkdwn","text":""}}`)}},
		{"ButtonText76", "/blocks/0/elements/0/text/text", []slack.Block{slack.NewActionBlock("a", button("b", "v", long(76)))}},
		{"ButtonValue2001", "/blocks/0/elements/0/value", []slack.Block{slack.NewActionBlock("a", button("b", long(2001), "Go"))}},
		{"ButtonURL3001", "/blocks/0/elements/0/url", []slack.Block{slack.NewActionBlock("a", button("b", "v", "Go").WithURL("https://x.example/"+long(2983)))}},
		{"ButtonStyle", "/blocks/0/elements/0/style", []slack.Block{slack.NewActionBlock("a", button("b", "v", "Go").WithStyle("green"))}},
		{"ActionID256", "/blocks/0/elements/0/action_id", []slack.Block{slack.NewActionBlock("a", button(long(256), "v", "Go"))}},
		{"ActionIDTwiceInBlock", "/blocks/0/elements/1/action_id", []slack.Block{slack.NewActionBlock("a", button("same", "1", "One"), button("same", "2", "Two"))}},
		{"BlockID256", "/blocks/0/block_id", []slack.Block{slack.NewSectionBlock(mrkdwn("x"), nil, nil, slack.SectionBlockOptionBlockID(long(256)))}},
		{"BlockIDTwice", "/blocks/1/block_id", []slack.Block{slack.NewActionBlock("same", button("a", "", "A")), slack.NewActionBlock("same", button("b", "", "B"))}},
		{"Context11", "/blocks/0/elements", []slack.Block{slack.NewContextBlock("c",
			mrkdwn("1"), mrkdwn("2"), mrkdwn("3"), mrkdwn("4"), mrkdwn("5"), mrkdwn("6"), mrkdwn("7"), mrkdwn("8"), mrkdwn("9"), mrkdwn("10"), mrkdwn("11"))}},
		{"ContextEmpty", "/blocks/0/elements", []slack.Block{raw(t, `{"type":"context","elements":[]}`)}},
		{"Actions26", "/blocks/0/elements", []slack.Block{func() slack.Block {
			var els []slack.BlockElement
			for i := range 26 {
				els = append(els, button(fmt.Sprint("b", i), "", "B"))
			}
			return slack.NewActionBlock("a", els...)
		}()}},
		{"Checkboxes11", "/blocks/0/elements/0/options", []slack.Block{slack.NewActionBlock("a", slack.NewCheckboxGroupsBlockElement("c", options(11, 5, 5)...))}},
		{"RadioButtons11", "/blocks/0/elements/0/options", []slack.Block{slack.NewActionBlock("a", slack.NewRadioButtonsBlockElement("r", options(11, 5, 5)...))}},
		{"StaticSelect101", "/blocks/0/elements/0/options", []slack.Block{slack.NewActionBlock("a",
			slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Agency"), "s", options(101, 5, 5)...))}},
		{"MultiSelect101", "/blocks/0/accessory/options", []slack.Block{slack.NewSectionBlock(mrkdwn("Agencies"), nil, slack.NewAccessory(
			slack.NewOptionsMultiSelectBlockElement(slack.MultiOptTypeStatic, plain("Agencies"), "m", options(101, 5, 5)...)))}},
		{"OptionText76", "/blocks/0/elements/0/options/0/text/text", []slack.Block{slack.NewActionBlock("a", slack.NewCheckboxGroupsBlockElement("c", options(2, 76, 5)...))}},
		{"OptionValue151", "/blocks/0/elements/0/options/1/value", []slack.Block{slack.NewActionBlock("a", slack.NewCheckboxGroupsBlockElement("c", options(2, 5, 151)...))}},
		{"SelectOptionMrkdwn", "/blocks/0/elements/0/options/0/text/type", []slack.Block{slack.NewActionBlock("a",
			slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Agency"), "s", slack.NewOptionBlockObject("police", mrkdwn("*Police*"), nil)))}},
		{"Overflow6", "/blocks/0/accessory/options", []slack.Block{slack.NewSectionBlock(mrkdwn("x"), nil, slack.NewAccessory(slack.NewOverflowBlockElement("o", options(6, 5, 5)...)))}},
		{"InitialOptionNotAnOption", "/blocks/0/elements/0/initial_option", []slack.Block{raw(t, `{"type":"actions","elements":[{"type":"static_select","action_id":"s",
			"placeholder":{"type":"plain_text","text":"Agency"},"options":[{"text":{"type":"plain_text","text":"Police"},"value":"police"}],
			"initial_option":{"text":{"type":"plain_text","text":"Police force"},"value":"police"}}]}`)}},
		{"Placeholder151", "/blocks/0/elements/0/placeholder/text", []slack.Block{slack.NewActionBlock("a",
			slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain(long(151)), "s", options(2, 5, 5)...))}},
		{"Blocks51", "/blocks", func() []slack.Block {
			var bs []slack.Block
			for range 51 {
				bs = append(bs, slack.NewDividerBlock())
			}
			return bs
		}()},
		{"UnknownBlockType", "/blocks/0/type", []slack.Block{raw(t, `{"type":"carousel_of_doom"}`)}},
		{"EmailInputInMessage", "/blocks/0/element/type", []slack.Block{slack.NewInputBlock("i", plain("Email"), nil, slack.NewEmailTextInputBlockElement(nil, "e"))}},
		{"PlainTextInputInActions", "/blocks/0/elements/0/type", []slack.Block{raw(t, `{"type":"actions","elements":[{"type":"plain_text_input","action_id":"t"}]}`)}},
		{"ButtonInInput", "/blocks/0/element/type", []slack.Block{slack.NewInputBlock("i", plain("Go"), nil, button("b", "", "Go"))}},
		{"InputLabel2001", "/blocks/0/label/text", []slack.Block{slack.NewInputBlock("i", plain(long(2001)), nil, slack.NewPlainTextInputBlockElement(nil, "t"))}},
		{"InputHint2001", "/blocks/0/hint/text", []slack.Block{slack.NewInputBlock("i", plain("Reason"), plain(long(2001)), slack.NewPlainTextInputBlockElement(nil, "t"))}},
		{"InputMaxLength3001", "/blocks/0/element/max_length", []slack.Block{slack.NewInputBlock("i", plain("Letter"), nil,
			slack.NewPlainTextInputBlockElement(nil, "t").WithMaxLength(3001))}},
		{"InputMinLength3001", "/blocks/0/element/min_length", []slack.Block{slack.NewInputBlock("i", plain("Letter"), nil,
			slack.NewPlainTextInputBlockElement(nil, "t").WithMinLength(3001))}},
		{"InitialValueOverMaxLength", "/blocks/0/element/initial_value", []slack.Block{slack.NewInputBlock("i", plain("Letter"), nil,
			slack.NewPlainTextInputBlockElement(nil, "t").WithMaxLength(10).WithInitialValue(long(11)))}},
		{"InitialValueOver3000", "/blocks/0/element/initial_value", []slack.Block{slack.NewInputBlock("i", plain("Letter"), nil,
			slack.NewPlainTextInputBlockElement(nil, "t").WithMultiline(true).WithInitialValue(long(3001)))}},
	}
	for _, tc := range refused {
		t.Run("Err"+tc.name, func(t *testing.T) {
			_, _, err := api.PostMessage(ch.ID, slack.MsgOptionText("fallback", false), slack.MsgOptionBlocks(tc.blocks...))
			wantDetail(t, err, "invalid_blocks", tc.pointer)
		})
	}

	accepted := []struct {
		name   string
		blocks []slack.Block
	}{
		// Characters, not bytes: 3,000 two-byte characters are 6,000 bytes.
		{"SectionText3000Characters", []slack.Block{section(strings.Repeat("é", 3000))}},
		{"Exactly50Blocks", func() []slack.Block {
			var bs []slack.Block
			for range 50 {
				bs = append(bs, slack.NewDividerBlock())
			}
			return bs
		}()},
		{"SameActionIDInTwoBlocks", []slack.Block{slack.NewActionBlock("one", button("go", "", "Go")), slack.NewActionBlock("two", button("go", "", "Go"))}},
		{"TenFieldsOf2000", []slack.Block{slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			mrkdwn(long(1000)), mrkdwn(long(1000)), mrkdwn(long(1000)), mrkdwn(long(1000)), mrkdwn("5"), mrkdwn("6"), mrkdwn("7"), mrkdwn("8"), mrkdwn("9"), mrkdwn("10")}, nil)}},
		{"Limits", []slack.Block{
			slack.NewHeaderBlock(plain(long(150))),
			slack.NewActionBlock("a", button(long(255), long(2000), long(75)),
				slack.NewCheckboxGroupsBlockElement("c", options(10, 75, 150)...),
				slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain(long(150)), "s", options(100, 75, 150)...)),
		}},
		// Slack's block reference lists input blocks in messages too.
		{"InputInMessage", []slack.Block{slack.NewInputBlock("i", plain("Reason"), plain("Why"),
			slack.NewPlainTextInputBlockElement(nil, "t").WithMaxLength(3000).WithInitialValue(long(3000)))}},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := api.PostMessage(ch.ID, slack.MsgOptionText("fallback", false), slack.MsgOptionBlocks(tc.blocks...)); err != nil {
				t.Fatalf("refused: %v %v", err, detail(err))
			}
		})
	}

	t.Run("CallLogKeepsDetail", func(t *testing.T) {
		_, _, _ = api.PostMessage(ch.ID, slack.MsgOptionBlocks(section(long(3001))))
		calls := e.Calls("chat.postMessage")
		last := calls[len(calls)-1]
		if last.Error != "invalid_blocks" || len(last.Detail) != 1 || !strings.HasSuffix(last.Detail[0], "[json-pointer:/blocks/0/text/text]") {
			t.Errorf("logged %+v", last)
		}
	})
	t.Run("BlockIDsFilledIn", func(t *testing.T) {
		_, ts, err := api.PostMessage(ch.ID, slack.MsgOptionBlocks(section("no id"), slack.NewActionBlock("", &slack.ButtonBlockElement{Type: "button", Text: plain("Go")})))
		if err != nil {
			t.Fatal(err)
		}
		var blocks []map[string]any
		if err := json.Unmarshal(messageAt(t, e, ch.ID, ts).Blocks, &blocks); err != nil {
			t.Fatal(err)
		}
		el := blocks[1]["elements"].([]any)[0].(map[string]any)
		if blocks[0]["block_id"] == "" || blocks[0]["block_id"] == nil || el["action_id"] == nil {
			t.Errorf("stored blocks %v lack the ids Slack fills in", blocks)
		}
	})
	t.Run("ErrMsgBlocksTooLong", func(t *testing.T) {
		// Each section is within its 3,000; together over 12,000.
		var bs []slack.Block
		for range 5 {
			bs = append(bs, section(long(2500)))
		}
		_, _, err := api.PostMessage(ch.ID, slack.MsgOptionBlocks(bs...))
		wantCode(t, err, "msg_blocks_too_long")
		if _, _, err := api.PostMessage(ch.ID, slack.MsgOptionBlocks(bs[:4]...)); err != nil {
			t.Errorf("10,000 characters of blocks refused: %v", err)
		}
	})
	t.Run("LongTextTruncated", func(t *testing.T) {
		_, ts, err := api.PostMessage(ch.ID, slack.MsgOptionText(strings.Repeat("ñ", 40001), false))
		if err != nil {
			t.Fatal(err)
		}
		if got := messageAt(t, e, ch.ID, ts).Text; utf8.RuneCountInString(got) != 40000 {
			t.Errorf("stored %d characters, want Slack's 40,000", utf8.RuneCountInString(got))
		}
		// slack-go drops the warning; Slack's answer carries it.
		answer := rawCall(t, postForm(e, "chat.postMessage", url.Values{"token": {e.BotToken()}, "channel": {ch.ID}, "text": {long(40001)}}))
		if answer["ok"] != true || answer["warning"] != "message_truncated" {
			t.Errorf("answer %v, want ok with warning message_truncated", answer)
		}
	})
	t.Run("ErrTooManyAttachments", func(t *testing.T) {
		atts := make([]slack.Attachment, 101)
		for i := range atts {
			atts[i] = slack.Attachment{Text: "a"}
		}
		_, _, err := api.PostMessage(ch.ID, slack.MsgOptionAttachments(atts...))
		wantCode(t, err, "too_many_attachments")
	})
	t.Run("Update", func(t *testing.T) {
		_, ts, err := api.PostMessage(ch.ID, slack.MsgOptionText("card", false))
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, err = api.UpdateMessage(ch.ID, ts, slack.MsgOptionBlocks(section(long(3001))))
		wantDetail(t, err, "invalid_blocks", "/blocks/0/text/text")
		_, _, _, err = api.UpdateMessage(ch.ID, ts, slack.MsgOptionText(long(4001), false))
		wantCode(t, err, "msg_too_long")
		if _, _, _, err := api.UpdateMessage(ch.ID, ts, slack.MsgOptionText(long(4000), false)); err != nil {
			t.Errorf("4,000 characters refused: %v", err)
		}
	})
	t.Run("Ephemeral", func(t *testing.T) {
		officer := e.AddUser("officer", "officer@example.org")
		if _, err := api.InviteUsersToConversation(ch.ID, officer.ID); err != nil {
			t.Fatal(err)
		}
		_, err := api.PostEphemeral(ch.ID, officer.ID, slack.MsgOptionBlocks(slack.NewHeaderBlock(plain(long(151)))))
		wantDetail(t, err, "invalid_blocks", "/blocks/0/text/text")
		if got := e.Ephemerals(officer.ID); len(got) != 0 {
			t.Errorf("a refused ephemeral was shown: %+v", got)
		}
	})
}

// detail is an error's Slack detail messages, for failure output.
func detail(err error) []string {
	var se slack.SlackErrorResponse
	errors.As(err, &se)
	return se.ResponseMetadata.Messages
}

func TestBlockKitResponseURL(t *testing.T) {
	_, appURL := newHTTPApp(t, "s3cret", func(*http.Request, []byte) (int, string) { return http.StatusOK, "" })
	e := startEmulator(t, slackemu.Options{SigningSecret: "s3cret", InteractivityURL: appURL})
	officer, ch, ts := caseWithOfficer(t, e)
	res, err := e.ClickButton(officer.ID, ch, ts, "accept", "")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = botClient(e).PostMessage("", slack.MsgOptionResponseURL(res.ResponseURL, slack.ResponseTypeEphemeral),
		slack.MsgOptionBlocks(section(strings.Repeat("x", 3001))))
	if err == nil || !strings.Contains(err.Error(), "invalid_blocks") {
		t.Errorf("response_url post of a 3,001-character section: %v, want invalid_blocks", err)
	}
	if got := e.Ephemerals(officer.ID); len(got) != 0 {
		t.Errorf("the officer saw %+v", got)
	}
}

func TestBlockKitViews(t *testing.T) {
	_, appURL := newHTTPApp(t, "s3cret", func(*http.Request, []byte) (int, string) { return http.StatusOK, "" })
	e := startEmulator(t, slackemu.Options{SigningSecret: "s3cret", InteractivityURL: appURL, NoRateLimits: true})
	officer, ch, ts := caseWithOfficer(t, e)
	api := botClient(e)
	trigger := func(t *testing.T) string {
		t.Helper()
		res, err := e.ClickButton(officer.ID, ch, ts, "accept", "")
		if err != nil || !res.Acked {
			t.Fatalf("click = %+v, %v", res, err)
		}
		return res.TriggerID
	}
	modal := func(blocks ...slack.Block) slack.ModalViewRequest {
		return slack.ModalViewRequest{Type: slack.VTModal, Title: plain("Details"), Close: plain("Close"), Blocks: slack.Blocks{BlockSet: blocks}}
	}
	home := func(blocks ...slack.Block) slack.HomeTabViewRequest {
		return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
	}
	many := func(n int, b func(i int) slack.Block) []slack.Block {
		var out []slack.Block
		for i := range n {
			out = append(out, b(i))
		}
		return out
	}

	modals := []struct {
		name, pointer string
		view          func() slack.ModalViewRequest
	}{
		{"Title25", "/view/title/text", func() slack.ModalViewRequest {
			v := modal(section("x"))
			v.Title = plain(strings.Repeat("t", 25))
			return v
		}},
		{"Submit25", "/view/submit/text", func() slack.ModalViewRequest {
			v := modal(section("x"))
			v.Submit = plain(strings.Repeat("s", 25))
			return v
		}},
		{"Close25", "/view/close/text", func() slack.ModalViewRequest {
			v := modal(section("x"))
			v.Close = plain(strings.Repeat("c", 25))
			return v
		}},
		{"PrivateMetadata3001", "/view/private_metadata", func() slack.ModalViewRequest {
			v := modal(section("x"))
			v.PrivateMetadata = strings.Repeat("m", 3001)
			return v
		}},
		{"CallbackID256", "/view/callback_id", func() slack.ModalViewRequest {
			v := modal(section("x"))
			v.CallbackID = strings.Repeat("c", 256)
			return v
		}},
		{"Blocks101", "/view/blocks", func() slack.ModalViewRequest {
			return modal(many(101, func(int) slack.Block { return slack.NewDividerBlock() })...)
		}},
		{"SectionText3001", "/view/blocks/1/text/text", func() slack.ModalViewRequest { return modal(section("ok"), section(strings.Repeat("x", 3001))) }},
		{"InputWithoutSubmit", "/view/submit", func() slack.ModalViewRequest {
			return modal(slack.NewInputBlock("i", plain("Reason"), nil, slack.NewPlainTextInputBlockElement(nil, "t")))
		}},
		{"WorkflowButtonInModal", "/view/blocks/0/elements/0/type", func() slack.ModalViewRequest {
			return modal(raw(t, `{"type":"actions","elements":[{"type":"workflow_button","text":{"type":"plain_text","text":"Run"},"workflow":{}}]}`))
		}},
		{"FileBlockInModal", "/view/blocks/0/type", func() slack.ModalViewRequest {
			return modal(raw(t, `{"type":"file","external_id":"x","source":"remote"}`))
		}},
	}
	for _, tc := range modals {
		t.Run("ErrModal"+tc.name, func(t *testing.T) {
			_, err := api.OpenView(trigger(t), tc.view())
			wantDetail(t, err, "invalid_arguments", tc.pointer)
		})
	}
	t.Run("Modal100BlocksOK", func(t *testing.T) {
		if _, err := api.OpenView(trigger(t), modal(many(100, func(int) slack.Block { return slack.NewDividerBlock() })...)); err != nil {
			t.Fatalf("100 blocks refused: %v %v", err, detail(err))
		}
	})
	t.Run("ErrUpdate", func(t *testing.T) {
		v, err := api.OpenView(trigger(t), modal(section("x")))
		if err != nil {
			t.Fatal(err)
		}
		_, err = api.UpdateView(modal(slack.NewHeaderBlock(plain(strings.Repeat("h", 151)))), "", "", v.ID)
		wantDetail(t, err, "invalid_arguments", "/view/blocks/0/text/text")
	})

	homes := []struct {
		name, pointer string
		view          slack.HomeTabViewRequest
	}{
		{"Blocks101", "/view/blocks", home(many(101, func(int) slack.Block { return slack.NewDividerBlock() })...)},
		{"SectionText3001", "/view/blocks/0/text/text", home(section(strings.Repeat("x", 3001)))},
		{"EmailInputInHome", "/view/blocks/0/element/type", home(slack.NewInputBlock("i", plain("Email"), nil, slack.NewEmailTextInputBlockElement(nil, "e")))},
		{"MarkdownBlockInHome", "/view/blocks/0/type", home(raw(t, `{"type":"markdown","text":"**hi**"}`))},
	}
	for _, tc := range homes {
		t.Run("ErrHome"+tc.name, func(t *testing.T) {
			_, err := api.PublishView(officer.ID, tc.view, "")
			wantDetail(t, err, "invalid_arguments", tc.pointer)
		})
	}
	t.Run("ErrHomeViewTooLarge", func(t *testing.T) {
		// 90 valid sections of 2,900 characters: 261,000 bytes of text.
		big := home(many(90, func(int) slack.Block { return section(strings.Repeat("x", 2900)) })...)
		_, err := api.PublishView(officer.ID, big, "")
		wantCode(t, err, "view_too_large")
		if _, err := api.PublishView(officer.ID, home(many(80, func(int) slack.Block { return section(strings.Repeat("x", 2900)) })...), ""); err != nil {
			t.Errorf("a 232,000-character home view refused: %v", err)
		}
	})
}

func TestSubmitViewInputLength(t *testing.T) {
	app, appURL := newHTTPApp(t, "s3cret", func(*http.Request, []byte) (int, string) { return http.StatusOK, "" })
	e := startEmulator(t, slackemu.Options{SigningSecret: "s3cret", InteractivityURL: appURL})
	officer, ch, ts := caseWithOfficer(t, e)
	res, err := e.ClickButton(officer.ID, ch, ts, "accept", "")
	if err != nil {
		t.Fatal(err)
	}
	v := reasonModal("decision")
	v.Blocks.BlockSet[0].(*slack.InputBlock).Element = slack.NewPlainTextInputBlockElement(nil, "reason_input").WithMinLength(3).WithMaxLength(10)
	if _, err := botClient(e).OpenView(res.TriggerID, v); err != nil {
		t.Fatal(err)
	}
	view := e.OpenViews(officer.ID)[0]
	before := len(app.received())

	if _, err := e.SubmitView(officer.ID, view.ID, map[string]string{"reason": strings.Repeat("x", 11)}); err == nil {
		t.Error("a person typed past max_length")
	}
	short, err := e.SubmitView(officer.ID, view.ID, map[string]string{"reason": "no"})
	if err != nil || short.Errors["reason"] == "" || short.Closed {
		t.Errorf("two characters against min_length 3: %+v, %v", short, err)
	}
	if len(app.received()) != before {
		t.Error("a form breaking its lengths reached the app")
	}
	if ok, err := e.SubmitView(officer.ID, view.ID, map[string]string{"reason": "loud music"}); err != nil || !ok.Closed {
		t.Errorf("ten characters: %+v, %v", ok, err)
	}
}
