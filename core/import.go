package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Imported is a request of the city's history as the system before kept
// it (an Open311 server's answer, a CSV export).
type Imported struct {
	NewRequest
	// Source is the other system's id for it, unique among everything
	// imported: importing it again files nothing.
	Source string
	// ServiceName is the service as the other system names it: with a
	// service code the city does not have, it and the description say
	// which service it is.
	ServiceName string
	At          time.Time // when it was requested
	Status      Status    // "" is new
	Changed     time.Time // when it reached Status: its close, for a closed one
	Notes       string    // its last public note (Open311's status_notes)
}

// Import files a request of the city's history through the one filing
// path, as of its own time: classified when its service is not the
// city's, placed, routed, referred and joined to the same issue as
// things stood then (among the requests open at that time), due as the
// city's hours then said, and with the status it has in the history.
// Nobody is told: no acknowledgment, no update. It returns false, and
// files nothing, when the source's id was imported before.
func (c *Core) Import(ctx context.Context, in Imported) (Request, bool, error) {
	switch {
	case in.Source == "":
		return Request{}, false, invalid("id", "is required: it keeps a second import from filing the request again")
	case in.At.IsZero():
		return Request{}, false, invalid("requested_datetime", "is required")
	case in.At.After(time.Now()):
		return Request{}, false, invalid("requested_datetime", "%s is in the future", in.At.Format(time.RFC3339))
	}
	if err := checkText("id", in.Source, 200); err != nil {
		return Request{}, false, err
	}
	if err := checkText("status_notes", in.Notes, MaxDescription); err != nil {
		return Request{}, false, err
	}
	switch in.Status {
	case "":
		in.Status = StatusNew
	case StatusNew, StatusAcknowledged, StatusInProgress, StatusClosed:
	default:
		return Request{}, false, invalid("status", "%q is not a status (new, acknowledged, in_progress, closed)", in.Status)
	}
	if in.Status != StatusNew && in.Changed.IsZero() {
		in.Changed = in.At
	}
	if in.Changed.Before(in.At) && in.Status != StatusNew {
		return Request{}, false, invalid("updated_datetime", "%s is before the request was made", in.Changed.Format(time.RFC3339))
	}
	if _, ok := c.city.Service(in.ServiceCode); !ok {
		in.ServiceCode = c.city.Classify(strings.TrimSpace(in.ServiceName + " " + in.Description))
	}
	if in.Channel == "" {
		in.Channel = ChannelImport
	}
	if in.Actor == "" {
		in.Actor = "import"
	}
	if id, err := c.q.RequestBySource(ctx, in.Source); err == nil {
		return Request{ID: id}, false, nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return Request{}, false, dbErr(err)
	}
	// Lenient, as a conversation's report: history has no attributes to
	// check, and what is not classified waits in the triage queue.
	r, err := c.file(ctx, nil, filing{NewRequest: in.NewRequest, lenient: true, past: &in})
	if isUniqueViolation(err) {
		// Imported by another run a moment ago.
		if id, err := c.q.RequestBySource(ctx, in.Source); err == nil {
			return Request{ID: id}, false, nil
		}
	}
	if err != nil {
		return Request{}, false, fmt.Errorf("import %s: %w", in.Source, err)
	}
	return r, true, nil
}
