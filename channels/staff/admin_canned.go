package staff

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"townline/core"
)

// Canned responses: admins write them per department, in English and
// Spanish; on a request's page the reply box inserts one, filled for the
// request in its reporter's language.

// cannedPage lists the canned responses with a form to add one, or,
// with Form.ID set, shows one to change, with a preview.
type cannedPage struct {
	page
	Responses        []core.CannedResponse
	Departments      []core.Department
	Placeholders     []string
	Form             core.CannedResponse // kept when it is refused
	Example          core.Request        // what the preview is filled from
	English, Spanish string              // the preview
}

func (h *Handler) adminCanned(w http.ResponseWriter, r *http.Request) {
	h.cannedPage(w, r, http.StatusOK, core.CannedResponse{}, "")
}

func (h *Handler) adminCannedEdit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cr, err := h.core.GetCannedResponse(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.cannedPage(w, r, http.StatusOK, cr, "")
}

// exampleRequest is what a response's preview is filled from. Its
// service code names it in Spanish in the Spanish preview, as residents
// will read it.
func exampleRequest() core.Request {
	expected := time.Now().AddDate(0, 0, 3)
	return core.Request{ID: 1234, ServiceCode: "pothole", ServiceName: "Pothole", Address: "1735 Montgomery Street",
		Status: core.StatusInProgress, ExpectedAt: &expected}
}

func (h *Handler) cannedPage(w http.ResponseWriter, r *http.Request, status int, form core.CannedResponse, problem string) {
	p := cannedPage{page: h.newPage(r), Departments: h.core.City().Departments, Placeholders: core.Placeholders,
		Form: form, Example: exampleRequest()}
	p.Title, p.Problem = "Canned responses", problem
	if form.ID != 0 {
		p.English = h.core.FillPlaceholders(form.English, p.Example, "en")
		p.Spanish = h.core.FillPlaceholders(form.Spanish, p.Example, "es")
	} else {
		var err error
		if p.Responses, err = h.core.CannedResponses(r.Context()); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	p.Flash = h.flash(r)
	h.render(w, r, status, "admin_canned", p)
}

// adminSaveCanned adds a canned response (POST /staff/admin/canned) or
// changes one (POST /staff/admin/canned/{id}).
func (h *Handler) adminSaveCanned(w http.ResponseWriter, r *http.Request) {
	var id int64
	if r.PathValue("id") != "" {
		var err error
		if id, err = pathID(r); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if !readForm(w, r) {
		return
	}
	cr := core.CannedResponse{ID: id, Department: r.PostForm.Get("department"), Title: r.PostForm.Get("title"),
		English: r.PostForm.Get("english"), Spanish: r.PostForm.Get("spanish")}
	saved, err := h.core.SaveCannedResponse(r.Context(), cr, actor(r))
	h.done(w, r, err, "Saved “"+strings.TrimSpace(cr.Title)+"”.", "/staff/admin/canned/"+strconv.FormatInt(saved, 10),
		func(problem string) { h.cannedPage(w, r, http.StatusBadRequest, cr, problem) })
}

func (h *Handler) adminDeleteCanned(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	err = h.core.DeleteCannedResponse(r.Context(), id, actor(r))
	h.done(w, r, err, "Deleted.", "/staff/admin/canned", func(string) { h.fail(w, r, err) })
}

// cannedBox is the data of the "canned" partial (templates/html/staff/
// base.html), which goes inside the request page's reply form: a list of
// the canned responses offered on the request and an Insert button. With
// no script allowed on the page, Insert asks for the page again by GET
// with the form's fields (?canned=ID&body=…), and the page comes back
// with the reply box holding what was typed, then the response.
type cannedBox struct {
	RequestID int64
	Replies   []core.CannedReply
}

// canned reads the request page's canned responses, and the reply draft
// to show: "" unless the page was asked for with one inserted.
func (h *Handler) canned(r *http.Request, req core.Request) (cannedBox, string, error) {
	box := cannedBox{RequestID: req.ID}
	var err error
	if box.Replies, err = h.core.CannedReplies(r.Context(), req); err != nil {
		return box, "", err
	}
	q := r.URL.Query()
	id, err := strconv.ParseInt(q.Get("canned"), 10, 64)
	if err != nil {
		return box, "", nil
	}
	for _, c := range box.Replies {
		if c.ID == id {
			typed := strings.TrimSpace(q.Get("body"))
			if typed == "" {
				return box, c.Text, nil
			}
			return box, typed + "\n\n" + c.Text, nil
		}
	}
	return box, "", nil
}
