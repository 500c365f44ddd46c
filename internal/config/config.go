// Package config reads townline's settings from the environment, with
// command-line flags of the same meaning taking precedence.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of townline.
type Config struct {
	DatabaseURL string // empty: a private cluster under Data/pg
	Addr        string
	MetricsAddr string // empty: /metrics on Addr
	PublicURL   string
	Data        string
	City        string // city file; empty: the bundled Oroville example
	MaxUpload   int64
	// Blobs is where photos and files are kept: postgres, or
	// s3://bucket/prefix on the S3-compatible server at S3Endpoint.
	Blobs                    string
	S3Endpoint               string
	S3AccessKey, S3SecretKey string
	// RescueAfter is how long a job may look running before it is taken
	// to have died with its instance and run again.
	RescueAfter time.Duration
	// TextRate and MailRate are how many texts and mails a second an
	// emergency notice goes out at.
	TextRate, MailRate float64
	// TrustedProxies are the load balancers in front of townline, whose
	// X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix

	TwilioAccountSID string
	TwilioAuthToken  string
	TwilioFrom       string
	TwilioAPIURL     string
	StaffPhone       string // where "0 for a person" rings during office hours

	IMAPURL   string
	SMTPURL   string
	EmailFrom string

	MapTiles string // a tile URL template ({z}/{x}/{y}); empty: maps without tiles
	// GeocoderURL is a Nominatim server or the US Census Geocoder, asked
	// for what the city's own layers do not place; empty: none.
	GeocoderURL string

	LogFormat string // text or json
	LogLevel  slog.Level
}

