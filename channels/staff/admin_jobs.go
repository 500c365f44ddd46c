package staff

import (
	"net/http"
	"strings"

	"riverqueue.com/riverui"
)

// jobsPolicy is the Content-Security-Policy of River UI under /staff/jobs:
// its own scripts, styles and API, from this server only. Its stylesheet
// draws checkboxes with inline SVG (data: images), which cannot run, and
// its notices ("job retried") style themselves inline: styles cannot run
// script, and what the jobs hold (message and request numbers) is shown
// as text by React.
const jobsPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// jobs serves River UI, where admins see the job queue — a delivery stuck
// or failed, with its errors — and retry or cancel jobs.
//
// Its background services are not started: they refresh job counts on a
// timer for every instance, whether or not anyone looks. Unstarted, River
// UI counts on each request (exactly when small, estimated when large).
func (h *Handler) jobs() http.HandlerFunc {
	ui, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(h.core.JobClient(), nil),
		Logger:    h.log.With("component", "riverui"),
		Prefix:    "/staff/jobs",
	})
	if err != nil {
		h.log.Error("staff: the job dashboard cannot start", "err", err)
		return func(w http.ResponseWriter, r *http.Request) { h.fail(w, r, err) }
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", jobsPolicy)
		if strings.HasPrefix(r.URL.Path, "/staff/jobs/assets/") {
			// Named by their content's hash: a new River UI, new names.
			w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
		}
		ui.ServeHTTP(w, r)
	}
}
