package open311

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"townline/core"
)

// errForbidden is the one answer for a missing, unknown or revoked key, so
// that a caller cannot tell which.
var errForbidden = &httpError{http.StatusForbidden, "api_key is missing or invalid"}

// postReply is what a client gets back for a new request. account_id is
// always null: accounts are not exposed through the API.
type postReply struct {
	ID            string  `json:"service_request_id" xml:"service_request_id"`
	Token         string  `json:"token" xml:"token"`
	ServiceNotice string  `json:"service_notice" xml:"service_notice"`
	AccountID     *string `json:"account_id" xml:"-"`
	AccountIDXML  string  `json:"-" xml:"account_id"` // an empty element, as in the spec's example
}

// post serves POST requests in format f, logging every refusal so that an
// integrator's mistakes can be traced from the server side.
func (h *Handler) post(f format) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := &postParse{h: h}
		defer p.cleanup()
		reply, err := h.createRequest(r.Context(), w, r, p)
		if err != nil {
			status, desc := h.writeError(w, r, f, err)
			if status < http.StatusInternalServerError && status != statusClientClosed {
				h.log.Info("open311 request refused", "client", p.client, "status", status, "reason", desc)
			}
			return
		}
		h.respond(w, r, f, requestList[postReply]{Requests: []postReply{reply}}, nil)
	})
}

func (h *Handler) createRequest(ctx context.Context, w http.ResponseWriter, r *http.Request, p *postParse) (postReply, error) {
	limit := h.maxBody + fieldSlack
	if r.ContentLength > limit {
		return postReply{}, &httpError{http.StatusRequestEntityTooLarge,
			fmt.Sprintf("the request is %d bytes; the limit is %d", r.ContentLength, limit)}
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := p.parse(ctx, r); err != nil {
		return postReply{}, err
	}
	if err := p.authenticate(ctx); err != nil {
		return postReply{}, err
	}
	if err := h.checkJurisdiction(p.form.Get("jurisdiction_id")); err != nil {
		return postReply{}, err
	}
	in, err := p.newRequest()
	if err != nil {
		return postReply{}, err
	}
	for i := range p.photos {
		if err := p.store(&p.photos[i]); err != nil {
			return postReply{}, err
		}
		in.Photos = append(in.Photos, p.photos[i].upload)
	}
	req, err := h.core.CreateRequest(ctx, in)
	if err != nil {
		return postReply{}, err
	}
	h.log.Info("open311 request created", "client", p.client, "id", req.ID, "service", req.ServiceCode)
	return postReply{
		ID:            strconv.FormatInt(req.ID, 10),
		Token:         req.Token,
		ServiceNotice: h.notice(req),
	}, nil
}

// Limits on a multipart POST: the form fields are read into memory (the
// photos never are), and the photos together fit in the body's limit.
const (
	maxField  = 32 << 10   // one field
	maxFields = fieldSlack // all of them together
	maxPhotos = 10         // as many as an MMS carries
)

// postParse holds a POST's parameters while they are read, and its photos.
type postParse struct {
	h      *Handler
	form   url.Values
	client string // the API client's name once its key checked out
	photos []postPhoto
}

// postPhoto is a file part: stored once the client is known, held back in
// a temporary file until then.
type postPhoto struct {
	part   string // the form name ("media", FixMyStreet's "photo1"...): what errors name
	upload core.Upload
	spool  *os.File
}

// parse reads the query string and the body, form-encoded or multipart.
func (p *postParse) parse(ctx context.Context, r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mediaType := ""
	if ct != "" {
		var err error
		if mediaType, _, err = mime.ParseMediaType(ct); err != nil {
			return badRequest("Content-Type %q is malformed", ct)
		}
	}
	switch mediaType {
	case "multipart/form-data":
		return p.parseMultipart(ctx, r)
	case "application/x-www-form-urlencoded", "":
		// Without a Content-Type, everything is in the query string.
		if err := r.ParseForm(); err != nil {
			return formError(err)
		}
		p.form = r.Form
		return nil
	}
	return &httpError{http.StatusUnsupportedMediaType,
		fmt.Sprintf("Content-Type %s is not supported: send application/x-www-form-urlencoded or multipart/form-data", mediaType)}
}

// formError keeps an over-limit body an over-limit body (413), and calls
// everything else a malformed form.
func formError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return badRequest("the form is malformed: %v", err)
}

