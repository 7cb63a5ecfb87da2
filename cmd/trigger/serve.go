package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/outbox"
	"github.com/csp/trigger/casefile/schedule"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/graph"
	"github.com/csp/trigger/internal/mailauth"
	"github.com/csp/trigger/mailin"
	"github.com/csp/trigger/mailin/graphwatch"
	"github.com/csp/trigger/mailin/imapwatch"
	"github.com/csp/trigger/mailout"
)

func init() {
	register(command{name: "serve", summary: "run the service: mail reader (IMAP or Graph), outbox, Slack bot, HTTP (/healthz /readyz /metrics)", run: runServe})
}

func runServe(ctx context.Context, m *Main, g *globals, args []string) error {
	if err := parseFlags(newFlagSet("serve"), args); err != nil {
		return err
	}
	cfg, err := g.config(m)
	if err != nil {
		return err
	}
	logger := newLogger(m.Stderr, cfg.Log)
	for _, w := range cfg.Warnings() {
		logger.Warn("configuration: "+w, "code", "config_warning")
	}
	// One serve per database: a second one would work the same outbox.
	lock, err := lockInstance(cfg.Database.Path)
	if err != nil {
		return err
	}
	defer lock.release()
	store, err := sqlite.Open(cfg.Database.Path, cfg)
	if err != nil {
		return fmt.Errorf("database %s: %w", cfg.Database.Path, err)
	}
	defer store.Close()
	// Holding the lock, this is the only serve: jobs still leased were
	// claimed by one that is gone (killed, or the machine stopped). They
	// are claimable now, rather than when their lease runs out.
	if lock.exclusive() {
		n, err := store.ReclaimLeases(ctx)
		if err != nil {
			return fmt.Errorf("database %s: %w", cfg.Database.Path, err)
		}
		if n > 0 {
			logger.Warn("outbox: reclaimed the jobs a previous serve had claimed", "reclaimed", n)
		}
	}
	srv, err := newServer(cfg, store, logger, serverDeps{oauthBaseURL: m.oauthBaseURL})
	if err != nil {
		return err
	}
	// A second signal while shutting down exits at once. SQLite's journal
	// keeps the database whole; the outbox retries what was cut short.
	go func() {
		<-ctx.Done()
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		logger.Warn("second signal: exiting now")
		os.Exit(exitFail)
	}()
	return srv.run(ctx, nil)
}

func newLogger(w io.Writer, c casefile.LogConfig) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// slackCallTimeout bounds one Slack Web API call. Without it a call whose
// answer never comes (a dropped connection, a proxy that hangs) holds its
// outbox worker for ever, and the dispatcher, which waits for a whole batch,
// with it. A call cut short is retried like any failure; the bot's jobs
// find what such a call did after all. Tests shorten it.
var slackCallTimeout = 30 * time.Second

// server is `trigger serve`: every long-running part, wired together. The
// demo and the end-to-end tests run this same wiring.
type server struct {
	cfg     *casefile.Config
	store   *sqlite.Store
	logger  *slog.Logger
	metrics *metrics

	intake       *mailin.Intake
	mailAuth     *mailauth.Source // nil unless IMAP or SMTP signs in with a token
	graphAuth    *mailauth.Source // nil unless Graph reads or sends the mail
	health       *mailHealth
	watcher      *imapwatch.Watcher
	graphWatcher *graphwatch.Watcher
	bot          *bot.Bot
	slackHTTP    *bot.HTTPHandler
	mailOut      *outbox.Dispatcher
	slackOut     *outbox.Dispatcher

	addrMu   sync.Mutex
	httpAddr string
}

// serverDeps are what tests change of the real wiring.
type serverDeps struct {
	oauthBaseURL string        // the OAuth emulator instead of Microsoft's or Google's endpoints
	grace        time.Duration // instead of unreachableGrace
	reconnectMax time.Duration // the mail reader's longest wait between attempts
}

