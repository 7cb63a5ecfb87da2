package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// metrics is a small Prometheus text-format registry: counters with label
// values that are codes (outcomes, methods, error codes), never personal
// data.
type metrics struct {
	mu       sync.Mutex
	counters map[string]map[string]float64 // name → labels → value
	help     map[string]string
	funcs    []counterFunc
}

// counterFunc is a counter kept elsewhere (the token Source's renewals),
// read when /metrics is scraped.
type counterFunc struct {
	name, help string
	value      func() float64
}

// counterFunc adds a counter read from value at each scrape.
func (m *metrics) counterFunc(name, help string, value func() float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.funcs = append(m.funcs, counterFunc{name, help, value})
}

func newMetrics() *metrics {
	return &metrics{counters: map[string]map[string]float64{}, help: map[string]string{}}
}

// inc adds one to a counter; labels are name=value pairs.
func (m *metrics) inc(name, help string, labels ...string) {
	var b strings.Builder
	for i := 0; i+1 < len(labels); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", labels[i], labels[i+1])
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counters[name] == nil {
		m.counters[name] = map[string]float64{}
		m.help[name] = help
	}
	m.counters[name][b.String()]++
}

var (
	slackCodeRE  = regexp.MustCompile(`^[a-z0-9_]{1,60}$`)
	httpStatusRE = regexp.MustCompile(`^([1-5][0-9][0-9])\b`)
)

// errorCodeLabel keeps an error label a code: Slack's error codes
// ("channel_not_found") pass as they are, an HTTP status ("503 Service
// Unavailable") becomes "http_503", a timeout "timeout", and any other
// text (a refused connection, a reset) "network" — free text would make a
// new series of every message, and could carry what a label must not.
func errorCodeLabel(code string) string {
	switch {
	case slackCodeRE.MatchString(code):
		return code
	case httpStatusRE.MatchString(code):
		return "http_" + httpStatusRE.FindStringSubmatch(code)[1]
	case strings.Contains(code, "deadline exceeded") || strings.Contains(strings.ToLower(code), "timeout"):
		return "timeout"
	default:
		return "network"
	}
}

// gauges are read at scrape time from the store and the components.
type gauge struct {
	name, help string
	value      func(ctx context.Context) (float64, error)
}

func (m *metrics) handler(gauges []gauge) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		m.write(r.Context(), w, gauges)
	})
}

func (m *metrics) write(ctx context.Context, w io.Writer, gauges []gauge) {
	m.mu.Lock()
	names := make([]string, 0, len(m.counters))
	for n := range m.counters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", n, m.help[n], n)
		labels := make([]string, 0, len(m.counters[n]))
		for l := range m.counters[n] {
			labels = append(labels, l)
		}
		sort.Strings(labels)
		for _, l := range labels {
			if l == "" {
				fmt.Fprintf(w, "%s %g\n", n, m.counters[n][l])
			} else {
				fmt.Fprintf(w, "%s{%s} %g\n", n, l, m.counters[n][l])
			}
		}
	}
	funcs := m.funcs
	m.mu.Unlock()
	for _, c := range funcs {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %g\n", c.name, c.help, c.name, c.name, c.value())
	}
	for _, g := range gauges {
		v, err := g.value(ctx)
		if err != nil {
			continue
		}
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", g.name, g.help, g.name, g.name, v)
	}
}

// storeGauges are the outbox and deadline figures.
func storeGauges(s *sqlite.Store) []gauge {
	stats := func(ctx context.Context) (casefile.OutboxStats, error) { return s.OutboxStats(ctx) }
	return []gauge{
		{"trigger_outbox_pending", "Outbox jobs waiting to be done.", func(ctx context.Context) (float64, error) {
			st, err := stats(ctx)
			return float64(st.Pending), err
		}},
		{"trigger_outbox_dead", "Outbox jobs that ended without being done (a permanent error, or failing for outbox.give_up_after): each is a person's work item.", func(ctx context.Context) (float64, error) {
			st, err := stats(ctx)
			return float64(st.Dead), err
		}},
		{"trigger_outbox_oldest_age_seconds", "Age of the oldest pending outbox job.", func(ctx context.Context) (float64, error) {
			st, err := stats(ctx)
			return st.OldestAge.Seconds(), err
		}},
		{"trigger_deadlines_overdue", "Open deadlines of open cases whose day has passed.", func(ctx context.Context) (float64, error) {
			n, err := s.OverdueDeadlines(ctx)
			return float64(n), err
		}},
	}
}
