// Package open311 serves the city's requests over the Open311 GeoReport v2
// API (http://wiki.open311.org/GeoReport_v2), in JSON and XML, so that any
// GeoReport client can list services, file requests and follow them.
//
// The responses are the plain spec: strict clients never see a field they
// do not know. Every request listing also accepts extensions=true, which
// adds an extended_attributes element to each request:
//
//	detailed_status    where the request stands, finer than open/closed:
//	                   NEW, ACKNOWLEDGED, IN_PROGRESS, or CLOSED_RESOLVED,
//	                   CLOSED_DUPLICATE, CLOSED_REFERRED, CLOSED_NO_ACTION
//	                   (plain CLOSED if a closed request has no reason)
//	channel            how it was reported: sms, voice, email, web, open311
//	department         the code of the department handling it ("" in triage)
//	reports            how many reports this issue gathers, itself included
//	duplicate_of       the id of the request it duplicates, or null
//	expected_datetime  when the city aims to respond, if it has said
//	notes              the public notes: datetime, the detailed_status at
//	                   that moment, and description
//
// POST requests accepts application/x-www-form-urlencoded and, for photos,
// multipart/form-data: every file part is a photo, whatever its name (the
// common "media" extension, FixMyStreet's photo1, photo2...), up to ten,
// together within the upload limit; a file that is no photo is refused.
//
// An attribute[CODE] the service does not define (a client's own question,
// such as FixMyStreet's fixmystreet_id) is kept for staff and never
// published; a bad value of one it defines refuses the request.
//
// mySociety's servicerequestupdates extension, which FixMyStreet uses to
// follow requests and to send its users' comments, is served in both
// formats too (updates.go):
//
//	GET servicerequestupdates   with api_key, start_date and end_date (a
//	                            day up to now without them): every public
//	                            change of every request in the window, a
//	                            <request_update> each under
//	                            <service_requests_updates>, with update_id
//	                            (the history entry's number), status (open,
//	                            investigating, in_progress, fixed,
//	                            duplicate, not_councils_responsibility,
//	                            no_further_action, or closed),
//	                            updated_datetime, description (the public
//	                            note, masked) and external_status_code (the
//	                            detailed_status above)
//	POST servicerequestupdates  a resident's comment (service_request_id,
//	                            update_id, updated_datetime, status,
//	                            description, names, email, phone,
//	                            media_url), stored once per client and
//	                            update_id as a message staff read on the
//	                            request; its status is recorded for staff,
//	                            not applied (but for the reporter's own
//	                            "open" on their closed request, which
//	                            reopens it where the city file says
//	                            reopen_on_comment); the answer's update_id
//	                            is "c" and the message's number
//
// No response ever carries who reported a request: name, email, phone,
// device id and account id are accepted on POST and kept for staff only.
package open311

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"townline/core"
)

// fieldSlack is room, on top of the largest photo, for the form fields of
// a POST: a request body over maxBody+fieldSlack is refused unread.
const fieldSlack = 64 << 10

// maxListings is how many request listings are served at once. Each
// holds up to maxResults requests and a database connection while it is
// read and written; eight take tens of megabytes at most and leave most of
// the pool to filings, and serve hundreds of listings a second.
const maxListings = 8

// Handler serves the Open311 endpoints of one core.
type Handler struct {
	core     *core.Core
	log      *slog.Logger
	maxBody  int64
	now      func() time.Time
	listings chan struct{} // a slot per listing being served
}

// New returns a Handler. maxBody is the largest photo a POST may carry.
func New(c *core.Core, logger *slog.Logger, maxBody int64) *Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return &Handler{core: c, log: logger.With("channel", "open311"), maxBody: maxBody, now: time.Now,
		listings: make(chan struct{}, maxListings)}
}

// Register adds every Open311 route to mux. ServeMux wildcards match whole
// path segments only, so the ".json"/".xml" forms are registered as exact
// paths, and the per-item ones split their extension themselves.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, f := range []format{formatJSON, formatXML} {
		mux.Handle("GET /open311/discovery."+f.ext(), h.get(f, h.discovery))
		mux.Handle("GET /open311/v2/services."+f.ext(), h.get(f, h.services))
		mux.Handle("GET /open311/v2/requests."+f.ext(), h.limit(f, h.get(f, h.requests)))
		mux.Handle("POST /open311/v2/requests."+f.ext(), h.post(f))
		mux.Handle("GET /open311/v2/servicerequestupdates."+f.ext(), h.limit(f, h.get(f, h.updates)))
		mux.Handle("POST /open311/v2/servicerequestupdates."+f.ext(), h.postUpdate(f))
	}
	mux.Handle("GET /open311/v2/services/{file}", h.getFile(h.serviceDefinition))
	mux.Handle("GET /open311/v2/requests/{file}", h.getFile(h.request))
	mux.Handle("GET /open311/v2/tokens/{file}", h.getFile(h.token))
	// Anything else under /open311/ still answers in the spec's format, so
	// a client's error handling works on a wrong path too.
	mux.HandleFunc("/open311/", func(w http.ResponseWriter, r *http.Request) {
		f := formatJSON
		if strings.HasSuffix(r.URL.Path, ".xml") {
			f = formatXML
		}
		h.respond(w, r, f, nil, notFound("no such Open311 endpoint: %s %s", r.Method, r.URL.Path))
	})
}

// limit serves next to maxListings clients at once. Past that a client is
// told to come back (503 with Retry-After) rather than queued: under a
// flood a queue only grows, and a client told when to return may try
// another instance meanwhile.
func (h *Handler) limit(f format, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case h.listings <- struct{}{}:
			defer func() { <-h.listings }()
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Access-Control-Allow-Origin", "*")
			h.writeError(w, r, f, errBusy)
		}
	})
}

// action answers a GET with the value to encode. arg is the item named in
// the path (a service code, a request id, a token), or "" for lists.
type action func(r *http.Request, arg string) (any, error)

// get serves a GET endpoint in one format.
func (h *Handler) get(f format, a action) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Everything here is public data: any web page may read it.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		var v any
		err := h.checkJurisdiction(r.URL.Query().Get("jurisdiction_id"))
		if err == nil {
			v, err = a(r, "")
		}
		h.respond(w, r, f, v, err)
	})
}

// getFile serves a GET endpoint whose last segment is NAME.json or NAME.xml.
func (h *Handler) getFile(a action) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		arg, f, ok := splitFile(r.PathValue("file"))
		if !ok {
			h.respond(w, r, f, nil, notFound("%q is not a resource here: add .json or .xml", r.PathValue("file")))
			return
		}
		var v any
		err := h.checkJurisdiction(r.URL.Query().Get("jurisdiction_id"))
		if err == nil {
			v, err = a(r, arg)
		}
		h.respond(w, r, f, v, err)
	})
}

// checkJurisdiction refuses a jurisdiction_id other than the city's: a
// client that names another city must not get (or file) this one's data.
func (h *Handler) checkJurisdiction(id string) error {
	city := h.core.City()
	if id != "" && id != city.JurisdictionID {
		return notFound("jurisdiction_id: %q is not served here; this is %s (%s)", id, city.Name, city.JurisdictionID)
	}
	return nil
}

// location is the city's time zone, in which every datetime is written.
func (h *Handler) location() *time.Location {
	if loc := h.core.City().Location; loc != nil {
		return loc
	}
	return time.UTC
}

// httpError is an error with the HTTP status and the description to send.
type httpError struct {
	status      int
	description string
}

func (e *httpError) Error() string { return e.description }

func notFound(format string, args ...any) error {
	return &httpError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}