// newServer checks that every part that is configured has what it needs
// and builds it, with what tests change in deps (zero for the real
// wiring). A missing setting fails here, naming it.
func newServer(cfg *casefile.Config, store *sqlite.Store, logger *slog.Logger, deps serverDeps) (*server, error) {
	s := &server{cfg: cfg, store: store, logger: logger, metrics: newMetrics()}
	sec := cfg.Secrets
	s.intake = &mailin.Intake{Store: store, Config: cfg}

	// One token Source for the process: IMAP and SMTP share its tokens.
	var err error
	if s.mailAuth, err = newMailSource(cfg, store, deps.oauthBaseURL, logger); err != nil {
		return nil, err
	}
	if s.health, err = newMailHealth(context.Background(), store, logger.With("part", "mail")); err != nil {
		return nil, err
	}
	if deps.grace > 0 {
		s.health.grace = deps.grace
	}
	s.health.onSignInFailure = func(part, code string) {
		s.metrics.inc("trigger_mail_signin_failures_total", "Sign-ins to the mailbox (imap, graph_read) or the mail server (smtp, graph_send) that failed or were refused, by code.", "part", part, "code", code)
	}

	var graphClient *graph.Client
	if cfg.UsesGraph() {
		if s.graphAuth, err = newGraphSource(cfg, deps.oauthBaseURL, logger); err != nil {
			return nil, err
		}
		graphClient = newGraphClient(cfg, s.graphAuth, logger)
	}
	s.registerOAuthMetrics()

	switch {
	case cfg.ReadsGraph():
		s.graphWatcher = &graphwatch.Watcher{
			Client: graphClient, Config: cfg.Graph, MaxMessageSize: s.intake.MaxSize(),
			Store: store, Ingest: s.intake.IngestFetched, Logger: logger.With("part", "graph"),
			ReconnectMax: deps.reconnectMax,
			OnOutcome: func(outcome string) {
				s.metrics.inc("trigger_messages_ingested_total", "Messages ingested, by outcome.", "outcome", outcome)
			},
			OnError: func(err error) { s.health.failed(casefile.PartGraphRead, err, true) },
			OnConnected: func(up bool) {
				if up {
					s.health.working(casefile.PartGraphRead)
				}
			},
		}
	case cfg.IMAP.Address != "":
		imapToken := cfg.IMAP.Auth == casefile.AuthOAuth2
		if !imapToken && sec.IMAPPassword == "" {
			return nil, errors.New("TRIGGER_IMAP_PASSWORD: not set, but imap.address is: set the password (or TRIGGER_IMAP_PASSWORD_FILE), or imap.auth = \"oauth2\"")
		}
		// Outcomes are counted as the watcher settles each message, so that
		// what it quarantines itself (over imap.max_message_size, failing
		// again and again) is counted too, not only intake's outcomes.
		s.watcher = &imapwatch.Watcher{
			Config: cfg.IMAP, Store: store, Logger: logger.With("part", "imap"),
			Ingest: s.intake.IngestRaw, ReadBatch: s.intake.ReadBatch,
			ReconnectMax: deps.reconnectMax,
			OnOutcome: func(outcome string) {
				s.metrics.inc("trigger_messages_ingested_total", "Messages ingested, by outcome.", "outcome", outcome)
			},
			OnError: func(err error) { s.health.failed(casefile.PartIMAP, err, imapToken) },
			OnConnected: func(up bool) {
				if up {
					s.health.working(casefile.PartIMAP)
				}
			},
		}
		if imapToken {
			s.watcher.OAuth = s.mailAuth
		} else {
			s.watcher.Password = sec.IMAPPassword
		}
	default:
		logger.Warn("imap.address is not set: no mailbox is watched (use 'trigger ingest' to add mail)")
	}

	switch {
	case cfg.SendsGraph():
		sender := &mailout.Sender{Config: cfg.SMTP, Store: store, Partnership: cfg.Partnership, Service: cfg, Logger: logger.With("part", "graph"),
			Graph: graphClient, GraphMailbox: cfg.Graph.Mailbox}
		s.mailOut = s.emailOutbox(sender, casefile.PartGraphSend, true)
	case cfg.SMTP.Address != "":
		smtpToken := cfg.SMTP.Auth == casefile.AuthOAuth2
		if !smtpToken && cfg.SMTP.Username != "" && sec.SMTPPassword == "" {
			return nil, errors.New("TRIGGER_SMTP_PASSWORD: not set, but smtp.username is: set the password (or TRIGGER_SMTP_PASSWORD_FILE), or smtp.auth = \"oauth2\"")
		}
		sender := &mailout.Sender{Config: cfg.SMTP, Store: store, Partnership: cfg.Partnership, Service: cfg, Logger: logger.With("part", "smtp")}
		if smtpToken {
			sender.OAuth = s.mailAuth
		} else {
			sender.Password = sec.SMTPPassword
		}
		s.mailOut = s.emailOutbox(sender, casefile.PartSMTP, smtpToken)
	default:
		logger.Warn("smtp.address is not set: emails wait in the outbox until it is")
	}

	if sec.SlackBotToken != "" {
		switch cfg.Slack.Mode {
		case "socket":
			if sec.SlackAppToken == "" {
				return nil, errors.New("TRIGGER_SLACK_APP_TOKEN: not set, but slack.mode is socket: set the app-level (xapp-) token, or use slack.mode = \"http\"")
			}
		case "http":
			if sec.SlackSigningSecret == "" {
				return nil, errors.New("TRIGGER_SLACK_SIGNING_SECRET: not set, but slack.mode is http: Slack's requests cannot be verified without it")
			}
		}
		if len(cfg.Roles.Coordinator) == 0 {
			return nil, errors.New("roles.coordinator: no coordinator is configured: nobody could decide a threshold")
		}
		opts := []slack.Option{slack.OptionAppLevelToken(sec.SlackAppToken), slack.OptionHTTPClient(&http.Client{Timeout: slackCallTimeout})}
		if cfg.Slack.APIURL != "" {
			opts = append(opts, slack.OptionAPIURL(cfg.Slack.APIURL))
		}
		api := slack.New(sec.SlackBotToken, opts...)
		s.bot = bot.New(api, store, cfg, logger.With("part", "slack"))
		s.bot.OnRefusal = func(action string) {
			s.metrics.inc("trigger_slack_refusals_total", "Clicks refused for want of a role, by action.", "action", action)
		}
		s.bot.OnSlackError = func(method, code string) {
			s.metrics.inc("trigger_slack_errors_total", "Failed Slack calls, by method and error code.", "method", method, "code", errorCodeLabel(code))
		}
		s.slackOut = &outbox.Dispatcher{Store: store, Prefix: "slack.", Handler: s.bot, Workers: 4, GiveUpAfter: cfg.Outbox.GiveUpAfter.Duration, Logger: logger.With("part", "outbox")}
		if cfg.Slack.Mode == "http" {
			s.slackHTTP = &bot.HTTPHandler{Bot: s.bot, SigningSecret: sec.SlackSigningSecret}
		}
	} else {
		logger.Warn("TRIGGER_SLACK_BOT_TOKEN is not set: Slack work waits in the outbox until it is")
	}
	if len(cfg.CoordinatorEmails()) == 0 {
		logger.Warn("neither roles.coordinator_email nor partnership.contact_email is set: when Slack fails for good, nobody can be told by email (trigger outbox list --dead shows what ended)")
	}
	store.OnEnqueue = func() {
		if s.slackOut != nil {
			s.slackOut.Wake()
		}
		if s.mailOut != nil {
			s.mailOut.Wake()
		}
	}
	return s, nil
}

