package graphemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// prefs are the Prefer header's preferences Graph honours for mail.
type prefs struct {
	immutable bool
	pageSize  int
}

func parsePrefer(r *http.Request) prefs {
	var p prefs
	for _, line := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(line, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
			value = strings.Trim(strings.TrimSpace(value), `"`)
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "idtype":
				p.immutable = strings.EqualFold(value, "ImmutableId")
			case "odata.maxpagesize":
				if n, err := strconv.Atoi(value); err == nil && n > 0 {
					p.pageSize = n
				}
			}
		}
	}
	return p
}

// messageProperties are the message resource's v1.0 properties, by lower
// case, for $select.
var messageProperties = map[string]string{}

func init() {
	for _, p := range []string{"bccRecipients", "body", "bodyPreview", "categories", "ccRecipients", "changeKey",
		"conversationId", "conversationIndex", "createdDateTime", "flag", "from", "hasAttachments", "id", "importance",
		"inferenceClassification", "internetMessageHeaders", "internetMessageId", "isDeliveryReceiptRequested", "isDraft",
		"isRead", "isReadReceiptRequested", "lastModifiedDateTime", "parentFolderId", "receivedDateTime", "replyTo",
		"sender", "sentDateTime", "subject", "toRecipients", "uniqueBody", "webLink"} {
		messageProperties[strings.ToLower(p)] = p
	}
}

// parseSelect validates $select against the message resource.
func parseSelect(q url.Values) ([]string, *apiError) {
	v := q.Get("$select")
	if v == "" {
		return nil, nil
	}
	var out []string
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		p, ok := messageProperties[strings.ToLower(name)]
		if !ok {
			return nil, errNoProperty(name)
		}
		out = append(out, p)
	}
	return out, nil
}

