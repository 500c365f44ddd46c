package staff

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// exportPage is how many requests the export reads at a time.
const exportPage = 200

var exportHeader = []string{"number", "requested", "service", "status", "close_reason", "department",
	"assignee", "channel", "address", "lat", "lng", "expected", "closed", "reports", "duplicate_of", "description"}

// export writes every request of an inbox view (its URL's filters, from
// the first page) as CSV, in the city's time. Reporters' details stay out:
// a file travels further than the workspace.
func (h *Handler) export(w http.ResponseWriter, r *http.Request) {
	u := user(r)
	v := r.URL.Query()
	v.Del("after")
	q, err := inboxQuery(v, u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q.Limit = exportPage
	reqs, next, err := h.core.Inbox(r.Context(), u, q)
	if err != nil {
		h.fail(w, r, err) // before the first line: a page that says why
		return
	}
	names, err := h.staffNames(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	city := h.core.City()
	loc := city.Location
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="requests-%s-%s.csv"`,
		q.Queue, time.Now().In(loc).Format("2006-01-02")))
	cw := csv.NewWriter(w)
	cw.Write(exportHeader)
	when := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(loc).Format("2006-01-02 15:04")
	}
	num := func(f *float64) string {
		if f == nil {
			return ""
		}
		return strconv.FormatFloat(*f, 'f', 6, 64)
	}
	for {
		for _, rq := range reqs {
			dept, assignee, dup := "", "", ""
			if d, ok := city.Department(rq.Department); ok {
				dept = d.Name
			}
			if rq.AssigneeID != nil {
				assignee = names[*rq.AssigneeID]
			}
			if rq.DuplicateOf != nil {
				dup = strconv.FormatInt(*rq.DuplicateOf, 10)
			}
			cw.Write(cells(strconv.FormatInt(rq.ID, 10), when(&rq.RequestedAt), rq.ServiceName, string(rq.Status),
				string(rq.CloseReason), dept, assignee, string(rq.Channel), rq.Address, num(rq.Lat), num(rq.Lng),
				when(rq.ExpectedAt), when(rq.ClosedAt), strconv.Itoa(rq.Reports), dup, rq.Description))
		}
		if next == nil {
			break
		}
		q.After = next
		if reqs, next, err = h.core.Inbox(r.Context(), u, q); err != nil {
			// The status is sent: the file ends short, and says so.
			h.log.Error("staff: export cut short", "err", err)
			cw.Write([]string{"export cut short: " + err.Error()})
			break
		}
	}
	cw.Flush()
}

// cells makes values safe to open in a spreadsheet: one a resident wrote
// that starts like a formula is kept as text.
func cells(values ...string) []string {
	for i, s := range values {
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			values[i] = "'" + s
		}
	}
	return values
}
