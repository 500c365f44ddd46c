package voice

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"townline/core"
)

// Checking on a request: the caller keys its number and the pound key,
// and hears its service, place, status and latest public note. Any
// request's status is public, as on its tracking page.

func (t *turn) askLookup(tries int) {
	t.ask("lookup", tries, keys(0), t.r.prompt(t.call.Lang, "lookup", nil))
}

func (t *turn) lookup(ctx context.Context) error {
	num := strings.Trim(t.in.Digits, "*#")
	id, err := strconv.ParseInt(num, 10, 64)
	if err != nil || id <= 0 {
		t.retry(t.askLookup)
		return nil
	}
	r, err := t.h.core.RequestStatus(ctx, id)
	if errors.Is(err, core.ErrNotFound) {
		w := t.words()
		w.ID = id
		t.retry(t.askLookup, t.r.prompt(t.call.Lang, "lookup.none", w))
		return nil
	}
	if err != nil {
		return err
	}
	w := t.words()
	w.ID, w.Address, w.Status, w.Reason, w.Note = r.ID, r.PublicAddress(), r.Status, r.CloseReason, r.StatusNotes
	w.Service = t.h.core.City().ServiceName(r.ServiceCode, r.ServiceName, t.call.Lang)
	t.r.say("lookup.found", w)
	t.askNext()
	return nil
}