// parseMultipart reads the parts one by one. The photo is streamed to
// disk, never held in memory; the key is checked as soon as it is read, so
// a bad key stops the upload there.
func (p *postParse) parseMultipart(ctx context.Context, r *http.Request) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return badRequest("the multipart form is malformed: %v", err)
	}
	p.form = maps.Clone(r.URL.Query())
	if p.form.Get("api_key") != "" {
		if err := p.authenticate(ctx); err != nil {
			return err
		}
	}
	var fieldBytes int64
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return formError(err)
		}
		name := part.FormName()
		switch {
		case name == "media" || part.FileName() != "":
			// Any file, under any name: FixMyStreet sends photo1,
			// photo2... Nothing accepted is dropped.
			err = p.readPhoto(part, name)
		default:
			var v string
			v, err = readField(part, name, maxFields-fieldBytes)
			fieldBytes += int64(len(v))
			if err == nil {
				p.form.Add(name, v)
			}
			if err == nil && name == "api_key" && p.client == "" {
				err = p.authenticate(ctx)
			}
		}
		part.Close()
		if err != nil {
			return err
		}
	}
}

// readField reads one small form field, refusing one over maxField or over
// what is left of the fields' total.
func readField(part *multipart.Part, name string, left int64) (string, error) {
	limit := min(int64(maxField), left)
	b, err := io.ReadAll(io.LimitReader(part, limit+1))
	if err != nil {
		return "", formError(err)
	}
	if int64(len(b)) > limit {
		return "", &httpError{http.StatusRequestEntityTooLarge,
			fmt.Sprintf("%s: the form fields are over the limit of %d bytes (%d in all)", name, maxField, maxFields)}
	}
	return string(b), nil
}

// readPhoto takes a file part: into the blob store when the client is
// known, else into a temporary file until it is.
func (p *postParse) readPhoto(part *multipart.Part, name string) error {
	// A browser sends an empty file part when no file was chosen.
	body := bufio.NewReader(part)
	if _, err := body.Peek(1); err == io.EOF {
		return nil
	}
	if len(p.photos) == maxPhotos {
		return badRequest("%s: at most %d photos per request", name, maxPhotos)
	}
	p.photos = append(p.photos, postPhoto{part: name, upload: core.Upload{Filename: core.CleanFilename(part.FileName())}})
	ph := &p.photos[len(p.photos)-1]
	if p.client != "" {
		return p.put(ph, body)
	}
	f, err := os.CreateTemp("", "townline-open311-*")
	if err != nil {
		return err
	}
	ph.spool = f
	max := p.h.core.Blobs().Max()
	n, err := io.Copy(f, io.LimitReader(body, max+1))
	if err != nil {
		return formError(err)
	}
	if n > max {
		return photoTooLarge(ph.part, max)
	}
	return nil
}

// store keeps a photo held back until the key was checked: strangers
// cannot fill the disk.
func (p *postParse) store(ph *postPhoto) error {
	if ph.spool == nil {
		return nil // stored as it was read
	}
	if _, err := ph.spool.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return p.put(ph, ph.spool)
}

// put stores a photo's content; core checks that it is one, naming its
// part.
func (p *postParse) put(ph *postPhoto, r io.Reader) error {
	blob, err := p.h.core.Blobs().Put(r)
	if errors.Is(err, core.ErrTooLarge) {
		return photoTooLarge(ph.part, p.h.core.Blobs().Max())
	}
	if err != nil {
		return err
	}
	ph.upload.Blob, ph.upload.Field = blob, ph.part
	return nil
}

