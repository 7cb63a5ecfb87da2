package mailin

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxHTMLTree is the largest HTML body turned into a tree; a bigger one is
// stripped of its tags token by token, which needs no tree.
const maxHTMLTree = 2 << 20

// htmlToText makes an HTML body readable as text: paragraphs, line breaks
// and list items become lines, a table row of a label cell and a value cell
// becomes "label: value", scripts and styles are dropped.
func htmlToText(src string) string {
	var out string
	if len(src) > maxHTMLTree {
		out = stripTags(src)
	} else {
		doc, err := html.Parse(strings.NewReader(src))
		if err != nil {
			out = stripTags(src)
		} else {
			w := &textWriter{}
			w.node(doc)
			out = w.sb.String()
		}
	}
	return tidyLines(out)
}

// textWriter writes text into a byte buffer, which (unlike a
// strings.Builder) can drop what it ends with without copying the rest.
type textWriter struct {
	sb  bytes.Buffer
	pre int
}

func (w *textWriter) endsWith(s string) bool { return bytes.HasSuffix(w.sb.Bytes(), []byte(s)) }

func (w *textWriter) newline() {
	if w.sb.Len() == 0 || w.endsWith("\n") {
		return
	}
	w.sb.WriteByte('\n')
}

func (w *textWriter) blankLine() {
	w.newline()
	if w.sb.Len() == 0 || w.endsWith("\n\n") {
		return
	}
	w.sb.WriteByte('\n')
}

var spaceRE = mustCompile(`[ \t\r\n\f\x{00A0}]+`)

func (w *textWriter) text(s string) {
	if w.pre == 0 {
		s = spaceRE.ReplaceAllString(s, " ")
		if w.sb.Len() == 0 || w.endsWith("\n") || w.endsWith(" ") {
			s = strings.TrimLeft(s, " ")
		}
	}
	w.sb.WriteString(s)
}

func skipped(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript, atom.Object, atom.Iframe:
		return true
	}
	return false
}

func block(a atom.Atom) bool {
	switch a {
	case atom.Div, atom.Section, atom.Article, atom.Header, atom.Footer, atom.Blockquote, atom.Form,
		atom.Ul, atom.Ol, atom.Dl, atom.Address, atom.Center, atom.Fieldset, atom.Main, atom.Nav, atom.Aside, atom.Figure:
		return true
	}
	return false
}

func paragraph(a atom.Atom) bool {
	switch a {
	case atom.P, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Pre, atom.Table:
		return true
	}
	return false
}

func (w *textWriter) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c)
	}
}

func (w *textWriter) node(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		w.text(n.Data)
		return
	case html.DocumentNode:
		w.children(n)
		return
	case html.ElementNode:
	default:
		return
	}
	a := n.DataAtom
	switch {
	case skipped(a):
		return
	case a == atom.Br:
		w.sb.WriteByte('\n')
		return
	case a == atom.Hr:
		w.newline()
		return
	case a == atom.Table:
		w.blankLine()
		w.table(n)
		w.blankLine()
		return
	case a == atom.Li:
		w.newline()
		w.sb.WriteString("- ")
		w.children(n)
		w.newline()
		return
	case a == atom.Dt:
		w.newline()
		w.children(n)
		return
	case a == atom.Dd:
		w.sb.Truncate(len(bytes.TrimRight(w.sb.Bytes(), " ")))
		if !w.endsWith(":") && !w.endsWith("\n") {
			w.sb.WriteString(":")
		}
		w.sb.WriteString(" ")
		w.children(n)
		w.newline()
		return
	case a == atom.Pre:
		w.blankLine()
		w.pre++
		w.children(n)
		w.pre--
		w.blankLine()
		return
	case paragraph(a):
		w.blankLine()
		w.children(n)
		w.blankLine()
		return
	case block(a):
		w.newline()
		w.children(n)
		w.newline()
		return
	}
	w.children(n)
}

