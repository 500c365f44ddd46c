package staff

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"townline/core"
)

var statusWords = map[core.Status]string{
	core.StatusNew:          "New",
	core.StatusAcknowledged: "Acknowledged",
	core.StatusInProgress:   "In progress",
	core.StatusClosed:       "Closed",
}

var queueLabels = map[string]string{
	"triage": "Needs triage", "unassigned": "Unassigned", "mine": "Mine", "departments": "My departments",
	"flagged": "Flagged senders", "all": "All",
}

// funcs are the helpers staff pages call. The names of staff members are
// read once per page, by the handler, into names.
func (h *Handler) funcs() template.FuncMap {
	loc := h.core.City().Location
	return template.FuncMap{
		"statusWords": func(s core.Status) string { return statusWords[s] },
		"firstWords":  func(s string) string { return core.Truncate(strings.Join(strings.Fields(s), " "), 80) },
		"age":         age,
		"when":        func(t time.Time) string { return t.In(loc).Format("Jan 2, 2006 3:04 PM") },
		"due": func(r core.Request) string {
			switch {
			case r.ExpectedAt == nil:
				return "—"
			case r.Status != core.StatusClosed && r.ExpectedAt.Before(time.Now()):
				return "overdue since " + r.ExpectedAt.In(loc).Format("Jan 2")
			}
			return r.ExpectedAt.In(loc).Format("Jan 2")
		},
		"assignee":   func(*int64) string { return "" }, // replaced per page with the names read
		"isAssignee": func(a *int64, id int64) bool { return a != nil && *a == id },
		"deptName": func(code string) string {
			if d, ok := h.core.City().Department(code); ok {
				return d.Name
			}
			return code
		},
		"coords":  func(r core.Request) string { return fmt.Sprintf("%.5f, %.5f", *r.Lat, *r.Lng) },
		"isImage": core.IsImage,
		"serviceName": func(code string) string {
			if s, ok := h.core.City().Service(code); ok {
				return s.Name
			}
			return code
		},
		"duration": duration,
		"percent":  percent,
		"sub":      func(a, b int64) int64 { return a - b },
		"day":      func(t time.Time) string { return t.In(loc).Format("Jan 2, 2006") },
	}
}

func age(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

type queueTab struct {
	Name, Label, Link string
	Count             string
	On                bool
}

type inboxPage struct {
	page
	Query       core.InboxQuery
	Queues      []queueTab
	Requests    []core.Request
	Next        string
	Export      string // the view as CSV
	Statuses    []core.Status
	Services    []core.Service
	Departments []core.Department
	Channels    []core.Channel
	Sorts       []sortChoice
}

type sortChoice struct{ Name, Label string }

var sortChoices = []sortChoice{{"newest", "Newest first"}, {"oldest", "Oldest first"}, {"due", "Due soonest"}}

// inbox shows one queue, filtered, a page at a time. Everything it shows
// is in its URL, so a view can be bookmarked and shared.
func (h *Handler) inbox(w http.ResponseWriter, r *http.Request) {
	u := user(r)
	q, err := inboxQuery(r.URL.Query(), u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	reqs, next, err := h.core.Inbox(r.Context(), u, q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	counts, err := h.core.InboxCounts(r.Context(), u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := inboxPage{page: h.newPage(r), Query: q, Requests: reqs,
		Statuses: core.Statuses,
		Services: h.core.City().Services, Departments: h.visibleDepartments(u),
		Channels: core.Channels,
		Sorts:    sortChoices}
	for _, name := range core.Queues {
		if name == "triage" && !u.AllDepartments() {
			continue // staff never see the triage queue
		}
		tab := url.Values{"queue": {name}}
		if q.Search != "" {
			tab.Set("q", q.Search) // a search goes on across queues
		}
		if q.Sort != "" {
			tab.Set("sort", q.Sort)
		}
		p.Queues = append(p.Queues, queueTab{Name: name, Label: queueLabels[name], Count: queueCount(counts[name]), On: name == q.Queue,
			Link: "/staff/?" + tab.Encode()})
	}
	p.Flash = h.flash(r)
	v := r.URL.Query()
	v.Del("after")
	p.Export = "/staff/export.csv?" + v.Encode()
	if next != nil {
		v.Set("after", cursorText(next))
		p.Next = "/staff/?" + v.Encode()
	}
	h.renderWithNames(w, r, http.StatusOK, "inbox", p)
}

// queueCount writes a queue's count, "10000+" past the cap.
func queueCount(n int64) string {
	if n > core.QueueCountCap {
		return fmt.Sprintf("%d+", core.QueueCountCap)
	}
	return strconv.FormatInt(n, 10)
}

// inboxQuery reads an inbox view from its URL.
func inboxQuery(v url.Values, u core.User) (core.InboxQuery, error) {
	q := core.InboxQuery{
		Queue: v.Get("queue"), Status: core.Status(v.Get("status")), Service: v.Get("service"),
		Department: v.Get("department"), Channel: core.Channel(v.Get("channel")), Overdue: v.Get("overdue") != "",
		Search: v.Get("q"), Sort: v.Get("sort"),
	}
	if q.Queue == "" {
		q.Queue = "departments"
		if u.AllDepartments() {
			q.Queue = "triage"
		}
	}
	if a := v.Get("after"); a != "" {
		c, ok := parseCursor(a)
		if !ok {
			return q, &core.ValidationError{Field: "after", Problem: "is not a position in the list"}
		}
		q.After = &c
	}
	return q, nil
}

// cursorText writes a cursor into a URL: the sort key in microseconds,
// or "none" for a request with no expected date, then the id.
func cursorText(c *core.Cursor) string {
	if c.At == nil {
		return fmt.Sprintf("none-%d", c.ID)
	}
	return fmt.Sprintf("%d-%d", c.At.UnixMicro(), c.ID)
}

func parseCursor(s string) (core.Cursor, bool) {
	at, id, ok := strings.Cut(s, "-")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || n <= 0 { // "< 0" pages alike: no row has id 0
		return core.Cursor{}, false
	}
	c := core.Cursor{ID: n}
	if at != "none" {
		micros, err := strconv.ParseInt(at, 10, 64)
		if err != nil {
			return core.Cursor{}, false
		}
		t := time.UnixMicro(micros)
		c.At = &t
	}
	return c, true
}

// visibleDepartments are the departments u works for, or all of them.
func (h *Handler) visibleDepartments(u core.User) []core.Department {
	all := h.core.City().Departments
	if u.AllDepartments() {
		return all
	}
	var out []core.Department
	for _, d := range all {
		for _, code := range u.Departments {
			if d.Code == code {
				out = append(out, d)
			}
		}
	}
	return out
}

// staffNames reads the name of every staff member, by id.
func (h *Handler) staffNames(r *http.Request) (map[int64]string, error) {
	staff, err := h.core.StaffNames(r.Context())
	if err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(staff))
	for _, s := range staff {
		names[s.ID] = s.Name
		if s.Name == "" {
			names[s.ID] = s.Email
		}
	}
	return names, nil
}

// renderWithNames renders a page that names assignees: the names are read
// once, and the page's "assignee" helper looks them up.
func (h *Handler) renderWithNames(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	names, err := h.staffNames(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.pages[name].Clone()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t.Funcs(template.FuncMap{"assignee": func(id *int64) string {
		if id == nil {
			return "unassigned"
		}
		return names[*id]
	}})
	h.execute(w, r, status, name, t, data)
}
