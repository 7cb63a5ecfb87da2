package graphemu

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// tokenState is what a $skiptoken or $deltatoken stands for.
type tokenState struct {
	delta    bool // a $deltatoken (else a $skiptoken)
	seq      int64
	user     string // the user path segment of the links
	folderID string
	selects  []string
	change   string // changeType: created, updated, deleted or ""
	reset    bool   // ResetDeltaTokens: answer resyncRequired

	round  *round // $skiptoken: the round being paged
	offset int

	baseline map[string]baseEntry // $deltatoken: the folder as last seen
}

// round is one delta round: the changes, computed when it starts (a
// snapshot), and the folder's state they lead to.
type round struct {
	entries  []deltaEntry
	baseline map[string]baseEntry
}

type baseEntry struct {
	restID  string
	version int
}

type deltaEntry struct {
	removed     bool
	immutableID string
	restID      string
	msg         message // a copy, as it was when the round started
}

// ExpireDeltaTokens drops every delta state token, as Outlook's token
// cache does when it overflows: the next request with one gets 410 Gone
// syncStateNotFound.
func (e *Emulator) ExpireDeltaTokens() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, mb := range e.byID {
		mb.tokens = map[string]*tokenState{}
	}
}

// ResetDeltaTokens makes every delta state token answer 410 Gone
// resyncRequired with a Location for a fresh round, as Graph does after
// maintenance or a migration of the tenant.
func (e *Emulator) ResetDeltaTokens() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, mb := range e.byID {
		for _, ts := range mb.tokens {
			ts.reset = true
		}
	}
}

func (e *Emulator) delta(w http.ResponseWriter, r *http.Request, rt route, mb *mailbox) *apiError {
	q := r.URL.Query()
	p := parsePrefer(r)
	e.mu.Lock()
	defer e.mu.Unlock()
	f := mb.folder(rt.folder)
	if f == nil {
		return errItemNotFound
	}
	var (
		rd     *round
		offset int
		ts     *tokenState
	)
	skip, dtok := q.Get("$skiptoken"), q.Get("$deltatoken")
	switch {
	case skip != "" || dtok != "":
		tok := skip + dtok
		ts = mb.tokens[tok]
		if ts == nil || ts.delta != (dtok != "") {
			return errSyncExpired
		}
		if ts.reset {
			ae := *errf(410, "resyncRequired", "The delta token is no longer valid, and the app must reset the sync state.")
			ae.location = e.deltaURL(ts.user, ts.folderID, ts.selects, ts.change)
			return &ae
		}
		if ts.folderID != f.id {
			return errBadRequest("The state token belongs to another folder.")
		}
		if skip != "" {
			rd, offset = ts.round, ts.offset
		} else {
			rd = e.newRound(mb, f.id, ts.baseline, ts.change)
		}
	default:
		if q.Get("$filter") != "" || q.Get("$search") != "" {
			return errBadFilter
		}
		sel, ae := parseSelect(q)
		if ae != nil {
			return ae
		}
		change := q.Get("changeType")
		switch change {
		case "", "created", "updated", "deleted":
		default:
			return errBadRequest("changeType must be created, updated or deleted.")
		}
		ts = &tokenState{user: rt.user, folderID: f.id, selects: sel, change: change}
		rd = e.newRound(mb, f.id, nil, "")
	}

	size := e.opts.DefaultPageSize
	if p.pageSize > 0 {
		size = p.pageSize
		w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(size))
	}
	end := min(offset+size, len(rd.entries))
	value := []any{}
	for _, de := range rd.entries[offset:end] {
		if de.removed {
			id := de.restID
			if p.immutable {
				id = de.immutableID
			}
			value = append(value, map[string]any{
				"@odata.type": "#microsoft.graph.message",
				"id":          id,
				"@removed":    map[string]any{"reason": "deleted"},
			})
			continue
		}
		value = append(value, messageJSON(&de.msg, p.immutable, ts.selects))
	}
	out := map[string]any{"@odata.context": e.baseURL + "/v1.0/$metadata#Collection(message)", "value": value}
	next := &tokenState{user: ts.user, folderID: f.id, selects: ts.selects, change: ts.change}
	if end < len(rd.entries) {
		next.round, next.offset = rd, end
		out["@odata.nextLink"] = e.deltaURL(ts.user, f.id, nil, "") + "?$skiptoken=" + e.addToken(mb, next)
	} else {
		next.delta, next.baseline = true, rd.baseline
		out["@odata.deltaLink"] = e.deltaURL(ts.user, f.id, nil, "") + "?$deltatoken=" + e.addToken(mb, next)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// newRound computes the changes in folder since baseline (every message
// when baseline is nil), filtered by changeType.
func (e *Emulator) newRound(mb *mailbox, folderID string, baseline map[string]baseEntry, change string) *round {
	rd := &round{baseline: map[string]baseEntry{}}
	current := mb.inFolder(folderID)
	for _, m := range current {
		rd.baseline[m.immutableID] = baseEntry{restID: m.restID, version: m.version}
		old, seen := baseline[m.immutableID]
		kind := "created"
		switch {
		case baseline == nil:
		case !seen:
		case old.version != m.version:
			kind = "updated"
		default:
			continue
		}
		if change != "" && change != kind {
			continue
		}
		rd.entries = append(rd.entries, deltaEntry{immutableID: m.immutableID, restID: m.restID, msg: *m})
	}
	if change == "" || change == "deleted" {
		var gone []string
		for key := range baseline {
			if _, ok := rd.baseline[key]; !ok {
				gone = append(gone, key)
			}
		}
		slices.Sort(gone)
		for _, key := range gone {
			rd.entries = append(rd.entries, deltaEntry{removed: true, immutableID: key, restID: baseline[key].restID})
		}
	}
	return rd
}

// addToken stores a state token, dropping the mailbox's oldest beyond the
// cache's capacity.
func (e *Emulator) addToken(mb *mailbox, ts *tokenState) string {
	mb.tokenSeq++
	ts.seq = mb.tokenSeq
	tok := newToken()
	mb.tokens[tok] = ts
	for len(mb.tokens) > e.opts.DeltaTokenCapacity {
		oldest, seq := "", int64(-1)
		for k, v := range mb.tokens {
			if seq < 0 || v.seq < seq {
				oldest, seq = k, v.seq
			}
		}
		delete(mb.tokens, oldest)
	}
	return tok
}

// deltaURL is a delta function URL in the form Graph writes its links.
func (e *Emulator) deltaURL(user, folderID string, selects []string, change string) string {
	u := e.baseURL + "/v1.0/users/" + url.PathEscape(user) + "/mailFolders('" + folderID + "')/messages/delta"
	var q []string
	if len(selects) > 0 {
		q = append(q, "$select="+strings.Join(selects, ","))
	}
	if change != "" {
		q = append(q, "changeType="+change)
	}
	if len(q) > 0 {
		u += "?" + strings.Join(q, "&")
	}
	return u
}
