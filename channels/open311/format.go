package open311

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
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
	name, ext, found := cutLast(file, ".")
	if !found || name == "" {
		return "", formatJSON, false
	}
	switch ext {
	case "json":
		return name, formatJSON, true
	case "xml":
		return name, formatXML, true
	}
	return "", formatJSON, false
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// xmlHeader is the declaration the spec asks for, lower-case "utf-8" as in
// its examples.
const xmlHeader = `<?xml version="1.0" encoding="utf-8"?>` + "\n"

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

// respond writes v with status 200, or err in the spec's error format.
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, f format, v any, err error) {
	if err != nil {
		h.writeError(w, r, f, err)
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
	case errors.Is(err, core.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("media: the photo is larger than the limit of %d bytes", h.core.Blobs().Max())
	case errors.Is(err, core.ErrUnavailable):
		return http.StatusServiceUnavailable, unavailable
	case errors.Is(err, core.ErrNotFound):
		return http.StatusNotFound, "not found"
	}
	return http.StatusInternalServerError, "internal error"
}

// writeError writes err as the spec's error list and returns what it sent.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, f format, err error) (int, string) {
	status, desc := h.classify(err)
	switch status {
	case http.StatusInternalServerError:
		h.log.Error("open311 request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case http.StatusServiceUnavailable:
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
