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
		key := und[0].String()
		if env, ok := secretKeys[key]; ok {
			return casefile.Errorf(casefile.EINVALID, "%s: a secret is never read from the file: set %s (or %s_FILE) in the environment", key, env, env)
		}
		return casefile.Errorf(casefile.EINVALID, "%s: unknown key", key)
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

// Secret is one secret: the environment variable it comes from (or the
// file that variable with _FILE names) and where it goes in the
// configuration.
type Secret struct {
	Env   string
	Value *string
}

// Secrets lists c's secrets with their variables, in the order README
// gives them: what Load reads and `config check` shows, masked.
func Secrets(c *casefile.Config) []Secret {
	return []Secret{
		{"TRIGGER_SLACK_BOT_TOKEN", &c.Secrets.SlackBotToken},
		{"TRIGGER_SLACK_APP_TOKEN", &c.Secrets.SlackAppToken},
		{"TRIGGER_SLACK_SIGNING_SECRET", &c.Secrets.SlackSigningSecret},
		{"TRIGGER_IMAP_PASSWORD", &c.Secrets.IMAPPassword},
		{"TRIGGER_SMTP_PASSWORD", &c.Secrets.SMTPPassword},
		{"TRIGGER_OAUTH2_CLIENT_SECRET", &c.Secrets.OAuth2ClientSecret},
		{"TRIGGER_OAUTH2_CERTIFICATE", &c.Secrets.OAuth2Certificate},
		{"TRIGGER_OAUTH2_SERVICE_ACCOUNT", &c.Secrets.OAuth2ServiceAccount},
	}
}

// secretKeys are keys people put secrets under in the file, by mistake,
// and the variable the secret belongs in.
var secretKeys = map[string]string{
	"imap.password":          "TRIGGER_IMAP_PASSWORD",
	"smtp.password":          "TRIGGER_SMTP_PASSWORD",
	"oauth2.client_secret":   "TRIGGER_OAUTH2_CLIENT_SECRET",
	"oauth2.certificate":     "TRIGGER_OAUTH2_CERTIFICATE",
	"oauth2.service_account": "TRIGGER_OAUTH2_SERVICE_ACCOUNT",
	"slack.bot_token":        "TRIGGER_SLACK_BOT_TOKEN",
	"slack.app_token":        "TRIGGER_SLACK_APP_TOKEN",
	"slack.signing_secret":   "TRIGGER_SLACK_SIGNING_SECRET",
}

func readSecrets(c *casefile.Config, getenv func(string) string) error {
	for _, s := range Secrets(c) {
		if v := getenv(s.Env); v != "" {
			*s.Value = v
			continue
		}
		if f := getenv(s.Env + "_FILE"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("%s_FILE: cannot read the secret file: %w", s.Env, err)
			}
			*s.Value = strings.TrimSpace(string(b))
		}
	}
	return nil
}
