package main

import (
	"bytes"
	"testing"

	"github.com/csp/trigger/casefile"
)

// TestWriteJSONList: a list printed item by item is, byte for byte, what
// the one-piece encoder prints (the JSON of `case list --json` is a
// contract), for no list, an empty one, one item and several.
func TestWriteJSONList(t *testing.T) {
	one := casefile.CaseSummary{Ref: "CT-2026-0001", Status: casefile.StatusReceived, NextDeadline: "acknowledgement <&>"}
	two := casefile.CaseSummary{Ref: "CT-2026-0002", Status: casefile.StatusClosed}
	for _, list := range [][]casefile.CaseSummary{nil, {}, {one}, {one, two, one}} {
		var want, got bytes.Buffer
		if err := writeJSON(&want, list); err != nil {
			t.Fatal(err)
		}
		if err := writeJSONList(&got, list); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%d items:\ngot  %q\nwant %q", len(list), got.String(), want.String())
		}
	}
}
