package staff

import (
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"townline/core"
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
}

// found is a known resident and their open requests.
type found struct {
	Contact core.Contact
	Open    []core.Request
}

// formFields are the form's fields, as core names the problems with them.
var formFields = map[string]string{
	"service_code": "service", "description": "description", "address_string": "address",
	"lat": "address", "long": "address", "phone": "phone", "email": "email", "name": "name",
	"reply_by": "reply_by", "media": "photos", "photos": "photos", "attribute": "service",
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
		Channels: frontDeskChannels, ReplyWays: replyWays, Tiles: h.tiles, Maybe: maybe}
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

// maxNewForm bounds the form with its photos.
const maxNewForm = 64 << 20

func (h *Handler) newRequest(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxNewForm)
	if err := r.ParseMultipartForm(8 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		h.showNew(w, r, http.StatusBadRequest, r.Form, map[string]string{"photos": "The photos are too large together: at most 64 MB."}, nil)
		return
	}
	form := r.PostForm
	u := user(r)
	ch := core.Channel(form.Get("channel"))
	in := core.NewRequest{
		Channel: ch, ServiceCode: form.Get("service"), Description: form.Get("description"),
		Address: strings.TrimSpace(form.Get("address")), Actor: u.Email,
	}
	// The chosen service's answers: "attr:SERVICE:CODE" fields.
	prefix := "attr:" + in.ServiceCode + ":"
	for name, vals := range form {
		if code, ok := strings.CutPrefix(name, prefix); ok {
			for _, v := range vals {
				if v = strings.TrimSpace(v); v != "" {
					if in.Attributes == nil {
						in.Attributes = map[string][]string{}
					}
					in.Attributes[code] = append(in.Attributes[code], v)
				}
			}
		}
	}
	problems := map[string]string{}
	if !slices.Contains(core.FrontDesk, ch) {
		problems["channel"] = "Say how the request came: by phone, at the counter, or from staff."
	}
	if in.ServiceCode == "" {
		problems["service"] = "Pick the kind of problem."
	}
	if ch != core.ChannelStaff {
		in.Reporter = core.Reporter{Phone: form.Get("phone"), Email: form.Get("email"), Name: form.Get("name"),
			Language: form.Get("language"), ReplyBy: core.Channel(form.Get("reply_by"))}
	}
	// The pin on the map, or else the address through the city's places.
	if lat, lng := form.Get("lat"), form.Get("lng"); lat != "" && lng != "" {
		y, err1 := strconv.ParseFloat(lat, 64)
		x, err2 := strconv.ParseFloat(lng, 64)
		if err1 != nil || err2 != nil {
			problems["address"] = "The pin on the map is not a position: put it again."
		} else {
			in.Lat, in.Lng = &y, &x
		}
	} else if in.Address != "" {
		loc, ok, err := h.core.Geocode(r.Context(), in.Address)
		switch {
		case err != nil:
			h.fail(w, r, err)
			return
		case !ok:
			problems["address"] = "Not an address townline can place: check it, or put a pin on the map."
		default:
			in.Lat, in.Lng, in.Address = &loc.Lat, &loc.Lng, loc.Address
		}
	} else {
		problems["address"] = "Say where it is: an address, cross streets or a landmark, or a pin on the map."
	}
	if len(problems) > 0 {
		h.showNew(w, r, http.StatusBadRequest, form, problems, nil)
		return
	}
	// Already reported nearby? Asked before filing, as residents are.
	in.SameAs, _ = strconv.ParseInt(form.Get("same_as"), 10, 64)
	in.NotSame = form.Get("not_same") != ""
	if in.SameAs == 0 && !in.NotSame && in.Lat != nil {
		maybe, err := h.core.MayRepeat(r.Context(), in.ServiceCode, *in.Lat, *in.Lng)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if len(maybe) > 0 {
			// The place found is kept for the answer.
			form.Set("lat", strconv.FormatFloat(*in.Lat, 'f', 6, 64))
			form.Set("lng", strconv.FormatFloat(*in.Lng, 'f', 6, 64))
			form.Set("address", in.Address)
			h.showNew(w, r, http.StatusOK, form, nil, maybe)
			return
		}
	}
	photos, err := h.photos(r.MultipartForm)
	if err != nil {
		h.showNew(w, r, http.StatusBadRequest, form, map[string]string{"photos": err.Error()}, nil)
		return
	}
	in.Photos = photos
	req, err := h.core.CreateRequest(r.Context(), in)
	var bad *core.ValidationError
	switch {
	case errors.As(err, &bad):
		field := formFields[bad.Field]
		switch {
		case strings.HasPrefix(bad.Field, "attribute["):
			field = bad.Field // beside the question
		case field == "":
			field = "service"
		}
		h.showNew(w, r, http.StatusBadRequest, form, map[string]string{field: bad.Problem}, nil)
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

// photos stores the form's photos; core checks that they are photos.
func (h *Handler) photos(mf *multipart.Form) ([]core.Upload, error) {
	if mf == nil {
		return nil, nil
	}
	var out []core.Upload
	for _, fh := range mf.File["photos"] {
		if fh.Size == 0 && fh.Filename == "" {
			continue // the empty file input of a form sent without a photo
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		blob, err := h.core.Blobs().Put(f)
		f.Close()
		if errors.Is(err, core.ErrTooLarge) {
			return nil, fmt.Errorf("%s is larger than the limit of %d MB", fh.Filename, h.core.Blobs().Max()>>20)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, core.Upload{Blob: blob, Filename: core.CleanFilename(fh.Filename), Field: "photos"})
	}
	return out, nil
}
