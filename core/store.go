package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"townline/core/internal/db"
)

// The boundary between the generated queries and core's own types: rows
// come in here and leave as Requests, Contacts and Messages.

// notFound turns "no rows" into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func requestFromDB(r db.RequestDetail) (Request, error) {
	out := Request{
		ID: r.ID, Token: r.Token, ServiceCode: deref(r.ServiceCode), ServiceName: r.ServiceName,
		Description: r.Description, Lat: r.Lat, Lng: r.Lng, Address: r.Address, AddressID: r.AddressID,
		Zipcode: r.Zipcode, MediaURL: r.MediaUrl, Status: Status(r.Status),
		CloseReason: CloseReason(deref(r.CloseReason)), Department: deref(r.DepartmentCode),
		AssigneeID: r.AssigneeID, DuplicateOf: r.DuplicateOf, Channel: Channel(r.Channel),
		ContactID: r.ContactID, DeviceID: r.DeviceID, RequestedAt: r.RequestedAt, UpdatedAt: r.UpdatedAt,
		ExpectedAt: r.ExpectedAt, ClosedAt: r.ClosedAt,
		Reports: int(r.Reports), StatusNotes: r.StatusNotes, PhotoID: r.PhotoID, reporter: r.Reporter,
	}
	if err := json.Unmarshal(r.Attributes, &out.Attributes); err != nil {
		return out, fmt.Errorf("request %d attributes: %w", r.ID, err)
	}
	return out, nil
}

func requestsFromDB(rows []db.RequestDetail) ([]Request, error) {
	out := make([]Request, 0, len(rows))
	for _, row := range rows {
		r, err := requestFromDB(row)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// flagFor is how long an automatic flag pauses a contact's automatic
// answers; one staff set lasts until staff clear it.
const flagFor = 24 * time.Hour

func contactFromDB(ct db.Contact) Contact {
	return Contact{
		ID: ct.ID, Phone: deref(ct.Phone), Email: deref(ct.Email), Name: ct.Name,
		ClientAccount: ct.ClientAccount,
		Language:      ct.Language, OptedOut: ct.OptedOutAt != nil, Bouncing: ct.BouncingAt != nil,
		CreatedAt: ct.CreatedAt, LanguageChosen: ct.LanguageChosen,
		// "<=" survives: no test reads a flag at the very nanosecond it lapses.
		Flagged:    ct.FlaggedAt != nil && (ct.FlaggedBy != nil || time.Since(*ct.FlaggedAt) < flagFor),
		FlagReason: ct.FlagReason, FlaggedBy: ct.FlaggedBy, TextsOK: ct.TextsOk, ReplyBy: Channel(deref(ct.ReplyBy)),
	}
}

func messageFromDB(m db.Message) Message {
	return Message{
		ID: m.ID, RequestID: m.RequestID, ContactID: m.ContactID, UserID: m.UserID, Direction: m.Direction,
		Channel: Channel(m.Channel), ProviderID: deref(m.ProviderID), Subject: m.Subject, Body: m.Body,
		Language: m.Language, State: m.State, Error: m.Error, Attempts: int(m.Attempts),
		CreatedAt: m.CreatedAt, SentAt: m.SentAt, Flag: m.Flag,
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
