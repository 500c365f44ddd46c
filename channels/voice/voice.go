// Package voice is the phone channel on Twilio Voice: the phone menu that
// callers walk with the keypad and their voice, the recordings and
// transcripts it takes, and the daytime calls that bring callers their
// updates. It translates only: what a report is and who hears what lives
// in core, and every word spoken lives in templates/voice.
//
// A call is a chain of webhooks, one per answer. What the caller said so
// far is kept in the database by CallSid (core's channel state), so that
// any instance can take the next webhook, before or after a restart; how
// many times a question went unanswered travels in the URL Twilio posts
// back, so a redelivered webhook finds things as they were.
package voice

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"townline/channels/twilio"
	"townline/core"
)

// Config is the Twilio account, where townline is reached, and the menu's
// own settings.
type Config struct {
	AccountSID, AuthToken string
	From                  string // the city's number (E.164): the caller ID of update calls
	APIURL                string // https://api.twilio.com, or a fake on loopback
	PublicURL             string // TOWNLINE_PUBLIC_URL: the base of the webhook URLs Twilio signs
	// StaffNumber, when set, is rung during office hours for a caller who
	// asks for a person; otherwise they leave a message.
	StaffNumber string
	// Now tells the time for office hours; nil is time.Now.
	Now func() time.Time
}

const stepTimeout = 10 * time.Second

// Handler serves Twilio's voice webhooks for the city's number.
type Handler struct {
	core     *core.Core
	cfg      Config
	verifier *twilio.Verifier
	public   string
	log      *slog.Logger
	steps    map[string]step
}

// step answers one webhook of a call: a method of turn.
type step func(*turn, context.Context) error

// NewHandler builds the phone menu. Signatures are checked over
// cfg.PublicURL and the request URI, never over the Host header.
func NewHandler(c *core.Core, cfg Config, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{
		core:     c,
		cfg:      cfg,
		verifier: twilio.NewVerifier(cfg.AuthToken, cfg.PublicURL, "voice", logger),
		public:   strings.TrimRight(cfg.PublicURL, "/"),
		log:      logger,
	}
	h.steps = map[string]step{
		"":          (*turn).start,
		"menu":      (*turn).menu,
		"lost":      (*turn).lost,
		"next":      (*turn).next,
		"goodbye":   (*turn).goodbye,
		"kind":      (*turn).kind,
		"describe":  (*turn).describe,
		"where":     (*turn).where,
		"confirm":   (*turn).confirm,
		"recorded":  (*turn).recorded,
		"texts":     (*turn).texts,
		"same":      (*turn).same,
		"lookup":    (*turn).lookup,
		"dialed":    (*turn).dialed,
		"voicemail": (*turn).voicemail,
	}
	return h
}

// Register adds the call webhook, its later steps, the transcription and
// call status callbacks, and the update calls' replay.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /twilio/voice", h.serveStep)
	mux.HandleFunc("POST /twilio/voice/{step...}", h.serveStep)
	mux.HandleFunc("POST /twilio/voice/status", h.status)
	mux.HandleFunc("POST /twilio/voice/transcript", h.transcript)
	mux.HandleFunc("POST /twilio/voice/replay", h.replay)
}

// serveStep answers a webhook of the menu with TwiML. Even on failure
// Twilio gets a spoken apology rather than an error code, which it would
// read to the caller as "an application error has occurred".
func (h *Handler) serveStep(w http.ResponseWriter, r *http.Request) {
	f, ok := h.verifier.Verify(w, r)
	if !ok {
		return
	}
	name := r.PathValue("step")
	st, known := h.steps[name]
	if !known {
		// A URL of an older version, during a deploy: start over politely.
		h.log.Warn("voice: unknown step; back to the main menu", "step", name, "call", f.Get("CallSid"))
		st = (*turn).restart
	}
	ctx, cancel := context.WithTimeout(r.Context(), stepTimeout)
	defer cancel()
	t, err := h.begin(ctx, name, f, r.URL.Query())
	if err == nil {
		err = st(t, ctx)
	}
	if err == nil && (t.changed || t.forget) {
		err = h.save(ctx, t)
	}
	if err != nil {
		// A chain of ifs, not a switch: Go's coverage does not count a
		// case's expression, so mutation testing would call it untested.
		var invalid *core.ValidationError
		if errors.As(err, &invalid) {
			// Core refused what Twilio sent (a NUL byte, text that is not
			// UTF-8): logged, and the caller hears the apology below, a
			// 200 like any other answer, so Twilio does not retry a
			// webhook that would be refused every time.
			h.log.Warn("voice: step refused", "step", name, "call", f.Get("CallSid"), "err", err)
		} else if r.Context().Err() != nil {
			// Twilio hung up on us first: nothing was saved, it will retry.
			h.log.Debug("voice: step abandoned: the caller's webhook went away", "step", name, "call", f.Get("CallSid"), "err", err)
		} else {
			h.log.Error("voice: step failed", "step", name, "call", f.Get("CallSid"), "err", err)
		}
		t.r = reply{lang: t.call.Lang}
		t.r.say("trouble", nil)
		t.r.hangup()
	}
	h.write(w, &t.r, name)
}

// write sends TwiML; a prompt that failed to render is a bug, logged, and
// the caller hears the apology.
func (h *Handler) write(w http.ResponseWriter, r *reply, step string) {
	doc, err := r.xml()
	if err != nil {
		h.log.Error("voice: cannot build the answer", "step", step, "err", err)
		fallback := reply{lang: r.lang}
		fallback.say("trouble", nil)
		fallback.hangup()
		if doc, err = fallback.xml(); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(doc)
}

// url is the absolute URL of a step, with its query.
func (h *Handler) url(step string, q url.Values) string {
	u := h.public + "/twilio/voice/" + step
	// > 0 and not >= 0 only keeps a bare "?" off the URL: Twilio posts to
	// the URL as given, and the signature covers it alike (an equivalent
	// mutant).
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}