// vars documents every environment variable, in the order --help lists them.
var vars = []struct{ env, flag, usage, def string }{
	{"DATABASE_URL", "database-url", "PostgreSQL URL (empty: a private cluster under $TOWNLINE_DATA/pg)", ""},
	{"TOWNLINE_ADDR", "addr", "listen address", "127.0.0.1:8080"},
	{"TOWNLINE_METRICS_ADDR", "metrics-addr", "a listen address of its own for /metrics (empty: on the main listener)", ""},
	{"TOWNLINE_PUBLIC_URL", "public-url", "URL the outside world and Twilio use (default http:// + addr)", ""},
	{"TOWNLINE_DATA", "data", "data folder: the private cluster", "./data"},
	{"TOWNLINE_CITY", "city", "city file (empty: the bundled Oroville example)", ""},
	{"TOWNLINE_MAX_UPLOAD", "max-upload", "largest photo or request body accepted, in bytes", "10485760"},
	{"TOWNLINE_BLOBS", "blobs", "where photos and files are kept: postgres, or s3://bucket/prefix", "postgres"},
	{"TOWNLINE_S3_ENDPOINT", "s3-endpoint", "the S3-compatible server's URL, e.g. https://s3.us-west-2.amazonaws.com", ""},
	{"AWS_ACCESS_KEY_ID", "s3-access-key", "the S3 access key", ""},
	{"AWS_SECRET_ACCESS_KEY", "s3-secret-key", "the S3 secret key", ""},
	{"TOWNLINE_RESCUE_AFTER", "rescue-after", "how long a job may look running before it is run again (after a crash)", "3m"},
	{"TOWNLINE_TRUSTED_PROXIES", "trusted-proxies", "the load balancers' addresses or networks, comma-separated (10.0.0.0/8): a request from one comes from the client its X-Forwarded-For names", ""},
	{"TOWNLINE_TEXT_RATE", "text-rate", "texts a second an emergency notice goes out at (a long code: 1; a Messaging Service: more)", "1"},
	{"TOWNLINE_MAIL_RATE", "mail-rate", "mails a second an emergency notice goes out at", "10"},
	{"TWILIO_ACCOUNT_SID", "twilio-account-sid", "Twilio account SID (empty: SMS and voice off)", ""},
	{"TWILIO_AUTH_TOKEN", "twilio-auth-token", "Twilio auth token", ""},
	{"TWILIO_FROM", "twilio-from", "sending number (E.164) or Messaging Service SID", ""},
	{"TWILIO_API_URL", "twilio-api-url", "Twilio REST base URL", "https://api.twilio.com"},
	{"TOWNLINE_MAP_TILES", "map-tiles", "map tile URL template, {z}/{x}/{y} (empty: maps show no tiles)", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"},
	{"GEOCODER_URL", "geocoder-url", "a Nominatim server or the US Census Geocoder, for addresses the city's own layers do not know (empty: none)", ""},
	{"TOWNLINE_STAFF_PHONE", "staff-phone", "number callers reach with 0 during office hours (empty: they leave a message)", ""},
	{"IMAP_URL", "imap-url", "imaps://user:pass@host:993/INBOX (empty: email off)", ""},
	{"SMTP_URL", "smtp-url", "smtp://user:pass@host:587", ""},
	{"EMAIL_FROM", "email-from", "address mail is sent from, e.g. 311@city.example", ""},
	{"TOWNLINE_LOG_FORMAT", "log-format", "text or json", "text"},
	{"TOWNLINE_LOG_LEVEL", "log-level", "debug, info, warn or error", "info"},
}

// Flags are the settings registered on a flag set.
type Flags struct {
	fs   *flag.FlagSet
	vals map[string]*string
}

// Register registers the settings on fs. Parse fs, then call Config: a
// flag given wins over the environment (and NAME_FILE, for secrets kept in
// files), which wins over the default. The environment is not read here,
// so --help never prints a password or token.
func Register(fs *flag.FlagSet) (*Flags, error) {
	vals := map[string]*string{}
	for _, v := range vars {
		vals[v.env] = fs.String(v.flag, v.def, v.usage+" ($"+v.env+")")
	}
	return &Flags{fs: fs, vals: vals}, nil
}

func lookup(env, def string) (string, error) {
	if path := os.Getenv(env + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", env, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if v, ok := os.LookupEnv(env); ok {
		return v, nil
	}
	return def, nil
}

// Config turns parsed flags and the environment into a validated Config.
func (f *Flags) Config() (*Config, error) {
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	for _, v := range vars {
		if given[v.flag] {
			continue
		}
		val, err := lookup(v.env, v.def)
		if err != nil {
			return nil, err
		}
		*f.vals[v.env] = val
	}
	get := func(env string) string { return strings.TrimSpace(*f.vals[env]) }
	c := &Config{
		DatabaseURL:      get("DATABASE_URL"),
		Addr:             get("TOWNLINE_ADDR"),
		MetricsAddr:      get("TOWNLINE_METRICS_ADDR"),
		PublicURL:        strings.TrimRight(get("TOWNLINE_PUBLIC_URL"), "/"),
		Data:             get("TOWNLINE_DATA"),
		City:             get("TOWNLINE_CITY"),
		Blobs:            get("TOWNLINE_BLOBS"),
		S3Endpoint:       get("TOWNLINE_S3_ENDPOINT"),
		S3AccessKey:      get("AWS_ACCESS_KEY_ID"),
		S3SecretKey:      get("AWS_SECRET_ACCESS_KEY"),
		TwilioAccountSID: get("TWILIO_ACCOUNT_SID"),
		TwilioAuthToken:  get("TWILIO_AUTH_TOKEN"),
		TwilioFrom:       get("TWILIO_FROM"),
		TwilioAPIURL:     strings.TrimRight(get("TWILIO_API_URL"), "/"),
		StaffPhone:       get("TOWNLINE_STAFF_PHONE"),
		IMAPURL:          get("IMAP_URL"),
		SMTPURL:          get("SMTP_URL"),
		EmailFrom:        get("EMAIL_FROM"),
		MapTiles:         get("TOWNLINE_MAP_TILES"),
		GeocoderURL:      get("GEOCODER_URL"),
		LogFormat:        get("TOWNLINE_LOG_FORMAT"),
	}
	var errs []error
	if n, err := strconv.ParseInt(get("TOWNLINE_MAX_UPLOAD"), 10, 64); err != nil || n < 1024 {
		errs = append(errs, fmt.Errorf("TOWNLINE_MAX_UPLOAD must be a number of bytes, at least 1024 (got %q)", get("TOWNLINE_MAX_UPLOAD")))
	} else {
		c.MaxUpload = n
	}
	if d, err := time.ParseDuration(get("TOWNLINE_RESCUE_AFTER")); err != nil || d < 5*time.Second {
		errs = append(errs, fmt.Errorf("TOWNLINE_RESCUE_AFTER must be a duration of at least 5s, such as 3m (got %q)", get("TOWNLINE_RESCUE_AFTER")))
	} else {
		c.RescueAfter = d
	}
	for _, p := range strings.FieldsFunc(get("TOWNLINE_TRUSTED_PROXIES"), func(r rune) bool { return r == ',' || r == ' ' }) {
		prefix, err := netip.ParsePrefix(p)
		if a, aerr := netip.ParseAddr(p); aerr == nil {
			prefix, err = a.Unmap().Prefix(a.Unmap().BitLen())
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("TOWNLINE_TRUSTED_PROXIES: %q is not an address or a network such as 10.0.0.0/8", p))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix.Masked())
	}
	for _, r := range []struct {
		env  string
		rate *float64
	}{{"TOWNLINE_TEXT_RATE", &c.TextRate}, {"TOWNLINE_MAIL_RATE", &c.MailRate}} {
		if f, err := strconv.ParseFloat(get(r.env), 64); err != nil || !(f > 0 && f <= 10000) {
			errs = append(errs, fmt.Errorf("%s must be a number of messages a second, above 0 and at most 10000 (got %q)", r.env, get(r.env)))
		} else {
			*r.rate = f
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("TOWNLINE_LOG_LEVEL"))); err != nil {
		errs = append(errs, fmt.Errorf("TOWNLINE_LOG_LEVEL must be debug, info, warn or error (got %q)", get("TOWNLINE_LOG_LEVEL")))
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	errs = append(errs, c.validate()...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func (c *Config) validate() []error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("TOWNLINE_ADDR %q is not host:port", c.Addr))
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("TOWNLINE_METRICS_ADDR %q is not host:port", c.MetricsAddr))
		} else if c.MetricsAddr == c.Addr && port != "0" {
			errs = append(errs, fmt.Errorf("TOWNLINE_METRICS_ADDR must differ from TOWNLINE_ADDR (%s), or be empty to serve /metrics there", c.Addr))
		}
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("TOWNLINE_PUBLIC_URL %q is not an http(s) URL", c.PublicURL))
	}
	if c.Data == "" {
		errs = append(errs, errors.New("TOWNLINE_DATA must name a folder"))
	}
	if c.MapTiles != "" {
		u, err := url.Parse(strings.ReplaceAll(c.MapTiles, "{s}", "a"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			!strings.Contains(c.MapTiles, "{z}") || !strings.Contains(c.MapTiles, "{x}") || !strings.Contains(c.MapTiles, "{y}") {
			errs = append(errs, fmt.Errorf("TOWNLINE_MAP_TILES %q is not an http(s) URL with {z}, {x} and {y}", c.MapTiles))
		}
	}
	if u, err := url.Parse(c.Blobs); c.Blobs != "postgres" && (err != nil || u.Scheme != "s3" || u.Host == "") {
		errs = append(errs, fmt.Errorf("TOWNLINE_BLOBS must be postgres or s3://bucket/prefix (got %q)", c.Blobs))
	} else if c.Blobs != "postgres" {
		if u, err := url.Parse(c.S3Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("with TOWNLINE_BLOBS=%s, TOWNLINE_S3_ENDPOINT must be the server's http(s) URL (got %q)", c.Blobs, c.S3Endpoint))
		}
		if c.S3AccessKey == "" || c.S3SecretKey == "" {
			errs = append(errs, fmt.Errorf("with TOWNLINE_BLOBS=%s, set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", c.Blobs))
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("TOWNLINE_LOG_FORMAT must be text or json (got %q)", c.LogFormat))
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			errs = append(errs, errors.New("DATABASE_URL must be a postgres:// URL"))
		}
	}
	if (c.TwilioAccountSID == "") != (c.TwilioAuthToken == "") {
		errs = append(errs, errors.New("set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or neither"))
	}
	if c.TwilioAccountSID != "" && c.TwilioFrom == "" {
		errs = append(errs, errors.New("TWILIO_FROM is needed to send texts: a number in E.164 (+15305550100) or a Messaging Service SID (MG...)"))
	}
	if c.IMAPURL != "" && (c.SMTPURL == "" || c.EmailFrom == "") {
		errs = append(errs, errors.New("with IMAP_URL set, also set SMTP_URL and EMAIL_FROM so that residents get answers"))
	}
	return errs
}

// Logger builds the process's logger.
func (c *Config) Logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
