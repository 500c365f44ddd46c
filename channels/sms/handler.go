package sms

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twilio/twilio-go/twiml"

	"townline/channels/twilio"
	"townline/core"
)

const maxMedia = 10 // Twilio's limit per message

// emptyTwiML tells Twilio to send nothing back: answers go out through the
// job queue, so that none is lost and none doubled.
var emptyTwiML = func() []byte {
	s, err := twiml.Messages(nil)
	if err != nil {
		panic(err)
	}
	return []byte(s)
}()

// Handler serves Twilio's webhooks for the city's number.
type Handler struct {
	core     *core.Core
	verifier *twilio.Verifier
	log      *slog.Logger
}

// NewHandler builds the webhooks. Signatures are checked over
// cfg.PublicURL and the request URI, never over the Host header.
func NewHandler(c *core.Core, cfg Config, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return &Handler{
		core:     c,
		verifier: twilio.NewVerifier(cfg.AuthToken, cfg.PublicURL, "sms", logger),
		log:      logger,
	}
}

// Register adds the inbound message webhook and the status callback.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /twilio/sms", h.inbound)
	mux.HandleFunc("POST /twilio/sms/status", h.status)
}

func (h *Handler) inbound(w http.ResponseWriter, r *http.Request) {
	f, ok := h.verifier.Verify(w, r)
	if !ok {
		return
	}
	in := parseInbound(f)
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second) // Twilio waits 15s
	defer cancel()
	res, err := h.core.Intake(ctx, in)
	// Named before the switch: Go's coverage does not count a case's
	// expression, so mutation testing would call these rules untested.
	failed, gone := err != nil, r.Context().Err() != nil
	var invalid *core.ValidationError
	switch {
	case errors.As(err, &invalid):
		// Logged and dropped, answered as if taken: see refuse.
		h.refuse("inbound message", in.ProviderID, err)
	case errors.Is(err, core.ErrUnavailable):
		h.log.Warn("sms: inbound message not taken: database unavailable", "sid", in.ProviderID, "err", err)
		w.Header().Set("Retry-After", "5")
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	case failed && gone:
		h.clientGone(w, "inbound message", in.ProviderID, err)
		return
	case failed:
		h.log.Error("sms: inbound message failed", "sid", in.ProviderID, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	default:
		h.log.Debug("sms: inbound message", "sid", in.ProviderID, "message", res.MessageID,
			"request", res.RequestID, "duplicate", res.Duplicate, "media", len(in.Media))
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(emptyTwiML)
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	f, ok := h.verifier.Verify(w, r)
	if !ok {
		return
	}
	sid := cmp.Or(f.Get("MessageSid"), f.Get("SmsSid"))
	status := cmp.Or(f.Get("MessageStatus"), f.Get("SmsStatus"))
	receipt, ok, err := twilio.MessageReceipt(sid, strings.ToLower(strings.TrimSpace(status)), f.Get("ErrorCode"))
	if err != nil {
		h.refuse("status callback", sid, err)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if ok {
		err = h.core.RecordDelivery(r.Context(), core.ChannelSMS, receipt)
	}
	if err == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	gone := r.Context().Err() != nil // before the switch, as in inbound
	var invalid *core.ValidationError
	switch {
	case errors.As(err, &invalid):
		h.refuse("status callback", sid, err)
	case errors.Is(err, core.ErrNotFound):
		h.log.Info("sms: status callback for an unknown message", "sid", sid, "status", status)
	case errors.Is(err, core.ErrUnavailable):
		h.log.Warn("sms: status callback not recorded: database unavailable", "sid", sid, "err", err)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	case gone:
		h.clientGone(w, "status callback", sid, err)
		return
	default:
		h.log.Error("sms: status callback failed", "sid", sid, "status", status, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// refuse logs a webhook whose payload can never be taken (core refused it
// as invalid: a NUL byte, text that is not UTF-8, an unknown status). The
// webhook is still answered as taken, 200 with empty TwiML or 204: Twilio
// retries what it sees fail and raises a debugger alert for every error
// answer, and the same payload would be refused every time. Only a
// passing failure (the database away: 503) asks Twilio to try again.
func (h *Handler) refuse(what, sid string, err error) {
	h.log.Warn("sms: "+what+" refused and dropped", "sid", sid, "err", err)
}

// statusClientClosed is the status of a webhook whose caller went away
// before its answer: nginx's 499, recorded in the metrics, never read.
const statusClientClosed = 499

// clientGone answers a webhook Twilio stopped waiting for: whatever failed
// failed for that (its transaction was cancelled, nothing was stored), and
// Twilio retries what it did not see taken. No fault of ours: not an
// error, not a 500.
func (h *Handler) clientGone(w http.ResponseWriter, what, sid string, err error) {
	h.log.Debug("sms: "+what+" abandoned: Twilio went away", "sid", sid, "err", err)
	w.WriteHeader(statusClientClosed)
}

// parseInbound reads Twilio's incoming message parameters.
func parseInbound(f url.Values) core.Inbound {
	in := core.Inbound{
		Channel:    core.ChannelSMS,
		From:       f.Get("From"),
		To:         f.Get("To"),
		Text:       f.Get("Body"),
		ProviderID: cmp.Or(f.Get("MessageSid"), f.Get("SmsSid")),
	}
	n, _ := strconv.Atoi(f.Get("NumMedia"))
	for i := range min(n, maxMedia) {
		if u := f.Get(fmt.Sprintf("MediaUrl%d", i)); u != "" {
			in.Media = append(in.Media, core.Media{URL: u, ContentType: f.Get(fmt.Sprintf("MediaContentType%d", i))})
		}
	}
	in.Lat, in.Lng = location(f.Get("Latitude"), f.Get("Longitude"))
	return in
}

// location reads a shared location, ignoring anything that is not one.
func location(lat, lng string) (*float64, *float64) {
	y, err1 := strconv.ParseFloat(lat, 64)
	x, err2 := strconv.ParseFloat(lng, 64)
	if err1 != nil || err2 != nil || math.IsNaN(x) || math.IsNaN(y) || math.Abs(y) > 90 || math.Abs(x) > 180 {
		return nil, nil
	}
	return &y, &x
}
