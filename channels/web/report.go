package web

import (
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"

	"townline/core"
	"townline/internal/reportform"
	"townline/templates"
)

// Report on the web: a resident, signed in or not, files a request at
// /report through the same form the front desk uses, and lands on its
// tracking page.

// reportPage is the /report form: as typed, what is wrong with it, and
// the open requests nearby it may repeat.
type reportPage struct {
	page
	Form           url.Values
	Problems       map[string]string
	Maybe          []core.Nearby
	MapLat, MapLng float64
	Static, Link   string
	ReplyWays      []replyWay
}

type replyWay struct {
	Channel core.Channel
	Label   string
}

var replyWays = []replyWay{
	{core.ChannelEmail, "By email"},
	{core.ChannelSMS, "By text message"},
	{core.ReplyNone, "No updates: I will follow the page"},
}

func (h *Handler) reportForm(w http.ResponseWriter, r *http.Request) {
	h.showReport(w, r, http.StatusOK, url.Values{"reply_by": {string(core.ChannelEmail)}}, nil, nil)
}

func (h *Handler) showReport(w http.ResponseWriter, r *http.Request, status int, form url.Values, problems map[string]string, maybe []core.Nearby) {
	p := reportPage{page: h.newPage(w, r), Form: form, Problems: problems, Maybe: maybe,
		Static: "/static/", Link: "/requests/", ReplyWays: replyWays}
	p.Services = h.core.City().Services
	if b := h.core.City().Boundary; b != nil {
		c := b.Bound().Center()
		p.MapLat, p.MapLng = c.Lat(), c.Lon()
	}
	h.renderAny(w, r, status, "report", p)
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request) {
	ok, err := h.core.Allow(r.Context(), "report", clientAddr(r), reportsPerHour)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !ok {
		w.Header().Set("Retry-After", "3600")
		p := h.newPage(w, r)
		p.Title, p.Message = "Too many reports", fmt.Sprintf(
			"This connection sent more than %d reports in an hour. Please try again later, or call the city.", reportsPerHour)
		h.render(w, r, http.StatusTooManyRequests, "error", p)
		return
	}
	f, err := reportform.Read(w, r, h.core)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	form, in := f.Values, &f.Request
	in.Channel, in.Actor = core.ChannelWeb, "web"
	in.Reporter = core.Reporter{Name: form.Get("name"), Email: form.Get("email"), Phone: form.Get("phone"),
		ReplyBy: core.Channel(form.Get("reply_by"))}
	if in.Reporter.Email == "" && in.Reporter.Phone == "" && in.Reporter.ReplyBy != core.ReplyNone {
		in.Reporter.ReplyBy = "" // a guest who gave nothing hears nothing, and follows the page
	}
	f.Refused(h.core.CheckReporter(in.Reporter))
	switch {
	case len(f.Problems) > 0:
		h.showReport(w, r, http.StatusBadRequest, form, f.Problems, nil)
		return
	case len(f.Maybe) > 0:
		h.showReport(w, r, http.StatusOK, form, nil, f.Maybe)
		return
	}
	req, err := h.core.CreateRequest(r.Context(), *in)
	switch {
	case f.Refused(err):
		h.showReport(w, r, http.StatusBadRequest, form, f.Problems, nil)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/requests/%d?filed=1", req.ID), http.StatusSeeOther)
}

// reportsPerHour is how many reports one address may send in an hour:
// a family or an office shares one; a flood is refused.
const reportsPerHour = 20

// clientAddr is the address a request came from (without its port).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// static serves the public pages' script and the map's files.
func static() http.Handler {
	sub, _ := fs.Sub(templates.Static, "static")
	return http.StripPrefix("/static/", http.FileServerFS(sub))
}
