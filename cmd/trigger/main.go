// Command trigger runs the Community Trigger (ASB Case Review) service:
// intake of applications by email, the case record, the Slack workflow and
// the partnership's response. See README.md.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
)

func main() {
	// A soft limit on the Go heap keeps a large email (25 MB) from costing
	// several times its size while garbage waits for the collector; it
	// never makes an allocation fail. GOMEMLIMIT overrides it.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(64 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	os.Exit(m.Run(ctx, os.Args[1:]))
}

// Main holds the process's standard streams and environment, so that tests
// run the real command wiring with their own.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string

	// Tests only: the OAuth emulator's URL instead of Microsoft's and
	// Google's endpoints, and the TLS settings `mail check` uses (to trust
	// a test certificate).
	oauthBaseURL string
	mailTLS      *tls.Config
}

// Exit statuses: the contract scripts and systemd rely on.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// usageError marks an error caused by how the command was called; it exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// command is one subcommand. Its name may have several words ("case show").
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, m *Main, g *globals, args []string) error
}

var commands = map[string]command{}

// register adds a subcommand; each subcommand's file registers itself.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("duplicate command " + c.name)
	}
	commands[c.name] = c
}

// Run parses the global flags, finds the subcommand and runs it, returning
// the exit status.
func (m *Main) Run(ctx context.Context, args []string) int {
	if m.Getenv == nil {
		m.Getenv = func(string) string { return "" }
	}
	g, rest, err := parseGlobals(m, args)
	if err == nil {
		err = m.dispatch(ctx, g, rest)
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	default:
		fmt.Fprintf(m.Stderr, "trigger: %v\n", err)
		var ue *usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitFail
	}
}

var errHelp = errors.New("help shown")

func (m *Main) dispatch(ctx context.Context, g *globals, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		m.printUsage()
		if len(args) == 0 {
			return usagef("no command given")
		}
		return errHelp
	}
	// The longest registered name that prefixes the arguments wins.
	for n := min(3, len(args)); n > 0; n-- {
		if c, ok := commands[strings.Join(args[:n], " ")]; ok {
			return c.run(ctx, m, g, args[n:])
		}
	}
	return usagef("unknown command %q (run 'trigger help')", strings.Join(args[:min(2, len(args))], " "))
}

func (m *Main) printUsage() {
	fmt.Fprintln(m.Stdout, "usage: trigger [--config FILE] [--db FILE] COMMAND [ARGS]")
	fmt.Fprintln(m.Stdout, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(m.Stdout, "  %-28s %s\n", n, commands[n].summary)
	}
}
