package staff

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"townline/core"
)

// entry is one line of a request's timeline: a message in or out, or a
// change in its history.
type entry struct {
	At                 time.Time
	Kind               string // in, out, event
	Who, Subject, Text string
	State, Error, Flag string
	Recording          int64 // the message whose recording plays here
}

type requestPage struct {
	page
	Request     core.Request
	Contact     *core.Contact
	Others      []core.Request
	Files       []core.Attachment
	Timeline    []entry
	Reply       core.ReplyFrame
	ReplyRoute  string
	ReachOut    []reachOut // ways to reach the reporter other than the usual
	Length      *length    // a text reply's size, as the resident receives it
	Seen        string     // when the page was read, to catch changes made meanwhile
	Draft       string
	Canned      cannedBox // the reply box's canned responses (admin_canned.go)
	Statuses    []core.Status
	Departments []core.Department
	Services    []core.Service
	Staff       []core.User
	Nearby      []core.Nearby // open requests that may be the same issue
	Tiles       string        // the map's tile URL template
	Answers     []answer
}

// reachOut is a way to write to a reporter who has not written that way.
type reachOut struct {
	Via   core.Channel
	Label string
}

// answer is one of a request's attribute values as staff read it: the
// service's question and the chosen values' names, or, for a question of
// the client's own (not in the service definition), its code.
type answer struct {
	Question, Value string
	Extra           bool
}

// answers lists a request's attributes: the service's, in its order, then
// the client's own, by code.
func (h *Handler) answers(req core.Request) []answer {
	svc, _ := h.core.City().Service(req.ServiceCode)
	var out []answer
	for _, a := range svc.Attributes {
		if vals := req.Attributes[a.Code]; len(vals) > 0 {
			names := make([]string, len(vals))
			for i, v := range vals {
				names[i] = a.ValueName(v)
			}
			out = append(out, answer{Question: a.Description, Value: strings.Join(names, ", ")})
		}
	}
	for _, code := range slices.Sorted(maps.Keys(req.Attributes)) {
		if svc.Attribute(code) == nil {
			out = append(out, answer{Question: code, Value: strings.Join(req.Attributes[code], ", "), Extra: true})
		}
	}
	return out
}