// emailOutbox is the dispatcher of the email jobs, sending with sender and
// telling mailHealth how part (smtp, graph_send) goes.
func (s *server) emailOutbox(sender *mailout.Sender, part string, token bool) *outbox.Dispatcher {
	return &outbox.Dispatcher{Store: s.store, Prefix: "email.", Handler: &watchedSender{Handler: sender, health: s.health, part: part, token: token},
		GiveUpAfter: s.cfg.Outbox.GiveUpAfter.Duration, Logger: s.logger.With("part", "outbox"),
		OnError: func(kind string, permanent bool) {
			s.metrics.inc("trigger_smtp_errors_total", "Failed email attempts, by job kind and whether permanent.", "kind", kind, "permanent", fmt.Sprint(permanent))
		}}
}

func (s *server) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		var problems []string
		if err := s.store.Ping(r.Context()); err != nil {
			problems = append(problems, "database: not answering")
		}
		if p := s.health.problem(casefile.PartIMAP); p != "" {
			problems = append(problems, p) // which part is down, and why
		} else if s.watcher != nil && !s.watcher.Connected() {
			problems = append(problems, "imap: not connected")
		}
		if p := s.health.problem(casefile.PartGraphRead); p != "" {
			problems = append(problems, p)
		} else if s.graphWatcher != nil && !s.graphWatcher.Connected() {
			problems = append(problems, casefile.PartGraphRead+": not reading the mailbox yet")
		}
		for _, part := range []string{casefile.PartSMTP, casefile.PartGraphSend} {
			if p := s.health.problem(part); p != "" {
				problems = append(problems, p)
			}
		}
		if s.bot != nil && s.slackHTTP == nil && !s.bot.Connected() {
			problems = append(problems, "slack: socket not connected")
		}
		// Ended jobs degrade readiness without failing it: each is a
		// person's work item (the coordinator was told), not something a
		// restart or a load balancer can fix.
		attention := ""
		if st, err := s.store.OutboxStats(r.Context()); err == nil && st.Dead > 0 {
			attention = outboxAttention(st.Dead)
		}
		// The app not in the digest channel: the digest waits for a person
		// to invite it (like an ended job, not a fault a restart fixes).
		if s.bot != nil {
			if p := s.bot.DigestProblem(); p != "" {
				attention = strings.TrimPrefix(attention+"\nslack: "+p, "\n")
			}
		}
		if len(problems) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			for _, p := range problems {
				fmt.Fprintln(w, p)
			}
			if attention != "" {
				fmt.Fprintln(w, attention)
			}
			return
		}
		io.WriteString(w, "ready\n")
		if attention != "" {
			fmt.Fprintln(w, attention)
		}
	})
	gauges := storeGauges(s.store)
	gauges = append(gauges,
		gauge{"trigger_imap_connected", "1 when the IMAP watcher is connected.", func(context.Context) (float64, error) {
			return boolGauge(s.watcher != nil && s.watcher.Connected()), nil
		}},
		gauge{"trigger_slack_connected", "1 when the Slack socket is connected (always 1 in HTTP mode).", func(context.Context) (float64, error) {
			return boolGauge(s.bot != nil && (s.slackHTTP != nil || s.bot.Connected())), nil
		}},
	)
	if s.graphWatcher != nil {
		gauges = append(gauges, gauge{"trigger_graph_connected", "1 when the last round of reading the mailbox through Microsoft Graph succeeded.", func(context.Context) (float64, error) {
			return boolGauge(s.graphWatcher.Connected()), nil
		}})
	}
	gauges = append(gauges, s.oauthGauges()...)
	mux.Handle("GET /metrics", s.metrics.handler(gauges))
	if s.slackHTTP != nil {
		mux.HandleFunc("POST /slack/events", s.slackHTTP.Events)
		mux.HandleFunc("POST /slack/interactivity", s.slackHTTP.Interactivity)
		mux.HandleFunc("POST /slack/commands", s.slackHTTP.Commands)
	}
	return mux
}