// table writes a table row by row. A row of two cells is "label: value"; a
// row whose cells hold tables or blocks (a layout table) writes its cells
// one after another.
func (w *textWriter) table(t *html.Node) {
	var header []string
	for _, row := range rows(t) {
		cells := cellsOf(row)
		layout := false
		for _, c := range cells {
			if hasBlock(c) {
				layout = true
			}
		}
		if layout {
			for _, c := range cells {
				w.newline()
				w.children(c)
				w.newline()
			}
			continue
		}
		texts := cellTexts(cells)
		if header != nil && len(texts) == len(header) && len(texts) >= 3 {
			// a data row under a header row: "Complaint 1 Date reported: …"
			rowLabel := strings.TrimSpace(header[0] + " " + texts[0])
			w.newline()
			for i := 1; i < len(texts); i++ {
				if texts[i] == "" {
					continue
				}
				w.sb.WriteString(rowLabel + " " + header[i] + ": " + texts[i])
				w.newline()
			}
			continue
		}
		if header == nil && len(cells) >= 3 && allHeaders(cells) {
			header = texts
			continue
		}
		var nonEmpty []string
		for _, s := range texts {
			if s != "" {
				nonEmpty = append(nonEmpty, s)
			}
		}
		w.newline()
		switch {
		case len(nonEmpty) == 0:
		case len(texts) == 2 && texts[0] != "" && texts[1] != "":
			label := strings.TrimRight(texts[0], ": ")
			w.sb.WriteString(label + ": " + texts[1])
		case len(texts) == 2 && texts[0] != "":
			// a question left unanswered
			w.sb.WriteString(strings.TrimRight(texts[0], ": ") + ":")
		default:
			w.sb.WriteString(strings.Join(nonEmpty, " | "))
		}
		w.newline()
	}
}

// cellTexts renders each cell as text on one line or, for a value of
// several paragraphs, lines without blank lines between them.
func cellTexts(cells []*html.Node) []string {
	var texts []string
	for _, c := range cells {
		sub := &textWriter{}
		sub.children(c)
		s := strings.TrimSpace(tidyLines(sub.sb.String()))
		s = manyBlankRE.ReplaceAllString(strings.ReplaceAll(s, "\n\n", "\n"), "\n")
		texts = append(texts, s)
	}
	return texts
}

func allHeaders(cells []*html.Node) bool {
	for _, c := range cells {
		if c.DataAtom != atom.Th {
			return false
		}
	}
	return true
}

// rows returns the rows of a table, not of tables nested in it.
func rows(t *html.Node) []*html.Node {
	var out []*html.Node
	var visit func(n *html.Node)
	visit = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			switch c.DataAtom {
			case atom.Tr:
				out = append(out, c)
			case atom.Thead, atom.Tbody, atom.Tfoot:
				visit(c)
			}
		}
	}
	visit(t)
	return out
}

func cellsOf(tr *html.Node) []*html.Node {
	var out []*html.Node
	for c := tr.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && (c.DataAtom == atom.Td || c.DataAtom == atom.Th) {
			out = append(out, c)
		}
	}
	return out
}

func hasBlock(n *html.Node) bool {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && (c.DataAtom == atom.Table || hasBlock(c)) {
			return true
		}
	}
	return false
}

// stripTags drops tags token by token, for HTML too big for a tree.
func stripTags(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var sb strings.Builder
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return sb.String()
		case html.TextToken:
			if skip == 0 {
				sb.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if a == atom.Script || a == atom.Style {
				skip++
			}
			if a == atom.Br || a == atom.P || a == atom.Div || a == atom.Tr || a == atom.Li {
				sb.WriteByte('\n')
			}
			if a == atom.Td || a == atom.Th {
				sb.WriteByte(' ')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if (a == atom.Script || a == atom.Style) && skip > 0 {
				skip--
			}
		}
	}
}

var manyBlankRE = mustCompile(`\n{3,}`)

// tidyLines trims each line and leaves at most one blank line in a row.
func tidyLines(s string) string {
	s = strings.ReplaceAll(s, "\u00a0", " ")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	s = strings.Join(lines, "\n")
	s = manyBlankRE.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s)
}
