package mailauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Login signs a person in with Microsoft's device code flow (`trigger mail
// login`): it writes to out the page to open and the code to enter, waits
// while they sign in on any device, and saves the refresh token in
// o.Store. From then on a Source with the same configuration and store
// renews tokens by itself.
func Login(ctx context.Context, cfg Config, o Options, out io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Provider != Microsoft || cfg.flow() != DeviceCode {
		return fmt.Errorf("mailauth: login is for provider %q with flow %q (the configuration has %q, %q)", Microsoft, DeviceCode, cfg.Provider, cfg.flow())
	}
	if o.Store == nil {
		return errors.New("mailauth: login needs a TokenStore for the refresh token")
	}
	o.defaults()
	tokenURL, deviceURL := cfg.Endpoint()
	scopes := cfg.scopes(o.Protocols)
	fail := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err() // interrupted
		}
		return translate("device login", cfg.Provider, err)
	}

	da, err := deviceAuthorize(ctx, o.HTTPClient, deviceURL, url.Values{
		"client_id": {cfg.ClientID},
		"scope":     {strings.Join(scopes, " ")},
	})
	if err != nil {
		return fail(err)
	}
	start := o.Now()
	deadline := start.Add(time.Duration(da.ExpiresIn) * time.Second)
	if da.ExpiresIn <= 0 {
		deadline = start.Add(15 * time.Minute)
	}
	fmt.Fprintf(out, "To sign in, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	fmt.Fprintf(out, "Waiting for the sign-in (the code expires at %s) …\n", deadline.Format("15:04"))

	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second // RFC 8628 §3.2
	}
	form := url.Values{
		"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
		"client_id":   {cfg.ClientID},
		"device_code": {da.DeviceCode},
	}
	for {
		if err := o.pollWait(ctx, interval); err != nil {
			return err
		}
		if !o.Now().Before(deadline) {
			return &Error{Op: "device login", Provider: cfg.Provider, Code: CodeDeviceCodeExpired,
				Advice: "The code was not entered in time. Run `trigger mail login` again."}
		}
		t, err := postToken(ctx, o.HTTPClient, tokenURL, form)
		var re *oauth2.RetrieveError
		switch {
		case err == nil:
			if t.RefreshToken == "" {
				return &Error{Op: "device login", Provider: cfg.Provider, Code: CodeInvalidScope,
					Advice: "Microsoft gave no refresh token: the scopes must include offline_access (leave oauth2.scopes empty for the defaults)."}
			}
			if err := o.Store.Save(ctx, t.RefreshToken); err != nil {
				return &Error{Op: "device login", Provider: cfg.Provider, Code: CodeStore, Err: err,
					Advice: "Signed in, but the refresh token could not be stored in the database: run `trigger mail login` again."}
			}
			fmt.Fprintln(out, "Signed in. The service renews its access from now on.")
			return nil
		case errors.As(err, &re) && re.ErrorCode == "authorization_pending":
		case errors.As(err, &re) && re.ErrorCode == "slow_down":
			interval += 5 * time.Second // RFC 8628 §3.5
		default:
			return fail(err)
		}
	}
}

// deviceAuth is the device authorization response (RFC 8628 §3.2).
type deviceAuth struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	VerificationURL string `json:"verification_url"` // Google's older spelling
	ExpiresIn       int64  `json:"expires_in"`
	Interval        int64  `json:"interval"`
}

func deviceAuthorize(ctx context.Context, hc *http.Client, deviceURL string, form url.Values) (*deviceAuth, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, deviceURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &oauth2.RetrieveError{Response: resp, Body: body}
	}
	var da deviceAuth
	if err := json.Unmarshal(body, &da); err != nil {
		return nil, fmt.Errorf("the device authorization answer does not parse: %w", err)
	}
	if da.VerificationURI == "" {
		da.VerificationURI = da.VerificationURL
	}
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		return nil, errors.New("the device authorization answer lacks device_code, user_code or verification_uri")
	}
	return &da, nil
}
