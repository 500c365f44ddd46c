package staff

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"townline/core"
)

type numbersPage struct {
	page
	Load     []core.DepartmentLoad
	Windows  []timesWindow
	Weeks    []time.Time
	Channels []core.Channel
	PerWeek  map[time.Time]map[core.Channel]int64
	Words    []core.Classified // the last 30 days
}

type timesWindow struct {
	Label string
	Rows  []core.ServiceTimes
}

// numbers is the managers' page: dispatchers and admins, who see every
// department.
func (h *Handler) numbers(w http.ResponseWriter, r *http.Request) {
	if !user(r).AllDepartments() {
		h.fail(w, r, core.ErrNotFound)
		return
	}
	ctx := r.Context()
	p := numbersPage{page: h.newPage(r), PerWeek: map[time.Time]map[core.Channel]int64{}}
	var err error
	if p.Load, err = h.core.Load(ctx, time.Now()); err != nil {
		h.fail(w, r, err)
		return
	}
	for _, days := range []int{30, 90} {
		rows, err := h.core.Times(ctx, time.Duration(days)*24*time.Hour)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p.Windows = append(p.Windows, timesWindow{Label: fmt.Sprintf("last %d days", days), Rows: rows})
	}
	if p.Words, err = h.core.Classification(ctx, 30*24*time.Hour); err != nil {
		h.fail(w, r, err)
		return
	}
	weeks, err := h.core.ChannelWeeks(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, cw := range weeks {
		if p.PerWeek[cw.Week] == nil {
			p.PerWeek[cw.Week] = map[core.Channel]int64{}
			p.Weeks = append(p.Weeks, cw.Week)
		}
		p.PerWeek[cw.Week][cw.Channel] = cw.Requests
		if !slices.Contains(p.Channels, cw.Channel) {
			p.Channels = append(p.Channels, cw.Channel)
		}
	}
	slices.Sort(p.Channels)
	h.render(w, r, http.StatusOK, "numbers", p)
}

// percent is part of whole for people: "87 %", or "—" of nothing.
func percent(part, whole int64) string {
	if whole == 0 {
		return "—"
	}
	return fmt.Sprintf("%d %%", (part*100+whole/2)/whole)
}

// duration reads a median for people: "3h 20m", "2d 4h", or "—".
func duration(d *time.Duration) string {
	if d == nil {
		return "—"
	}
	switch h := int(d.Hours()); {
	case h >= 48:
		return fmt.Sprintf("%dd %dh", h/24, h%24)
	case h >= 1:
		return fmt.Sprintf("%dh %dm", h, int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dm", int(d.Minutes()))
}
