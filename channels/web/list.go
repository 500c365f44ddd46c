package web

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"townline/core"
	"townline/templates"
)

// The public list of recent requests, filtered by service, status and
// district, a page at a time, and the same as an Atom feed.

const listPage = 50

// listPage is /requests: the filters, a page of requests, and the link
// to the next.
type listView struct {
	page
	Query     url.Values
	Districts []core.District
	Older     string // the next page's query, or ""
}

// recent reads the filters of a list or feed and the requests they
// select, newest first: at most n, requested before ?before.
func (h *Handler) recent(r *http.Request, n int) (url.Values, []core.Request, string, error) {
	q := r.URL.Query()
	f := core.Filter{Limit: n + 1}
	if s := q.Get("service"); s != "" {
		f.ServiceCodes = []string{s}
	}
	switch q.Get("status") {
	case "open":
		f.Open = true
	case "closed":
		f.Closed = true
	}
	if t, err := time.Parse(time.RFC3339Nano, q.Get("before")); err == nil {
		t = t.Add(-time.Microsecond) // strictly before: the end is inclusive
		f.End = &t
	}
	if _, ok := h.core.City().District(q.Get("district")); ok {
		f.District = q.Get("district")
	}
	reqs, err := h.core.Requests(r.Context(), f)
	if err != nil {
		return q, nil, "", err
	}
	older := ""
	if len(reqs) > n {
		reqs = reqs[:n]
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("before", reqs[n-1].RequestedAt.UTC().Format(time.RFC3339Nano))
		older = next.Encode()
	}
	return q, reqs, older, nil
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	q, reqs, older, err := h.recent(r, listPage)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := listView{page: h.newPage(w, r), Query: q, Districts: h.core.City().Districts, Older: older}
	p.Requests, p.Services = reqs, h.core.City().Services
	h.renderAny(w, r, http.StatusOK, "list", p)
}

// The Atom feed (RFC 4287) of the same requests.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Link    []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
}

type atomEntry struct {
	Title   string   `xml:"title"`
	ID      string   `xml:"id"`
	Updated string   `xml:"updated"`
	Link    atomLink `xml:"link"`
	Summary string   `xml:"summary"`
}

// writeFeed writes an Atom feed; a failure to is a log line only.
func (h *Handler) writeFeed(w http.ResponseWriter, feed atomFeed) {
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Write([]byte(xml.Header))
	if err := xml.NewEncoder(w).Encode(feed); err != nil { // a log line's condition: its mutants survive
		h.log.Warn("feed not written whole", "err", err)
	}
}

func (h *Handler) feed(w http.ResponseWriter, r *http.Request) {
	q, reqs, _, err := h.recent(r, listPage)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lang, city := language(w, r), h.core.City()
	title := city.Name + " 311"
	if s, ok := city.Service(q.Get("service")); ok {
		title += ": " + s.NameIn(lang)
	}
	query := "?" + q.Encode()
	self := h.core.PublicURL("feeds", "requests.atom") + query
	feed := atomFeed{Title: title, ID: self, Updated: time.Now().UTC().Format(time.RFC3339),
		Link: []atomLink{{Href: h.core.PublicURL("requests") + query}, {Href: self, Rel: "self"}}}
	for _, req := range reqs {
		name := cmp.Or(city.ServiceName(req.ServiceCode, req.ServiceName, lang), templates.Word(lang, "Unclassified"))
		summary := templates.Word(lang, statusWords[req.Status])
		if a := req.PublicAddress(); a != "" {
			summary += " · " + a
		}
		page := h.core.PublicURL("requests", strconv.FormatInt(req.ID, 10))
		feed.Entries = append(feed.Entries, atomEntry{Title: fmt.Sprintf("#%d %s", req.ID, name), ID: page,
			Updated: req.UpdatedAt.UTC().Format(time.RFC3339), Link: atomLink{Href: page}, Summary: summary})
	}
	h.writeFeed(w, feed)
}
