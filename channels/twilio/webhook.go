package twilio

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/twilio/twilio-go/client"
)

const maxWebhookBody = 64 << 10 // Twilio's SMS and voice webhooks are a few KB

// Verifier checks the signature Twilio puts on its webhooks. Signatures
// are checked over the public URL and the request URI, never over the Host
// header.
type Verifier struct {
	validator client.RequestValidator
	public    string
	name      string
	log       *slog.Logger
}

// NewVerifier checks webhooks signed with authToken and posted to
// publicURL (TOWNLINE_PUBLIC_URL). name begins the log lines ("sms").
func NewVerifier(authToken, publicURL, name string, logger *slog.Logger) *Verifier {
	if logger == nil {
		logger = slog.Default()
	}
	return &Verifier{
		validator: client.NewRequestValidator(authToken),
		public:    strings.TrimRight(publicURL, "/"),
		name:      name,
		log:       logger,
	}
}

// Verify reads the form and checks X-Twilio-Signature over the public URL
// of the request and every POST parameter. On failure it has answered.
func (v *Verifier) Verify(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxWebhookBody)
	if err := r.ParseForm(); err != nil {
		v.log.Warn(v.name+": unreadable webhook", "remote", r.RemoteAddr, "path", r.URL.Path, "err", err)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "bad request", http.StatusBadRequest)
		}
		return nil, false
	}
	sig := r.Header.Get("X-Twilio-Signature")
	params := make(map[string]string, len(r.PostForm))
	for k, vs := range r.PostForm {
		if len(vs) != 1 {
			sig = "" // Twilio never repeats a parameter; the validator checks one value each
		}
		params[k] = vs[0]
	}
	if sig == "" || !v.validator.Validate(v.public+r.URL.RequestURI(), params, sig) {
		v.log.Warn(v.name+": webhook with a missing or bad Twilio signature", "remote", r.RemoteAddr, "path", r.URL.Path)
		http.Error(w, "forbidden", http.StatusForbidden)
		return nil, false
	}
	return r.PostForm, true
}

// PublicBase checks publicURL (TOWNLINE_PUBLIC_URL), the base of the
// webhook and callback URLs Twilio signs, and returns it without a
// trailing slash.
func PublicBase(publicURL string) (string, error) {
	pub, err := url.Parse(publicURL)
	if err != nil || pub.Scheme == "" || pub.Host == "" {
		return "", fmt.Errorf("public URL %q is not an absolute URL", publicURL)
	}
	return strings.TrimRight(publicURL, "/"), nil
}