func photoTooLarge(part string, max int64) error {
	return &httpError{http.StatusRequestEntityTooLarge,
		fmt.Sprintf("%s: the photo is larger than the limit of %d bytes", part, max)}
}

func (p *postParse) cleanup() {
	for _, ph := range p.photos {
		if ph.spool != nil {
			ph.spool.Close()
			os.Remove(ph.spool.Name())
		}
	}
}

// authenticate checks the api_key parameter once.
func (p *postParse) authenticate(ctx context.Context) error {
	if p.client != "" {
		return nil
	}
	key := p.form.Get("api_key")
	// The length only spares the database a long string: no key is 200
	// characters, so ">= 200" refuses the same keys (an equivalent mutant).
	if key == "" || len(key) > 200 {
		return errForbidden
	}
	client, err := p.h.core.CheckAPIKey(ctx, key)
	if errors.Is(err, core.ErrNotFound) {
		return errForbidden
	}
	if err != nil {
		return err
	}
	p.client = client
	return nil
}

// newRequest turns the parameters into core's NewRequest. core validates
// the content; here only what is Open311's own: numbers, the attribute[]
// syntax, and that some location is given.
func (p *postParse) newRequest() (core.NewRequest, error) {
	form := p.form
	in := core.NewRequest{
		Channel:     core.ChannelOpen311,
		ServiceCode: form.Get("service_code"),
		Description: form.Get("description"),
		Address:     strings.TrimSpace(form.Get("address_string")),
		AddressID:   strings.TrimSpace(form.Get("address_id")),
		Zipcode:     strings.TrimSpace(form.Get("zipcode")),
		MediaURL:    strings.TrimSpace(form.Get("media_url")),
		Reporter: core.Reporter{
			Name:      strings.TrimSpace(form.Get("first_name") + " " + form.Get("last_name")),
			Email:     strings.TrimSpace(form.Get("email")),
			Phone:     strings.TrimSpace(form.Get("phone")),
			DeviceID:  strings.TrimSpace(form.Get("device_id")),
			AccountID: strings.TrimSpace(form.Get("account_id")),
		},
		Actor: "open311:" + p.client,
	}
	var err error
	if in.Lat, err = parseNumber("lat", form.Get("lat")); err != nil {
		return in, err
	}
	if in.Lng, err = parseNumber("long", form.Get("long")); err != nil {
		return in, err
	}
	if in.Attributes, err = parseAttributes(form); err != nil {
		return in, err
	}
	// Only for a known service: an unknown one is the better message, and
	// core gives it.
	if _, ok := p.h.core.City().Service(in.ServiceCode); ok &&
		in.Lat == nil && in.Lng == nil && in.Address == "" && in.AddressID == "" {
		return in, badRequest("location: give lat and long, address_string or address_id")
	}
	return in, nil
}

// parseNumber reads a coordinate strictly: a decimal number or nothing.
// ParseFloat alone would also take "NaN", "Inf" and hexadecimal.
func parseNumber(name, v string) (*float64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || strings.Trim(v, "0123456789.+-eE") != "" || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, badRequest("%s: %q is not a number", name, v)
	}
	return &f, nil
}

// parseAttributes collects attribute[CODE]=v and attribute[CODE][]=v (a
// multivaluelist) into code -> values.
func parseAttributes(form url.Values) (map[string][]string, error) {
	attrs := map[string][]string{}
	for key, vals := range form {
		rest, ok := strings.CutPrefix(key, "attribute[")
		if !ok {
			continue
		}
		code, tail, ok := strings.Cut(rest, "]")
		if !ok || code == "" || (tail != "" && tail != "[]") {
			return nil, badRequest("%s: write attributes as attribute[CODE] or attribute[CODE][]", key)
		}
		attrs[code] = append(attrs[code], vals...)
	}
	return attrs, nil
}
