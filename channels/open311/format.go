package open311

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"

	"townline/core"
)

// format is the representation a client asked for by the path's extension.
type format int

const (
	formatJSON format = iota
	formatXML
)

func (f format) ext() string {
	if f == formatXML {
		return "xml"
	}
	return "json"
}

func (f format) contentType() string {
	if f == formatXML {
		return "text/xml; charset=utf-8"
	}
	return "application/json; charset=utf-8"
}

// splitFile splits a last path segment such as "pothole.json" into the
// name and its format. ok is false for a missing name or another
// extension; f is then JSON, in which the 404 is written.
func splitFile(file string) (name string, f format, ok bool) {
	i := strings.LastIndexByte(file, '.')
	if i <= 0 { // no extension, or no name before it
		return "", formatJSON, false
	}
	switch file[i+1:] {
	case "json":
		return file[:i], formatJSON, true
	case "xml":
		return file[:i], formatXML, true
	}
	return "", formatJSON, false
}

// xmlHeader is the declaration the spec asks for, lower-case "utf-8" as in
// its examples.
const xmlHeader = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"

// encode renders v: the list types marshal as a bare JSON array and as an
// XML document with the spec's root element.
func encode(f format, v any) ([]byte, error) {
	if f == formatJSON {
		return json.Marshal(v)
	}
	var b bytes.Buffer
	b.WriteString(xmlHeader)
	if err := xml.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// listing is a list of requests written one request at a time, the i-th
// of n made by item(i) only as it is written: a thousand requests never sit
// in memory as one document. It encodes to the very bytes encode gives
// for a requestList[request].
type listing struct {
	n    int
	item func(i int) request
}

// encodeTo writes l in format f to w.
func (l listing) encodeTo(w io.Writer, f format) error {
	if f == formatJSON {
		if _, err := io.WriteString(w, "["); err != nil {
			return err
		}
		for i := range l.n {
			if i > 0 {
				if _, err := io.WriteString(w, ","); err != nil {
					return err
				}
			}
			b, err := json.Marshal(l.item(i))
			if err != nil {
				return err
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "]")
		return err
	}
	if _, err := io.WriteString(w, xmlHeader); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	root := xml.StartElement{Name: xml.Name{Local: "service_requests"}}
	if err := enc.EncodeToken(root); err != nil {
		return err
	}
	item := xml.StartElement{Name: xml.Name{Local: "request"}}
	for i := range l.n {
		// EncodeElement flushes: each request goes out as it is made.
		if err := enc.EncodeElement(l.item(i), item); err != nil {
			return err
		}
	}
	if err := enc.EncodeToken(root.End()); err != nil {
		return err
	}
	return enc.Flush()
}

// digest hashes and counts what is written to it.
type digest struct {
	hash hash.Hash
	n    int64
}

func (d *digest) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	return d.hash.Write(p)
}

// stream writes a listing with its ETag, or 304 Not Modified when the
// client's If-None-Match names it.
//
// The ETag is a hash of the body itself: every field shown (a note added,
// a report counted, the city's department names) changes it, and nothing
// else does, on any instance. It is computed by encoding the listing once
// into the hash, which also gives the Content-Length; the body is then
// encoded again as it is sent. That costs a second encoding (CPU, a few
// milliseconds for 1,000 requests) but no memory, and a 304 costs one
// encoding and no bandwidth. An ETag from the newest updated_at and the
// count would save the encoding but miss changes that do not touch
// updated_at, such as a duplicate counted in reports.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, f format, l listing) {
	d := &digest{hash: sha256.New()}
	if err := l.encodeTo(d, f); err != nil {
		h.writeError(w, r, f, fmt.Errorf("encode %s: %w", f.ext(), err))
		return
	}
	etag := `"` + base64.RawURLEncoding.EncodeToString(d.hash.Sum(nil)[:18]) + `"`
	w.Header().Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", f.contentType())
	w.Header().Set("Content-Length", strconv.FormatInt(d.n, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if err := l.encodeTo(w, f); err != nil {
		// Only writing can fail now (the first pass encoded it all): the
		// client went away or stopped reading until the write deadline.
		h.log.Debug("open311: listing cut short: the client went away", "path", r.URL.Path, "err", err)
	}
}

// etagMatches says whether an If-None-Match header names etag, comparing
// weakly as RFC 9110 asks for If-None-Match.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// respond writes v with status 200, or err in the spec's error format.
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, f format, v any, err error) {
	if err != nil {
		h.writeError(w, r, f, err)
		return
	}
	if l, ok := v.(listing); ok {
		h.stream(w, r, f, l)
		return
	}
	body, err := encode(f, v)
	if err != nil {
		h.writeError(w, r, f, fmt.Errorf("encode %s: %w", f.ext(), err))
		return
	}
	w.Header().Set("Content-Type", f.contentType())
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// specError is one error of the spec's error list.
type specError struct {
	Code        int    `json:"code" xml:"code"`
	Description string `json:"description" xml:"description"`
}

// errorList is <errors><error>… in XML and [{"code":…}] in JSON.
type errorList struct {
	XMLName xml.Name    `xml:"errors"`
	Errors  []specError `xml:"error"`
}

func (l errorList) MarshalJSON() ([]byte, error) { return json.Marshal(l.Errors) }

// unavailable is what a client reads when the database is down: the cause
// is ours and passing, so it should retry rather than change its request.
const unavailable = "the service is temporarily unavailable; try again shortly"

// classify maps an error to the HTTP status and the description a client
// may read. Internal errors get a fixed text: their details stay in the log.
func (h *Handler) classify(err error) (int, string) {
	var he *httpError
	var ve *core.ValidationError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status, he.description
	case errors.As(err, &ve):
		return http.StatusBadRequest, ve.Error()
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("the request is larger than the limit of %d bytes", mbe.Limit)
	case errors.Is(err, core.ErrUnavailable):
		return http.StatusServiceUnavailable, unavailable
	case errors.Is(err, core.ErrNotFound):
		return http.StatusNotFound, "not found"
	}
	return http.StatusInternalServerError, "internal error"
}

// statusClientClosed is the status of a request whose client went away
// before its answer: nginx's 499, recorded in the metrics, never read.
const statusClientClosed = 499

// errBusy refuses a listing past the cap on listings served at once.
var errBusy = &httpError{http.StatusServiceUnavailable, "too many listings are being served; try again in a moment"}

// writeError writes err as the spec's error list and returns what it sent.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, f format, err error) (int, string) {
	if r.Context().Err() != nil {
		// The client went away, and whatever failed failed for that (a
		// query cancelled): no one reads an answer, and it is no fault of
		// ours.
		h.log.Debug("open311: the client went away", "method", r.Method, "path", r.URL.Path, "err", err)
		w.WriteHeader(statusClientClosed)
		return statusClientClosed, "the client went away"
	}
	status, desc := h.classify(err)
	switch {
	case status == http.StatusInternalServerError:
		h.log.Error("open311 request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case errors.Is(err, errBusy):
		// Listings take tens of milliseconds: a slot is soon free.
		w.Header().Set("Retry-After", "2")
	case status == http.StatusServiceUnavailable:
		h.log.Warn("open311 request failed: database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
	}
	body, encErr := encode(f, errorList{Errors: []specError{{Code: status, Description: desc}}})
	if encErr != nil {
		// Cannot happen for two plain fields; still never send half a body.
		h.log.Error("open311: encode error response", "err", encErr)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return http.StatusInternalServerError, "internal error"
	}
	w.Header().Set("Content-Type", f.contentType())
	w.WriteHeader(status)
	w.Write(body)
	return status, desc
}