func timeJSON(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func addressJSON(a string) map[string]any {
	return map[string]any{"emailAddress": map[string]any{"name": a, "address": a}}
}

// messageJSON renders the properties the emulator keeps; selected limits
// them (id and @odata.etag always come).
func messageJSON(m *message, immutable bool, selected []string) map[string]any {
	all := map[string]any{
		"createdDateTime":      timeJSON(m.received),
		"lastModifiedDateTime": timeJSON(m.modified),
		"changeKey":            m.changeKey(),
		"receivedDateTime":     timeJSON(m.received),
		"sentDateTime":         timeJSON(m.received),
		"hasAttachments":       false,
		"internetMessageId":    m.internetMessageID,
		"subject":              m.subject,
		"parentFolderId":       m.folderID,
		"isRead":               false,
		"isDraft":              false,
	}
	if m.from != "" {
		all["from"] = addressJSON(m.from)
		all["sender"] = addressJSON(m.from)
	}
	var to []any
	for _, a := range m.to {
		to = append(to, addressJSON(a))
	}
	all["toRecipients"] = to
	out := map[string]any{
		"@odata.type": "#microsoft.graph.message",
		"@odata.etag": `W/"` + m.changeKey() + `"`,
		"id":          m.id(immutable),
	}
	if selected == nil {
		for k, v := range all {
			out[k] = v
		}
		return out
	}
	// Given only when asked for by name (message resource type).
	all["internetMessageHeaders"] = headersJSON(m.raw)
	for _, p := range selected {
		if v, ok := all[p]; ok {
			out[p] = v
		} else if p != "id" {
			out[p] = nil
		}
	}
	return out
}

// headersJSON is a message's header as internetMessageHeaders: each field
// in order, its value unfolded and otherwise as written.
func headersJSON(raw []byte) []any {
	head := raw
	if i := bytes.Index(head, []byte("\r\n\r\n")); i >= 0 {
		head = head[:i]
	} else if i := bytes.Index(head, []byte("\n\n")); i >= 0 {
		head = head[:i]
	}
	out := []any{}
	for _, line := range strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n") {
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(out) > 0 {
			h := out[len(out)-1].(map[string]any)
			h["value"] = h["value"].(string) + " " + strings.TrimSpace(line)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		out = append(out, map[string]any{"name": name, "value": strings.TrimSpace(value)})
	}
	return out
}

func folderJSON(mb *mailbox, f *folder) map[string]any {
	return map[string]any{
		"id":               f.id,
		"displayName":      f.displayName,
		"parentFolderId":   f.parentID,
		"childFolderCount": len(mb.children(f.id)),
		"unreadItemCount":  mb.counts(f.id),
		"totalItemCount":   mb.counts(f.id),
		"isHidden":         false,
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// handle runs an authorised operation on mb.
func (e *Emulator) handle(w http.ResponseWriter, r *http.Request, rt route, mb *mailbox, requestID string) *apiError {
	switch rt.op {
	case "sendMail":
		return e.sendMail(w, r, mb)
	case "delta":
		return e.delta(w, r, rt, mb)
	case "value":
		return e.value(w, mb, rt.message)
	}
	body, ae := e.readBody(r)
	if ae != nil {
		return ae
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p := parsePrefer(r)
	switch rt.op {
	case "getFolder":
		f := mb.folder(rt.folder)
		if f == nil {
			return errItemNotFound
		}
		writeJSON(w, http.StatusOK, folderJSON(mb, f))
	case "listFolders":
		return e.listFolders(w, r, rt, mb)
	case "createFolder":
		return e.createFolder(w, rt, mb, body)
	case "listMessages":
		return e.listMessages(w, r, rt, mb, p)
	case "getMessage":
		m := mb.message(rt.message)
		if m == nil {
			return errItemNotFound
		}
		sel, ae := parseSelect(r.URL.Query())
		if ae != nil {
			return ae
		}
		writeJSON(w, http.StatusOK, messageJSON(m, p.immutable, sel))
	case "move":
		return e.move(w, rt, mb, body, p)
	}
	return nil
}

func (e *Emulator) readBody(r *http.Request) ([]byte, *apiError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, e.opts.MaxRequestBytes+1))
	if err != nil {
		return nil, errBadRequest("The request body could not be read.")
	}
	if int64(len(body)) > e.opts.MaxRequestBytes {
		return nil, errTooLarge
	}
	return body, nil
}

// parseNameFilter reads displayName eq 'x', the one folder filter the
// emulator supports.
func parseNameFilter(f string) (string, bool) {
	f = strings.TrimSpace(f)
	name, lit, ok := strings.Cut(f, " ")
	if !ok || !strings.EqualFold(name, "displayName") {
		return "", false
	}
	op, lit, ok := strings.Cut(strings.TrimSpace(lit), " ")
	if !ok || !strings.EqualFold(op, "eq") {
		return "", false
	}
	lit = strings.TrimSpace(lit)
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		return "", false
	}
	inner := lit[1 : len(lit)-1]
	if strings.Count(strings.ReplaceAll(inner, "''", ""), "'") > 0 {
		return "", false
	}
	return strings.ReplaceAll(inner, "''", "'"), true
}

func (e *Emulator) listFolders(w http.ResponseWriter, r *http.Request, rt route, mb *mailbox) *apiError {
	parent := mb.folder(rt.folder)
	if parent == nil {
		return errItemNotFound
	}
	q := r.URL.Query()
	list := mb.children(parent.id)
	if f := q.Get("$filter"); f != "" {
		name, ok := parseNameFilter(f)
		if !ok {
			return errBadFilter
		}
		var match []*folder
		for _, f := range list {
			if strings.EqualFold(f.displayName, name) {
				match = append(match, f)
			}
		}
		list = match
	}
	top, skip := e.opts.DefaultPageSize, 0
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errBadRequest("Invalid $top.")
		}
		top = n
	}
	if v := q.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errBadRequest("Invalid $skip.")
		}
		skip = n
	}
	var value []any
	for i := skip; i < len(list) && i < skip+top; i++ {
		value = append(value, folderJSON(mb, list[i]))
	}
	out := map[string]any{"value": orEmpty(value)}
	if skip+top < len(list) {
		q.Set("$skip", strconv.Itoa(skip+top))
		q.Set("$top", strconv.Itoa(top))
		out["@odata.nextLink"] = e.baseURL + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func orEmpty(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func (e *Emulator) createFolder(w http.ResponseWriter, rt route, mb *mailbox, body []byte) *apiError {
	parent := mb.folder(rt.folder)
	if parent == nil {
		return errItemNotFound
	}
	var req struct {
		DisplayName *string `json:"displayName"`
		IsHidden    bool    `json:"isHidden"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return errBadRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	if req.DisplayName == nil || strings.TrimSpace(*req.DisplayName) == "" {
		return errf(400, "ErrorInvalidParameter", "The value of the parameter 'DisplayName' is empty.")
	}
	for _, f := range mb.children(parent.id) {
		if strings.EqualFold(f.displayName, *req.DisplayName) {
			return errFolderExists
		}
	}
	e.folderSeq++
	f := &folder{id: newFolderID(), displayName: *req.DisplayName, parentID: parent.id, created: 100 + e.folderSeq}
	mb.folders[f.id] = f
	writeJSON(w, http.StatusCreated, folderJSON(mb, f))
	return nil
}

func (e *Emulator) listMessages(w http.ResponseWriter, r *http.Request, rt route, mb *mailbox, p prefs) *apiError {
	f := mb.folder(rt.folder)
	if f == nil {
		return errItemNotFound
	}
	q := r.URL.Query()
	sel, ae := parseSelect(q)
	if ae != nil {
		return ae
	}
	top, skip := e.opts.DefaultPageSize, 0
	if v := q.Get("$top"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			top = n
		}
	}
	if v := q.Get("$skip"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			skip = n
		}
	}
	list := mb.inFolder(f.id)
	var value []any
	for i := skip; i < len(list) && i < skip+top; i++ {
		value = append(value, messageJSON(list[i], p.immutable, sel))
	}
	out := map[string]any{"value": orEmpty(value)}
	if skip+top < len(list) {
		q.Set("$skip", strconv.Itoa(skip+top))
		q.Set("$top", strconv.Itoa(top))
		out["@odata.nextLink"] = e.baseURL + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// value streams a message's MIME content, in chunks, so a client that stops
// reading is seen to have stopped.
func (e *Emulator) value(w http.ResponseWriter, mb *mailbox, id string) *apiError {
	e.mu.Lock()
	m := mb.message(id)
	var raw []byte
	if m != nil {
		raw = m.raw
		if e.opts.MIMEVaries {
			m.downloads++
			raw = append(fmt.Appendf(nil, "X-Graphemu-Download: %d\r\n", m.downloads), raw...)
		}
	}
	e.mu.Unlock()
	if m == nil {
		return errItemNotFound
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
	w.WriteHeader(http.StatusOK)
	const chunk = 64 << 10
	for len(raw) > 0 {
		n := min(chunk, len(raw))
		if _, err := w.Write(raw[:n]); err != nil {
			return nil
		}
		raw = raw[n:]
	}
	return nil
}

// move gives the message a new REST id in the destination folder; its
// immutable id stays.
func (e *Emulator) move(w http.ResponseWriter, rt route, mb *mailbox, body []byte, p prefs) *apiError {
	m := mb.message(rt.message)
	if m == nil {
		return errItemNotFound
	}
	var req struct {
		DestinationID string `json:"destinationId"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return errBadRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	if req.DestinationID == "" {
		return errf(400, "ErrorInvalidParameter", "The value of the parameter 'DestinationId' is empty.")
	}
	dest := mb.folder(req.DestinationID)
	if dest == nil || dest.wellKnown == "msgfolderroot" {
		return errItemNotFound
	}
	delete(mb.restIDs, m.restID)
	m.restID = newRestID()
	mb.restIDs[m.restID] = m.immutableID
	m.folderID = dest.id
	m.version++
	m.modified = e.clock.Now()
	writeJSON(w, http.StatusCreated, messageJSON(m, p.immutable, nil))
	return nil
}
