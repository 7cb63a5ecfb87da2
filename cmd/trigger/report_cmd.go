package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

func init() {
	register(command{name: "report", summary: "the statutory figures for a year: --year YYYY [--csv | --html]", run: runReport})
}

func runReport(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("report")
	year := fs.Int("year", 0, "the calendar year of the applications (received_at, London time)")
	asCSV := fs.Bool("csv", false, "print CSV")
	asHTML := fs.Bool("html", false, "print an HTML page fit to publish")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("report: unexpected %q", fs.Arg(0))
	}
	if *year == 0 {
		return usagef("report: --year YYYY is required")
	}
	if *asCSV && *asHTML {
		return usagef("report: choose one of --csv and --html")
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		r, err := s.YearReport(ctx, *year)
		if err != nil {
			return domainError(err)
		}
		switch {
		case *asCSV:
			return writeReportCSV(m.Stdout, r)
		case *asHTML:
			return writeReportHTML(m.Stdout, r, s.Config.Partnership.Name)
		default:
			return writeReportText(m.Stdout, r, s.Config.Partnership.Name)
		}
	})
}

// reportBasis says which applications the figures count.
func reportBasis(year int) string {
	return fmt.Sprintf("Applications received from 1 January to 31 December %d (UK time, Europe/London); every figure is about those applications.", year)
}

// reportLine is one figure, in the order every format gives them.
type reportLine struct {
	key, label string
	value      int
}

func statutoryLines(r *casefile.Report) []reportLine {
	return []reportLine{
		{"applications_received", "Applications for a case review received", r.Applications},
		{"threshold_not_met", "Applications where the threshold for a review was not met", r.ThresholdNotMet},
		{"case_reviews_carried_out", "Case reviews carried out", r.ReviewsCarriedOut},
		{"reviews_with_recommendations", "Case reviews that resulted in recommendations", r.ReviewsWithRecommendations},
	}
}

func furtherLines(r *casefile.Report) []reportLine {
	return []reportLine{
		{"further_reviews_requested", "Further reviews requested", r.FurtherReviewsRequested},
		{"further_reviews_upheld", "Further reviews upheld", r.FurtherReviewsUpheld},
		{"threshold_decision_reviews_requested", "Reviews of a threshold-not-met decision requested (police and crime commissioner's route)", r.ThresholdReviewsRequested},
		{"threshold_decision_reviews_upheld", "Reviews of a threshold-not-met decision upheld", r.ThresholdReviewsUpheld},
	}
}

func otherLines(r *casefile.Report) []reportLine {
	return []reportLine{
		{"threshold_met", "Applications where the threshold was met", r.ThresholdMet},
		{"withdrawn", "Applications withdrawn", r.Withdrawn},
		{"awaiting_decision", "Applications still awaiting a threshold decision", r.AwaitingDecision},
	}
}

type reportTime struct {
	key, label string
	m          casefile.Median
}

func reportTimes(r *casefile.Report) []reportTime {
	return []reportTime{
		{"median_working_days_to_decision", "From application to threshold decision", r.DaysToDecision},
		{"median_working_days_to_response", "From application to the partnership's response", r.DaysToResponse},
	}
}

func reportMonth(i int) string { return time.Month(i + 1).String() }

func writeReportText(w io.Writer, r *casefile.Report, partnership string) error {
	fmt.Fprintf(w, "Community Trigger (ASB Case Review): figures for %d\n", r.Year)
	if partnership != "" {
		fmt.Fprintln(w, partnership)
	}
	fmt.Fprintf(w, "%s\n", reportBasis(r.Year))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	section := func(title string, lines []reportLine) {
		fmt.Fprintf(tw, "\n%s\n", title)
		for _, l := range lines {
			fmt.Fprintf(tw, "  %s\t%d\n", l.label, l.value)
		}
	}
	section("Published under s.104(10) of the Anti-social Behaviour, Crime and Policing Act 2014", statutoryLines(r))
	section("Further reviews", furtherLines(r))
	section("Other outcomes", otherLines(r))
	fmt.Fprintf(tw, "\nMedian working days (England and Wales bank holidays excluded)\n")
	for _, t := range reportTimes(r) {
		fmt.Fprintf(tw, "  %s\t%s\t(%d %s)\n", t.label, t.m, t.m.N, reportPlural(t.m.N, "application", "applications"))
	}
	fmt.Fprintf(tw, "\nAgency replies: median working days from request to reply\n")
	if len(r.Agencies) == 0 {
		fmt.Fprintf(tw, "  no agency was asked\n")
	}
	for _, a := range r.Agencies {
		fmt.Fprintf(tw, "  %s\t%s\t(%d of %d %s answered)\n", a.Name, a.Median, a.N, a.Requests, reportPlural(a.Requests, "request", "requests"))
	}
	fmt.Fprintf(tw, "\nApplications by month\n")
	for i, n := range r.Monthly {
		fmt.Fprintf(tw, "  %s\t%d\n", reportMonth(i), n)
	}
	return tw.Flush()
}

func reportPlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func writeReportCSV(w io.Writer, r *casefile.Report) error {
	cw := csv.NewWriter(w)
	y := strconv.Itoa(r.Year)
	rows := [][]string{
		{"year", "measure", "breakdown", "value", "n"},
		{y, "basis", "", reportBasis(r.Year), ""},
	}
	for _, group := range [][]reportLine{statutoryLines(r), furtherLines(r), otherLines(r)} {
		for _, l := range group {
			rows = append(rows, []string{y, l.key, "", strconv.Itoa(l.value), ""})
		}
	}
	for _, t := range reportTimes(r) {
		rows = append(rows, []string{y, t.key, "", medianCSV(t.m), strconv.Itoa(t.m.N)})
	}
	for _, a := range r.Agencies {
		rows = append(rows, []string{y, "median_working_days_agency_reply", a.Agency, medianCSV(a.Median), strconv.Itoa(a.N)})
	}
	for i, n := range r.Monthly {
		rows = append(rows, []string{y, "applications_received_in_month", fmt.Sprintf("%d-%02d", r.Year, i+1), strconv.Itoa(n), ""})
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// medianCSV is a median for a spreadsheet: empty when there is none.
func medianCSV(m casefile.Median) string {
	if m.N == 0 {
		return ""
	}
	return casefile.FormatDays(m.Value)
}

// chart is the monthly bar chart's geometry, in the SVG's own units.
type chartBar struct {
	Month, Short  string
	Value         int
	X, Y, W, H    float64
	LabelX, TextY float64
}

const (
	chartW, chartH = 360.0, 220.0
	chartTop       = 24.0  // room for the tallest bar's number
	chartBase      = 190.0 // the baseline; month names below it
	chartSlot      = 28.0
	chartBarW      = 20.0
	chartLeft      = (chartW - 12*chartSlot) / 2
	chartColour    = "#1d70b8" // dark enough for white around it: 5.2:1
)

func chartBars(r *casefile.Report) []chartBar {
	top := 0
	for _, n := range r.Monthly {
		top = max(top, n)
	}
	var bars []chartBar
	for i, n := range r.Monthly {
		b := chartBar{Month: reportMonth(i), Short: reportMonth(i)[:3], Value: n}
		b.X = chartLeft + float64(i)*chartSlot + (chartSlot-chartBarW)/2
		b.W = chartBarW
		if top > 0 {
			b.H = float64(n) / float64(top) * (chartBase - chartTop)
		}
		b.Y = chartBase - b.H
		b.LabelX = b.X + chartBarW/2
		b.TextY = b.Y - 6
		bars = append(bars, b)
	}
	return bars
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{"f": func(v float64) string {
	return strconv.FormatFloat(v, 'f', 1, 64)
}}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Community Trigger (ASB Case Review) figures for {{.R.Year}}{{with .Partnership}} – {{.}}{{end}}</title>
<style>
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #ffffff; color: #0b0c0c; font-family: Arial, Helvetica, sans-serif; font-size: 1.1875rem; line-height: 1.5; }
main { max-width: 46rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.75rem; line-height: 1.2; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.375rem; line-height: 1.3; margin: 2rem 0 0.75rem; }
p { margin: 0 0 1rem; }
.lede { font-size: 1.25rem; }
.basis { border-left: 5px solid #b1b4b6; padding-left: 0.75rem; }
table { border-collapse: collapse; width: 100%; margin: 0 0 1rem; }
caption { text-align: left; font-weight: bold; padding: 0 0 0.5rem; }
th, td { text-align: left; vertical-align: top; padding: 0.5rem 0.5rem 0.5rem 0; border-bottom: 1px solid #b1b4b6; }
thead th { border-bottom: 2px solid #0b0c0c; }
tbody th { font-weight: normal; }
.num { text-align: right; padding-left: 0.75rem; padding-right: 0; white-space: nowrap; font-variant-numeric: tabular-nums; }
figure { margin: 0 0 1rem; }
svg { display: block; width: 100%; max-width: 40rem; height: auto; }
svg text { font-family: Arial, Helvetica, sans-serif; fill: #0b0c0c; }
figcaption { color: #484949; font-size: 1rem; }
footer { color: #484949; font-size: 1rem; margin-top: 2rem; }
@media (max-width: 30rem) { body { font-size: 1.0625rem; } h1 { font-size: 1.5rem; } th, td { padding-right: 0.25rem; } }
</style>
</head>
<body>
<main>
<h1>Community Trigger (ASB Case Review) figures for {{.R.Year}}</h1>
{{with .Partnership}}<p class="lede">{{.}}</p>{{end}}
<p class="basis">{{.Basis}}</p>

<h2 id="statutory">Figures we must publish</h2>
<table>
<caption>Under section 104(10) of the Anti-social Behaviour, Crime and Policing Act 2014</caption>
<thead><tr><th scope="col">Measure</th><th scope="col" class="num">Number</th></tr></thead>
<tbody>
{{range .Statutory}}<tr><th scope="row">{{.Label}}</th><td class="num">{{.Value}}</td></tr>
{{end}}</tbody>
</table>

<h2 id="monthly">Applications each month</h2>
<figure>
<svg viewBox="0 0 {{.W}} {{.H}}" role="img" aria-labelledby="chart-title chart-desc" focusable="false">
<title id="chart-title">Applications received each month in {{.R.Year}}</title>
<desc id="chart-desc">A bar chart of applications received by month: {{.ChartSummary}}. The table below gives the same figures.</desc>
<line x1="{{.Left}}" y1="{{.Base}}" x2="{{.Right}}" y2="{{.Base}}" stroke="#0b0c0c" stroke-width="1"/>
{{range .Bars}}{{if .Value}}<rect x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}" fill="{{$.Colour}}"><title>{{.Month}}: {{.Value}}</title></rect>
<text x="{{f .LabelX}}" y="{{f .TextY}}" text-anchor="middle" font-size="12">{{.Value}}</text>
{{end}}<text x="{{f .LabelX}}" y="{{$.LabelY}}" text-anchor="middle" font-size="11">{{.Short}}</text>
{{end}}</svg>
<figcaption>Applications received each month. The same figures are in the table below.</figcaption>
</figure>
<table>
<caption>Applications received each month in {{.R.Year}}</caption>
<thead><tr><th scope="col">Month</th><th scope="col" class="num">Applications</th></tr></thead>
<tbody>
{{range .Bars}}<tr><th scope="row">{{.Month}}</th><td class="num">{{.Value}}</td></tr>
{{end}}</tbody>
</table>

<h2 id="further">Further reviews</h2>
<table>
<caption>Applicants who asked for the review, or the decision that the threshold was not met, to be looked at again</caption>
<thead><tr><th scope="col">Measure</th><th scope="col" class="num">Number</th></tr></thead>
<tbody>
{{range .Further}}<tr><th scope="row">{{.Label}}</th><td class="num">{{.Value}}</td></tr>
{{end}}</tbody>
</table>

<h2 id="other">Other outcomes</h2>
<table aria-labelledby="other">
<thead><tr><th scope="col">Measure</th><th scope="col" class="num">Number</th></tr></thead>
<tbody>
{{range .Other}}<tr><th scope="row">{{.Label}}</th><td class="num">{{.Value}}</td></tr>
{{end}}</tbody>
</table>

<h2 id="time">How long it took</h2>
<table>
<caption>Median working days (England and Wales bank holidays excluded)</caption>
<thead><tr><th scope="col">Step</th><th scope="col" class="num">Working days</th><th scope="col" class="num">Applications</th></tr></thead>
<tbody>
{{range .Times}}<tr><th scope="row">{{.Label}}</th><td class="num">{{.M}}</td><td class="num">{{.M.N}}</td></tr>
{{end}}</tbody>
</table>

<table>
<caption>Agencies: median working days from our request to their reply</caption>
<thead><tr><th scope="col">Agency</th><th scope="col" class="num">Working days</th><th scope="col" class="num">Replies</th><th scope="col" class="num">Requests</th></tr></thead>
<tbody>
{{range .R.Agencies}}<tr><th scope="row">{{.Name}}</th><td class="num">{{.Median}}</td><td class="num">{{.N}}</td><td class="num">{{.Requests}}</td></tr>
{{else}}<tr><td colspan="4">No agency was asked for information.</td></tr>
{{end}}</tbody>
</table>

<footer><p>These are totals only: nothing on this page is about a person. A dash (–) means there is nothing to count.</p></footer>
</main>
</body>
</html>
`))

func writeReportHTML(w io.Writer, r *casefile.Report, partnership string) error {
	bars := chartBars(r)
	var summary []string
	for _, b := range bars {
		summary = append(summary, fmt.Sprintf("%s %d", b.Month, b.Value))
	}
	type line struct {
		Label string
		Value int
	}
	conv := func(ls []reportLine) []line {
		var out []line
		for _, l := range ls {
			out = append(out, line{l.label, l.value})
		}
		return out
	}
	type tline struct {
		Label string
		M     casefile.Median
	}
	var times []tline
	for _, t := range reportTimes(r) {
		times = append(times, tline{t.label, t.m})
	}
	return reportPage.Execute(w, map[string]any{
		"R": r, "Partnership": partnership, "Basis": reportBasis(r.Year),
		"Statutory": conv(statutoryLines(r)), "Further": conv(furtherLines(r)), "Other": conv(otherLines(r)), "Times": times,
		"Bars": bars, "ChartSummary": strings.Join(summary, ", "), "Colour": chartColour,
		"W": chartW, "H": chartH, "Left": chartLeft, "Right": chartW - chartLeft, "Base": chartBase, "LabelY": chartBase + 18,
	})
}
