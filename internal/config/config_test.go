package config

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func load(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	for _, v := range vars {
		t.Setenv(v.env, "")
		os.Unsetenv(v.env)
		os.Unsetenv(v.env + "_FILE")
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f, err := Register(fs)
	if err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return f.Config()
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.PublicURL != "http://127.0.0.1:8080" || c.Data != "./data" || c.Blobs != "postgres" ||
		c.MaxUpload != 10<<20 || c.TextRate != 1 || c.MailRate != 10 || c.TwilioAPIURL != "https://api.twilio.com" || c.DatabaseURL != "" || c.TrustedProxies != nil {
		t.Errorf("defaults = %+v", c)
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	c, err := load(t, map[string]string{"TOWNLINE_ADDR": "127.0.0.1:9000"}, "--addr", "0.0.0.0:80", "--public-url", "https://311.example.gov/")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:80" || c.PublicURL != "https://311.example.gov" {
		t.Errorf("addr %q public %q", c.Addr, c.PublicURL)
	}
}

func TestSecretFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	os.WriteFile(path, []byte("s3cret\n"), 0o600)
	c, err := load(t, map[string]string{"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN_FILE": path, "TWILIO_FROM": "+15305550100"})
	if err != nil {
		t.Fatal(err)
	}
	if c.TwilioAuthToken != "s3cret" {
		t.Errorf("token = %q", c.TwilioAuthToken)
	}
}

func TestValidateSaysWhatIsWrong(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"TOWNLINE_ADDR": "nonsense"}, "TOWNLINE_ADDR"},
		{map[string]string{"TOWNLINE_PUBLIC_URL": "ftp://x"}, "TOWNLINE_PUBLIC_URL"},
		{map[string]string{"TOWNLINE_MAX_UPLOAD": "lots"}, "TOWNLINE_MAX_UPLOAD"},
		{map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL"},
		{map[string]string{"TWILIO_ACCOUNT_SID": "AC1"}, "TWILIO_AUTH_TOKEN"},
		{map[string]string{"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "x"}, "TWILIO_FROM"},
		{map[string]string{"IMAP_URL": "imaps://u:p@h/INBOX"}, "SMTP_URL"},
		{map[string]string{"TOWNLINE_LOG_LEVEL": "loud"}, "TOWNLINE_LOG_LEVEL"},
		{map[string]string{"TOWNLINE_LOG_FORMAT": "xml"}, "TOWNLINE_LOG_FORMAT"},
		{map[string]string{"TOWNLINE_TRUSTED_PROXIES": "10.0.0.0/8,balancer"}, `TOWNLINE_TRUSTED_PROXIES: "balancer" is not an address`},
		{map[string]string{"TOWNLINE_TEXT_RATE": "0"}, "TOWNLINE_TEXT_RATE must be a number of messages a second"},
		{map[string]string{"TOWNLINE_MAIL_RATE": "fast"}, "TOWNLINE_MAIL_RATE must be a number of messages a second"},
		{map[string]string{"TOWNLINE_BLOBS": "/var/photos"}, "TOWNLINE_BLOBS must be postgres or s3://bucket/prefix"},
		{map[string]string{"TOWNLINE_BLOBS": "s3://photos", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}, "TOWNLINE_S3_ENDPOINT"},
		{map[string]string{"TOWNLINE_BLOBS": "s3://photos", "TOWNLINE_S3_ENDPOINT": "http://127.0.0.1:8333"}, "AWS_SECRET_ACCESS_KEY"},
	}
	for _, tc := range cases {
		_, err := load(t, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want it to name %s", tc.env, err, tc.want)
		}
	}
}

func TestHelpNeverPrintsSecrets(t *testing.T) {
	t.Setenv("TWILIO_AUTH_TOKEN", "s3cret-token")
	t.Setenv("DATABASE_URL", "postgres://u:db-password@127.0.0.1/x")
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var help strings.Builder
	fs.SetOutput(&help)
	f, err := Register(fs)
	if err != nil {
		t.Fatal(err)
	}
	fs.PrintDefaults()
	if strings.Contains(help.String(), "s3cret-token") || strings.Contains(help.String(), "db-password") {
		t.Errorf("--help shows a secret:\n%s", help.String())
	}
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	c, err := f.Config()
	if err == nil {
		t.Fatalf("config without TWILIO_ACCOUNT_SID accepted a token alone: %+v", c)
	}
	t.Setenv("TWILIO_ACCOUNT_SID", "AC1")
	t.Setenv("TWILIO_FROM", "+15305550100")
	if c, err = f.Config(); err != nil || c.TwilioAuthToken != "s3cret-token" {
		t.Errorf("token from the environment = %q, %v", c.TwilioAuthToken, err)
	}
}

func TestMetricsAddr(t *testing.T) {
	c, err := load(t, nil)
	if err != nil || c.MetricsAddr != "" {
		t.Fatalf("default: %q, %v; want empty (on the main listener)", c.MetricsAddr, err)
	}
	c, err = load(t, map[string]string{"TOWNLINE_METRICS_ADDR": "127.0.0.1:9090"})
	if err != nil || c.MetricsAddr != "127.0.0.1:9090" {
		t.Errorf("from the environment: %q, %v", c.MetricsAddr, err)
	}
	c, err = load(t, map[string]string{"TOWNLINE_METRICS_ADDR": "127.0.0.1:9090"}, "--metrics-addr", "10.0.0.5:9100")
	if err != nil || c.MetricsAddr != "10.0.0.5:9100" {
		t.Errorf("flag over the environment: %q, %v", c.MetricsAddr, err)
	}
	for _, bad := range []map[string]string{
		{"TOWNLINE_METRICS_ADDR": "nonsense"},
		{"TOWNLINE_ADDR": "127.0.0.1:8080", "TOWNLINE_METRICS_ADDR": "127.0.0.1:8080"},
	} {
		if _, err := load(t, bad); err == nil || !strings.Contains(err.Error(), "TOWNLINE_METRICS_ADDR") {
			t.Errorf("%v: err = %v, want it to name TOWNLINE_METRICS_ADDR", bad, err)
		}
	}
}

// The load balancers are addresses or networks, by commas or spaces.
func TestTrustedProxies(t *testing.T) {
	c, err := load(t, map[string]string{"TOWNLINE_TRUSTED_PROXIES": "10.1.2.3/8, 192.168.1.5 fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(c.TrustedProxies); got != "[10.0.0.0/8 192.168.1.5/32 fd00::/8]" {
		t.Errorf("trusted proxies: %s", got)
	}
}
