package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/config"
	"github.com/csp/trigger/casefile/sqlite"
)

// globals are the flags every subcommand understands, wherever they stand
// on the command line.
type globals struct {
	configPath string // "" means no file: built-in defaults
	dbPath     string
	dbFromFlag bool

	cfg *casefile.Config
}

// parseGlobals takes --config and --db (also --config=FILE) out of args and
// resolves them against the environment and the defaults.
func parseGlobals(m *Main, args []string) (*globals, []string, error) {
	g := &globals{}
	var rest []string
	configSet := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || (name != "config" && name != "db") {
			rest = append(rest, a)
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, nil, usagef("--%s needs a file name", name)
			}
			i++
			val = args[i]
		}
		if name == "config" {
			g.configPath, configSet = val, true
		} else {
			g.dbPath, g.dbFromFlag = val, true
		}
	}
	if !configSet {
		if v := m.Getenv("TRIGGER_CONFIG"); v != "" {
			g.configPath = v
		} else if _, err := os.Stat("trigger.toml"); err == nil {
			g.configPath = "trigger.toml"
		}
	}
	if !g.dbFromFlag {
		g.dbPath = m.Getenv("TRIGGER_DB")
	}
	return g, rest, nil
}

// config loads and validates the configuration once.
func (g *globals) config(m *Main) (*casefile.Config, error) {
	if g.cfg != nil {
		return g.cfg, nil
	}
	cfg, err := config.Load(g.configPath, m.Getenv)
	if err != nil {
		return nil, err
	}
	if err := checkOAuth(cfg); err != nil {
		if g.configPath != "" {
			return nil, fmt.Errorf("config %s: %w", g.configPath, err)
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	if g.dbPath != "" {
		cfg.Database.Path = g.dbPath
	}
	g.cfg = cfg
	return cfg, nil
}

// openStore opens the database the flags, environment or config name.
func (g *globals) openStore(m *Main) (*sqlite.Store, error) {
	cfg, err := g.config(m)
	if err != nil {
		return nil, err
	}
	s, err := sqlite.Open(cfg.Database.Path, cfg)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", cfg.Database.Path, err)
	}
	return s, nil
}

// withStore runs fn with the store open and closes it after.
func (g *globals) withStore(m *Main, fn func(s *sqlite.Store) error) error {
	s, err := g.openStore(m)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s)
}

// domainError turns a coded domain error into what the CLI says: invalid
// input is a usage error (exit 2), the rest a failure (exit 1).
func domainError(err error) error {
	if err == nil {
		return nil
	}
	var ce *casefile.Error
	if errors.As(err, &ce) && ce.Code == casefile.EINVALID {
		return &usageError{msg: ce.Message}
	}
	return err
}