// outboxAttention is /readyz's line about ended outbox jobs.
func outboxAttention(n int) string {
	if n == 1 {
		return "outbox: 1 ended job needs attention (trigger outbox list --dead)"
	}
	return fmt.Sprintf("outbox: %d ended jobs need attention (trigger outbox list --dead)", n)
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// HTTPAddr is the address the HTTP server listens on, once it does.
func (s *server) HTTPAddr() string {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	return s.httpAddr
}

// run runs every part until ctx is cancelled, then stops taking new work,
// lets what is in flight finish, and returns. started, if set, is closed
// once the HTTP server listens.
func (s *server) run(parent context.Context, started chan<- struct{}) error {
	ctx, cancelParts := context.WithCancel(parent)
	defer cancelParts()
	ln, err := net.Listen("tcp", s.cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", s.cfg.HTTP.Listen, err)
	}
	s.addrMu.Lock()
	s.httpAddr = ln.Addr().String()
	s.addrMu.Unlock()
	httpSrv := &http.Server{Handler: s.mux(), ReadHeaderTimeout: 10 * time.Second}
	s.logger.Info("serving", "http", s.httpAddr, "mail_source", s.cfg.Mail.Source, "mail_sender", s.cfg.Mail.Sender,
		"imap", s.watcher != nil, "graph", s.graphWatcher != nil, "email", s.mailOut != nil, "slack", s.bot != nil, "slack_mode", s.cfg.Slack.Mode)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	goPart := func(name string, fn func(context.Context) error) {
		wg.Go(func() {
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				s.logger.Error("part stopped", "part", name, "err", err)
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		})
	}
	wg.Go(func() {
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("http: %w", err)
		}
	})
	if started != nil {
		close(started)
	}
	if s.watcher != nil {
		goPart("imap", s.watcher.Run)
	}
	if s.graphWatcher != nil {
		goPart("graph", s.graphWatcher.Run)
	}
	if s.mailOut != nil {
		goPart("email outbox", s.mailOut.Run)
	}
	if s.slackOut != nil {
		goPart("slack outbox", s.slackOut.Run)
	}
	if s.bot != nil && s.slackHTTP == nil {
		goPart("slack socket", s.bot.RunSocketMode)
	}
	if s.bot != nil {
		goPart("slack background", s.bot.RunBackground)
	}
	goPart("reminders", (&schedule.ReminderScheduler{Store: s.store, Logger: s.logger.With("part", "reminders")}).Run)
	if s.credentialSource() != nil {
		goPart("credential expiry", s.watchCredential)
	}

	var runErr error
	select {
	case <-ctx.Done():
		s.logger.Info("stopping: finishing the work in flight")
	case runErr = <-errs:
	}
	cancelParts()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	httpSrv.Shutdown(shutdownCtx)
	if s.slackHTTP != nil {
		s.slackHTTP.Wait()
	}
	wg.Wait()
	s.logger.Info("stopped")
	return runErr
}
