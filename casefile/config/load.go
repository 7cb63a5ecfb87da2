// Package config loads the service's configuration: the TOML file over the
// built-in defaults, then the secrets from the environment (or the files it
// names), validated so that every error names its key.
package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/csp/trigger/casefile"
)

// Load reads the TOML file at path over the defaults ("" means no
// file), then the secrets from getenv, and validates the result. Every error
// names the key it is about.
func Load(path string, getenv func(string) string) (*casefile.Config, error) {
	cfg := casefile.DefaultConfig()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := parse(&cfg, b); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := readSecrets(&cfg, getenv); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		if path != "" {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	return &cfg, nil
}

func parse(c *casefile.Config, b []byte) error {
	defAgencies := c.Agencies
	c.Agencies = nil
	md, err := toml.Decode(string(b), c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return casefile.Errorf(casefile.EINVALID, "%s (line %d): %s", pe.LastKey, pe.Position.Line, pe.Message)
			}
			return casefile.Errorf(casefile.EINVALID, "line %d: %s", pe.Position.Line, pe.Message)
		}
		return casefile.Errorf(casefile.EINVALID, "%s", strings.TrimPrefix(err.Error(), "toml: "))
	}
	if und := md.Undecoded(); len(und) > 0 {
		return casefile.Errorf(casefile.EINVALID, "%s: unknown key", und[0].String())
	}
	if !md.IsDefined("agency") {
		c.Agencies = defAgencies
	}
	// [partnership] further_review_body is review_outcome's older name:
	// either may be set, both only if they agree.
	oldSet, newSet := md.IsDefined("partnership", "further_review_body"), md.IsDefined("further_review", "review_outcome")
	switch {
	case oldSet && newSet && c.Partnership.FurtherReviewBody != c.FurtherReview.ReviewOutcome:
		return casefile.Errorf(casefile.EINVALID, "further_review.review_outcome: partnership.further_review_body (its older name) says otherwise: keep one of them")
	case oldSet && !newSet:
		c.FurtherReview.ReviewOutcome = c.Partnership.FurtherReviewBody
	}
	return nil
}

func readSecrets(c *casefile.Config, getenv func(string) string) error {
	for _, s := range []struct {
		env string
		dst *string
	}{
		{"TRIGGER_SLACK_BOT_TOKEN", &c.Secrets.SlackBotToken},
		{"TRIGGER_SLACK_APP_TOKEN", &c.Secrets.SlackAppToken},
		{"TRIGGER_SLACK_SIGNING_SECRET", &c.Secrets.SlackSigningSecret},
		{"TRIGGER_IMAP_PASSWORD", &c.Secrets.IMAPPassword},
		{"TRIGGER_SMTP_PASSWORD", &c.Secrets.SMTPPassword},
	} {
		if v := getenv(s.env); v != "" {
			*s.dst = v
			continue
		}
		if f := getenv(s.env + "_FILE"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("%s_FILE: cannot read the secret file: %w", s.env, err)
			}
			*s.dst = strings.TrimSpace(string(b))
		}
	}
	return nil
}