func (h *Handler) request(w http.ResponseWriter, r *http.Request) {
	req, err := h.visible(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err := h.requestPage(r, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Flash = h.flash(r)
	h.renderWithNames(w, r, http.StatusOK, "request", p)
}

// visible reads the request named in the path, if the user may see it:
// any other is "not found", exactly as a request that does not exist.
func (h *Handler) visible(r *http.Request) (core.Request, error) {
	id, err := pathID(r)
	if err != nil {
		return core.Request{}, err
	}
	return h.core.StaffRequest(r.Context(), user(r), id)
}

func (h *Handler) requestPage(r *http.Request, req core.Request) (requestPage, error) {
	ctx := r.Context()
	u := user(r)
	p := requestPage{page: h.newPage(r), Request: req, Seen: seen(req), Answers: h.answers(req),
		Statuses:    core.Statuses[1:], // a request never goes back to new
		Departments: h.core.City().Departments, Services: h.core.City().Services}
	var err error
	if p.Canned, p.Draft, err = h.canned(r, req); err != nil {
		return p, err
	}
	if p.Staff, err = h.core.StaffNames(ctx); err != nil {
		return p, err
	}
	if req.ContactID != nil {
		ct, err := h.core.Contact(ctx, *req.ContactID)
		if err != nil {
			return p, err
		}
		p.Contact = &ct
		others, err := h.core.ContactRequests(ctx, ct.ID)
		if err != nil {
			return p, err
		}
		for _, o := range others {
			if o.ID != req.ID && u.CanSee(o) {
				p.Others = append(p.Others, o)
			}
		}
		if p.Reply, err = h.core.ReplyFrame(req, ct, ""); err != nil {
			return p, err
		}
		// Another way to reach them than the usual one: the reach-out box.
		if ct.Phone != "" && p.Reply.Channel != core.ChannelSMS {
			p.ReachOut = append(p.ReachOut, reachOut{core.ChannelSMS, "A text to " + ct.Phone})
		}
		if ct.Email != "" && p.Reply.Channel != core.ChannelEmail {
			p.ReachOut = append(p.ReachOut, reachOut{core.ChannelEmail, "Mail to " + ct.Email})
		}
	}
	p.ReplyRoute = replyRoute(req.Channel, p.Reply, p.Contact)
	p.Length = textLength(p.Reply, p.Draft)
	p.Tiles = h.tiles
	if p.Nearby, err = h.core.NearbyRequests(ctx, u, req); err != nil {
		return p, err
	}
	if p.Files, err = h.core.Attachments(ctx, req.ID); err != nil {
		return p, err
	}
	msgs, err := h.core.Messages(ctx, req.ID)
	if err != nil {
		return p, err
	}
	for _, m := range msgs {
		e := entry{At: m.CreatedAt, Kind: m.Direction, Subject: m.Subject, Text: m.Body, Flag: m.Flag}
		if m.Direction == "out" {
			e.Who = "to the resident by " + string(m.Channel)
			if m.UserID == nil {
				e.Who = "automatic answer by " + string(m.Channel)
			}
			e.State, e.Error = m.State, m.Error
		} else {
			e.Who = "from the resident by " + string(m.Channel)
		}
		if ok, transcript := m.Recording(); ok {
			e.Recording, e.Text = m.ID, cmp.Or(transcript, "(not transcribed yet)")
		}
		p.Timeline = append(p.Timeline, e)
	}
	events, err := h.core.History(ctx, req.ID, false)
	if err != nil {
		return p, err
	}
	for _, ev := range events {
		e := entry{At: ev.At, Kind: "event", Who: ev.Actor, Text: eventText(ev)}
		p.Timeline = append(p.Timeline, e)
	}
	slices.SortStableFunc(p.Timeline, func(a, b entry) int { return a.At.Compare(b.At) })
	return p, nil
}

func eventText(e core.Event) string {
	var s string
	switch {
	case e.To != "" && e.From == "":
		s = "Filed as " + statusWords[e.To]
	case e.To != "":
		s = statusWords[e.From] + " → " + statusWords[e.To]
		if e.CloseReason != "" {
			s += " (" + string(e.CloseReason) + ")"
		}
	}
	switch {
	case e.Note != "" && s != "":
		s += ": " + e.Note
	case e.Note != "":
		s = e.Note
	}
	if e.Public && e.Note != "" {
		s += " [public]"
	}
	return s
}

// seen is the version of a request a form was filled against.
func seen(r core.Request) string { return strconv.FormatInt(r.UpdatedAt.UnixMicro(), 10) }

// act runs an action on the request in the path: only one the user may
// see, and only against the version they saw — a request changed by
// someone else meanwhile comes back with the change shown and the words
// kept, not acted on blind.
func (h *Handler) act(w http.ResponseWriter, r *http.Request, draft string, do func(core.Request, core.Actor) (string, error)) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	req, err := h.visible(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u := user(r)
	if r.PostForm.Get("seen") != seen(req) {
		h.again(w, r, req, http.StatusConflict,
			"Someone changed this request while you were writing (see the timeline): nothing was done. Check, then try again.",
			r.PostForm.Get(draft))
		return
	}
	flash, err := do(req, core.Actor{UserID: &u.ID, Name: u.Email})
	var invalid *core.ValidationError
	switch {
	case errors.As(err, &invalid) || errors.Is(err, core.ErrTransition):
		h.again(w, r, req, http.StatusBadRequest, err.Error(), r.PostForm.Get(draft))
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	// An action may move the request out of the user's departments.
	back := fmt.Sprintf("/staff/requests/%d", req.ID)
	if _, err := h.core.StaffRequest(r.Context(), u, req.ID); errors.Is(err, core.ErrNotFound) {
		back, flash = "/staff/", fmt.Sprintf("%s #%d is no longer one of your departments' requests.", flash, req.ID)
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), "flash", flash)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// again shows the request page once more, with what went wrong and the
// words the user typed.
func (h *Handler) again(w http.ResponseWriter, r *http.Request, req core.Request, status int, problem, draft string) {
	req, err := h.core.StaffRequest(r.Context(), user(r), req.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err := h.requestPage(r, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Problem, p.Draft = problem, draft
	h.renderWithNames(w, r, status, "request", p)
}

func (h *Handler) note(w http.ResponseWriter, r *http.Request) {
	h.act(w, r, "note", func(req core.Request, by core.Actor) (string, error) {
		public := r.PostForm.Get("public") != ""
		err := h.core.AddNote(r.Context(), req.ID, r.PostForm.Get("note"), public, by)
		if public {
			return "Public note added and sent to every reporter.", err
		}
		return "Internal note added.", err
	})
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	h.act(w, r, "note", func(req core.Request, by core.Actor) (string, error) {
		note := r.PostForm.Get("note")
		ch := core.StatusChange{To: core.Status(r.PostForm.Get("to")), Reason: core.CloseReason(r.PostForm.Get("reason")),
			Note: note, Public: note != "", By: by}
		return "Status changed; every reporter hears of it.", h.core.ChangeStatus(r.Context(), req.ID, ch)
	})
}

func (h *Handler) assign(w http.ResponseWriter, r *http.Request) {
	h.act(w, r, "", func(req core.Request, by core.Actor) (string, error) {
		dept := r.PostForm.Get("department")
		if dept == "" && !user(r).AllDepartments() {
			return "", &core.ValidationError{Field: "department", Problem: "only dispatchers send requests back to triage"}
		}
		var assignee *int64
		if a := r.PostForm.Get("assignee"); a != "" {
			id, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return "", &core.ValidationError{Field: "assignee", Problem: "is not a staff member"}
			}
			assignee = &id
		}
		return "Assigned.", h.core.Assign(r.Context(), req.ID, dept, assignee, by)
	})
}

func (h *Handler) duplicate(w http.ResponseWriter, r *http.Request) {
	h.act(w, r, "", func(req core.Request, by core.Actor) (string, error) {
		parent, err := strconv.ParseInt(r.PostForm.Get("parent"), 10, 64)
		if err != nil || parent <= 0 {
			return "", &core.ValidationError{Field: "parent", Problem: "is not a request number"}
		}
		// The parent must be one the user may see, too.
		if _, err := h.core.StaffRequest(r.Context(), user(r), parent); errors.Is(err, core.ErrNotFound) {
			return "", &core.ValidationError{Field: "parent", Problem: fmt.Sprintf("#%d is not a request you can see", parent)}
		} else if err != nil {
			return "", err
		}
		err = h.core.MarkDuplicate(r.Context(), req.ID, parent, by)
		return fmt.Sprintf("Marked a duplicate of #%d: its reporters now follow #%d.", parent, parent), err
	})
}

// recording plays a caller's recording to staff who may see its request,
// fetched from the provider as it plays.
func (h *Handler) recording(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	audio, err := h.core.OpenRecording(r.Context(), user(r), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer audio.Close()
	// The audio says what it is (the phone menu asks Twilio for MP3).
	body := bufio.NewReader(io.LimitReader(audio, maxRecording))
	head, _ := body.Peek(512)
	ctype, ext := http.DetectContentType(head), ""
	switch ctype {
	case "audio/mpeg":
		ext = ".mp3"
	case "audio/wave":
		ext = ".wav"
	default:
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="recording-%d%s"`, id, ext))
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if _, err := io.Copy(w, body); err != nil { // a log line's condition: its mutants survive
		h.log.Warn("staff: a recording was cut short", "message", id, "err", err)
	}
}

// maxRecording is more than the longest message the phone menu records
// (two minutes of MP3 are about 2 MB).
const maxRecording = 20 << 20

// file serves a request's file to staff who may see the request: photos
// shown inline, anything else downloaded, never run in the page.
func (h *Handler) file(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.core.StaffAttachment(r.Context(), user(r), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, err := h.core.Blobs().Open(a.SHA256)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer f.Close()
	disposition := "attachment"
	if a.ContentType == "image/jpeg" || a.ContentType == "image/png" || a.ContentType == "image/gif" || a.ContentType == "image/webp" {
		disposition = "inline"
	}
	w.Header().Set("Content-Type", cmp.Or(a.ContentType, "application/octet-stream"))
	w.Header().Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": cmp.Or(a.Filename, "file")}))
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", time.Time{}, f)
}
