package mixedmail

// The words the mail is made of: invented people at invented addresses in
// real towns' postcode districts.

var firstNames = []string{
	"Lucy", "Arjun", "Helen", "Ruth", "Daniel", "Sandra", "Owen", "Margaret", "Tom", "Aisha",
	"Gareth", "Priya", "Michael", "Joanne", "Kevin", "Fatima", "Stephen", "Claire", "Mohammed", "Emma",
	"David", "Sian", "Paul", "Grace", "Lee", "Hannah", "Simon", "Zara", "Peter", "Nicola",
}

var surnames = []string{
	"Fielding", "Mehta", "Hill", "Bennett", "Okafor", "O'Connell", "Price", "Grant", "Walker", "Khan",
	"Jones", "Patel", "Smith", "Evans", "Hughes", "Begum", "Taylor", "Wright", "Ali", "Thomas",
	"Roberts", "Davies", "Green", "Hussain", "Clarke", "Lewis", "Morgan", "Singh", "Ward", "Turner",
}

var mailDomains = []string{"example.net", "example.org", "example.com", "mail.example.co.uk", "example.uk"}

var places = []struct{ street, town, postcode string }{
	{"Mill Street", "Measham", "DE12 7HS"},
	{"Oak Court", "Ashby de la Zouch", "LE65 1HX"},
	{"Elm Road", "Coalville", "LE67 3FJ"},
	{"Church Street", "Castle Donington", "DE74 2HA"},
	{"Bridge Road", "Coalville", "LE67 3PW"},
	{"Orchard Way", "Ibstock", "LE67 6PL"},
	{"Station Road", "Kegworth", "DE74 2FR"},
	{"High Street", "Whitwick", "LE67 5FA"},
	{"Forest Road", "Hugglescote", "LE67 3SH"},
	{"Market Street", "Ashby de la Zouch", "LE65 1AP"},
}

var locations = []string{
	"Alleyway between Mill Street and the High Street",
	"Car park behind the flats",
	"The play area on the estate",
	"Outside the parade of shops",
	"The flat above mine",
	"The house next door",
	"The footpath by the canal",
}

var behaviours = []string{
	"Loud music and shouting late at night, most nights of the week.",
	"Motorbikes ridden through the alley at speed.",
	"Neighbours' fences kicked in and bins set on fire.",
	"Groups gather in the car park, throwing bottles at the windows.",
	"The dog next door barks all day and the owner has threatened me.",
	"Verbal abuse whenever I leave the house.",
	"Drug dealing from the flat, with cars coming and going all night.",
	"Rubbish dumped in the shared garden every week.",
	"Graffiti sprayed on my fence and my car scratched.",
	"Parties every weekend with fights in the street.",
}

var greetings = []string{"Hello,", "Dear Sir/Madam,", "Hi,", "To whom it may concern,", "Good morning,"}

var closings = []string{"Thanks", "Yours faithfully,", "Kind regards,", "Many thanks,", "Regards,"}

var subjects = []string{
	"Please review my complaints about next door",
	"Community Trigger application",
	"ASB case review request",
	"Request for a case review",
	"Complaint about ongoing anti-social behaviour",
}

var updates = []string{
	"Another party last night until 4am.",
	"It happened again on Saturday, worse than before.",
	"Just to let you know the motorbikes were back this week.",
	"I have more photos of the damage if you need them.",
	"My neighbour was threatened again yesterday.",
	"Can you tell me when the agencies will reply?",
}

var lists = []struct {
	name, from string
	html       bool
}{
	{"Safer Communities News", "news@lists.example-safety.org.uk", false},
	{"Neighbourhood Watch Bulletin", "bulletin@nhw.example.org.uk", true},
	{"Local Government Digest", "digest@lgd.example.com", true},
	{"ASB Practitioners", "asb-practitioners@lists.example.ac.uk", false},
}

var listTopics = []string{
	"reporting ASB to the police and council",
	"new guidance on the ASB Case Review",
	"community safety events this month",
	"funding for neighbourhood projects",
	"what the partnership did this quarter",
}
