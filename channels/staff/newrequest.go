package staff

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"townline/core"
	"townline/internal/reportform"
)

// The front desk: staff file a request for a resident who phoned City
// Hall or came to the counter, or a crew files its own, through the same
// filing as every channel.

// frontDeskChannels are the ways a request reaches the front desk, as
// the form offers them.
var frontDeskChannels = []struct {
	Channel core.Channel
	Label   string
}{
	{core.ChannelPhone, "A resident on the phone"},
	{core.ChannelWalkIn, "A resident at the counter"},
	{core.ChannelStaff, "Staff's own report (no resident)"},
}

// replyWays are how a resident may choose to hear back.
var replyWays = []struct {
	Channel core.Channel
	Label   string
}{
	{core.ChannelSMS, "Text messages"},
	{core.ChannelEmail, "Email"},
	{core.ChannelVoice, "A phone call"},
	{core.ReplyNone, "Not at all"},
}

// newForm is what the new-request page shows: the form as typed, what is
// wrong with it field by field, and the residents its phone or email
// finds.
type newForm struct {
	page
	Form      url.Values
	Problems  map[string]string
	Services  []core.Service
	Channels  any
	ReplyWays any
	Found     []found
	Searched  bool
	// Maybe are the open requests nearby the report may repeat: asked
	// about before filing.
	Maybe []core.Nearby
	Tiles string
	// The map opens on the city: the middle of its boundary.
	MapLat, MapLng float64
	Static, Link   string // where leaflet is served, and a request's page
	Lang           string // the form's words: the workspace is in English
}

// found is a known resident and their open requests.
type found struct {
	Contact core.Contact
	Open    []core.Request
}

func (h *Handler) newRequestForm(w http.ResponseWriter, r *http.Request) {
	form := r.URL.Query()
	if form.Get("channel") == "" {
		form.Set("channel", string(core.ChannelPhone))
	}
	h.showNew(w, r, http.StatusOK, form, nil, nil)
}

// showNew renders the form, finding the residents its phone or email
// belongs to.
func (h *Handler) showNew(w http.ResponseWriter, r *http.Request, status int, form url.Values, problems map[string]string, maybe []core.Nearby) {
	p := newForm{page: h.newPage(r), Form: form, Problems: problems, Services: h.core.City().Services,
		Channels: frontDeskChannels, ReplyWays: replyWays, Tiles: h.tiles, Maybe: maybe,
		Static: "/staff/static/", Link: "/staff/requests/", Lang: "en"}
	p.Title = "New request"
	if b := h.core.City().Boundary; b != nil {
		c := b.Bound().Center()
		p.MapLat, p.MapLng = c.Lat(), c.Lon()
	}
	if phone, email := form.Get("phone"), form.Get("email"); phone != "" || email != "" {
		p.Searched = true
		cts, err := h.core.FindContacts(r.Context(), phone, email)
		var bad *core.ValidationError
		switch {
		case errors.As(err, &bad):
			if p.Problems == nil {
				p.Problems = map[string]string{}
			}
			if _, said := p.Problems[bad.Field]; !said {
				p.Problems[bad.Field] = bad.Problem
			}
		case err != nil:
			h.fail(w, r, err)
			return
		}
		for _, ct := range cts {
			open, err := h.core.ContactRequests(r.Context(), ct.ID)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			f := found{Contact: ct}
			for _, req := range open {
				if req.Status.Open() {
					f.Open = append(f.Open, req)
				}
			}
			p.Found = append(p.Found, f)
		}
		// A resident known already: what they said before fills the gaps.
		if len(cts) == 1 {
			ct := cts[0]
			for field, v := range map[string]string{"name": ct.Name, "language": ct.Language, "reply_by": string(ct.ReplyBy),
				"phone": ct.Phone, "email": ct.Email} {
				if form.Get(field) == "" && v != "" {
					form.Set(field, v)
				}
			}
		}
	}
	h.render(w, r, status, "new", p)
}

func (h *Handler) newRequest(w http.ResponseWriter, r *http.Request) {
	f, err := reportform.Read(w, r, h.core)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	form, in := f.Values, &f.Request
	u := user(r)
	in.Channel, in.Actor = core.Channel(form.Get("channel")), u.Email
	if !slices.Contains(core.FrontDesk, in.Channel) {
		f.Problems["channel"] = "Say how the request came: by phone, at the counter, or from staff."
	}
	if in.Channel != core.ChannelStaff {
		in.Reporter = core.Reporter{Phone: form.Get("phone"), Email: form.Get("email"), Name: form.Get("name"),
			Language: form.Get("language"), ReplyBy: core.Channel(form.Get("reply_by"))}
	}
	f.Refused(h.core.CheckReporter(in.Reporter))
	switch {
	case len(f.Problems) > 0:
		h.showNew(w, r, http.StatusBadRequest, form, f.Problems, nil)
		return
	case len(f.Maybe) > 0:
		h.showNew(w, r, http.StatusOK, form, nil, f.Maybe)
		return
	}
	req, err := h.core.CreateRequest(r.Context(), *in)
	switch {
	case f.Refused(err):
		h.showNew(w, r, http.StatusBadRequest, form, f.Problems, nil)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	flash := fmt.Sprintf("Filed #%d.", req.ID)
	if a, ok := h.core.ReferredTo(req); ok {
		flash += fmt.Sprintf(" It is for %s, not the city: referred, and closed here.", a.Name)
	} else if req.DuplicateOf != nil {
		flash += fmt.Sprintf(" The same issue as #%d: joined to it.", *req.DuplicateOf)
	}
	back := fmt.Sprintf("/staff/requests/%d", req.ID)
	if _, err := h.core.StaffRequest(r.Context(), u, req.ID); errors.Is(err, core.ErrNotFound) {
		back, flash = "/staff/", flash+" It went to another department."
	}
	h.sessions.Put(r.Context(), "flash", flash)
	http.Redirect(w, r, back, http.StatusSeeOther)
}
