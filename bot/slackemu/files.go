package slackemu

import (
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// File is a file a person shared in a channel, as Slack describes it.
type File struct {
	ID        string
	Name      string
	Title     string
	Mimetype  string
	Filetype  string // "pdf", "png", "text", ...
	Size      int
	User      string // who uploaded it
	Channel   string // where it was shared
	Created   time.Time
	Permalink string // https://TEAM.slack.com/files/USER/ID/NAME
	// URLPrivate is where the file's bytes are, on the emulator: a GET
	// with the bot token in an Authorization header (and files:read)
	// returns them, as Slack's url_private does.
	URLPrivate string
}

// Upload is what a person uploads with UploadFile.
type Upload struct {
	Name     string // file name, e.g. "statement.pdf"
	Title    string // defaults to Name
	Mimetype string // defaults from the name's extension
	Content  []byte
	Text     string // the message sent with the file, may be empty
}

type storedFile struct {
	File
	content []byte
}

// newFileLocked stores an uploaded file.
func (e *Emulator) newFileLocked(u *User, c *channel, up Upload) File {
	id := e.newID("F")
	name := path.Base(strings.ReplaceAll(up.Name, "\\", "/"))
	if name == "." || name == "/" {
		name = "file"
	}
	ctype := up.Mimetype
	if ctype == "" {
		ctype = mime.TypeByExtension(path.Ext(name))
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	ftype := strings.TrimPrefix(path.Ext(name), ".")
	if ftype == "" || ftype == "txt" {
		ftype = "text"
	}
	f := File{
		ID: id, Name: name, Title: up.Title, Mimetype: ctype, Filetype: ftype, Size: len(up.Content),
		User: u.ID, Channel: c.ID, Created: e.clock.Now(),
		Permalink:  "https://" + e.opts.TeamName + ".slack.com/files/" + u.ID + "/" + id + "/" + name,
		URLPrivate: e.baseURL + "/files/" + id + "/" + name,
	}
	if f.Title == "" {
		f.Title = name
	}
	e.files[id] = &storedFile{File: f, content: append([]byte(nil), up.Content...)}
	return f
}

func (e *Emulator) fileJSON(f File) map[string]any {
	shared := "channels"
	if c := e.channels[f.Channel]; c != nil && c.IM {
		shared = "ims"
	} else if c != nil && c.Private {
		shared = "groups"
	}
	return map[string]any{
		"id": f.ID, "created": f.Created.Unix(), "timestamp": f.Created.Unix(),
		"name": f.Name, "title": f.Title, "mimetype": f.Mimetype, "filetype": f.Filetype,
		"pretty_type": strings.ToUpper(f.Filetype), "user": f.User, "user_team": e.teamID,
		"editable": false, "size": f.Size, "mode": "hosted", "is_external": false,
		"external_type": "", "is_public": shared == "channels", "public_url_shared": false,
		"display_as_bot": false, "username": "",
		"url_private": f.URLPrivate, "url_private_download": f.URLPrivate + "?download=1",
		"permalink": f.Permalink,
		shared:      []string{f.Channel},
	}
}

// visibleFileLocked finds a file the bot can see: one shared in a
// conversation it is in.
func (e *Emulator) visibleFileLocked(id string) *storedFile {
	f := e.files[id]
	if f == nil {
		return nil
	}
	if c := e.channels[f.Channel]; c == nil || !c.isMember(e.bot.ID) {
		return nil
	}
	return f
}

func (e *Emulator) filesInfo(p params) (reply, error) {
	f := e.visibleFileLocked(p.Get("file"))
	if f == nil {
		return nil, fail("file_not_found")
	}
	return reply{"file": e.fileJSON(f.File), "comments": []any{}, "response_metadata": map[string]any{"next_cursor": ""}}, nil
}

// serveFile answers a GET of a file's url_private: the bot token in the
// Authorization header, with files:read, gets the bytes.
func (e *Emulator) serveFile(w http.ResponseWriter, r *http.Request) {
	id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/files/"), "/")
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	e.mu.Lock()
	f := e.visibleFileLocked(id)
	ok := token == e.opts.BotToken && e.scopes["files:read"]
	e.mu.Unlock()
	switch {
	case !ok:
		http.Error(w, "not authorized", http.StatusForbidden)
	case f == nil:
		http.NotFound(w, r)
	default:
		w.Header().Set("Content-Type", f.Mimetype)
		_, _ = w.Write(f.content)
	}
}
