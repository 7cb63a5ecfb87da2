package mailin

import (
	"strings"
	"unicode"
)

// Welsh detection: an application (or a reply) written in Welsh is
// answered in Welsh (Welsh Language Standards). The detector is small and
// conservative: it counts words that only Welsh uses against words that
// only English uses, and says Welsh only when Welsh clearly dominates a text
// of some length. A text in both languages, a short one, or English with
// Welsh place names ("Llanfair", "Pen-y-bont") is not Welsh.

// welshWords are common Welsh words that are not also English words.
var welshWords = setOf(`yn y yr mae wedi ac ar ei eu ein eich fy gyda ddim nid nad oedd roedd bod sydd sy'n hyn hynny
	yma yno neu ond hefyd iawn lle beth pwy pam sut rhwng dros drwy trwy heb gan wrth mewn o'r i'r a'r ydw ydy ydych
	rydw rydym rwy'n rwyf roeddwn bydd byddwn gallwch diolch annwyl cofion gywir nos noson cymydog cymdogion heddlu
	cyngor sŵn swn plant ni chi nhw fi gennym gennyf amdano ynglŷn ynglyn achos cais ymddygiad gwrthgymdeithasol
	digwyddiad digwyddiadau ers wythnos wythnosau misoedd blwyddyn tŷ stryd drws ffenestr yng ym hwn hon rhai llawer
	mwy dweud gwneud wneud cael gael mynd fynd dod ddod eisiau angen gwybod wybod gyda'r i'n a'n yw dyw does dydy
	fod hefo efo tra erbyn rhoi roi ffonio ffoniais adroddiad adroddiadau cymydogion tu allan nhw'n dwi dw i'w`)

// englishWords are common English words that are not also Welsh words.
var englishWords = setOf(`the and of to is in that it was for on are with they be at have this from not but we my our
	there been has had were would will you your he she his her them their which what when who about into out up by or
	an as if so do did because can could been neighbour neighbours police council noise every night`)

func setOf(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// welshMinWords is how long a text must be before the detector says
// anything: a greeting or a signature alone is not enough.
const welshMinWords = 12

// isWelsh reports whether text is written in Welsh.
func isWelsh(text string) bool {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && r != '\'' && r != '’'
	})
	if len(words) < welshMinWords {
		return false
	}
	cy, en := 0, 0
	for _, w := range words {
		w = strings.Trim(strings.ReplaceAll(w, "’", "'"), "'")
		switch {
		case welshWords[w]:
			cy++
		case englishWords[w]:
			en++
		}
	}
	return cy >= 5 && cy*5 >= len(words) && cy >= 3*en
}
