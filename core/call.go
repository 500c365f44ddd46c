package core

// What the phone menu needs from core: filing a caller's report exactly
// once however often the provider delivers its webhook, recordings and
// their late transcripts, and the caller's choice of texts. Reports made
// on a call are not conversations (Intake): the menu asks its own
// questions and files a complete report at the end.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/nyaruka/phonenumbers"

	"townline/core/internal/db"
)

// CallReport is a report a caller completed on the phone menu.
type CallReport struct {
	CallID string // the provider's id of the call
	// Seq tells apart the reports of one call, from 1: the report's
	// inbound message is named CallID/Seq, which is what makes filing it
	// twice impossible.
	Seq     int
	Request NewRequest // Channel voice; Reporter.Phone is the caller's number, if valid
	// Said is what the caller said, as recognised, for staff.
	Said string
	// Recordings are the ids of answers the menu recorded because speech
	// recognition was unsure: their transcripts join the description.
	Recordings []string
}

// CallFiled says what filing a call report did.
type CallFiled struct {
	Request Request
	Again   bool // filed before: a redelivered webhook; nothing changed
	// TextsOK: the caller takes texts, so the acknowledgment went by text.
	TextsOK bool
	// OfferTexts: the caller could take texts but has not said so yet.
	OfferTexts bool
}

// FileCallReport files a report made on a call, with an inbound message
// holding what the caller said, in one transaction. The same CallID and
// Seq always give back the same request, even when a redelivered webhook
// races the first.
func (c *Core) FileCallReport(ctx context.Context, r CallReport) (CallFiled, error) {
	if r.CallID == "" || len(r.CallID) > 100 || r.Seq < 1 {
		return CallFiled{}, invalid("call", "a call report needs the call's id and the report's number")
	}
	fields := []textField{{"call_id", r.CallID, 100}, {"said", r.Said, MaxDescription}}
	for _, id := range r.Recordings {
		fields = append(fields, textField{"recording_id", id, 100})
	}
	if err := c.checkFields(fields...); err != nil {
		return CallFiled{}, err
	}
	r.Request.Channel = ChannelVoice
	in, _, err := c.validateNew(r.Request, false)
	if err != nil {
		return CallFiled{}, err
	}
	key := fmt.Sprintf("%s/%d", r.CallID, r.Seq)
	var f CallFiled
	err = c.tx(ctx, func(t *txn) error {
		ct, err := upsertContact(ctx, t.q, in.Reporter)
		if err != nil {
			return err
		}
		msgID, err := t.q.InsertCallMessage(ctx, db.InsertCallMessageParams{ContactID: ct.ID, ProviderID: key, Body: r.Said})
		if errors.Is(err, pgx.ErrNoRows) {
			f.Again = true
			seen, err := t.q.InboundByProviderID(ctx, db.InboundByProviderIDParams{Channel: string(ChannelVoice), ProviderID: key})
			if err != nil {
				return err
			}
			f.Request, err = c.requestOn(ctx, t.q, seen.RequestID)
			f.TextsOK, f.OfferTexts = c.textsChoice(ct)
			return err
		}
		if err != nil {
			return err
		}
		if in.Reporter.Language != "" && ct.ID != 0 && (ct.Language != in.Reporter.Language || !ct.LanguageChosen) {
			// A caller chose the language by pressing a key: texts follow it.
			if err := t.q.SetLanguage(ctx, db.SetLanguageParams{ID: ct.ID, Language: in.Reporter.Language, Chosen: true}); err != nil {
				return err
			}
			ct.Language, ct.LanguageChosen = in.Reporter.Language, true
		}
		// Transcripts that came before the report was filed join it now;
		// later ones join it in SaveRecording. The lock orders the two.
		recs, err := t.q.LockRecordings(ctx, r.Recordings)
		if err != nil {
			return err
		}
		messages := []int64{msgID}
		for _, rec := range recs {
			in.Description = joinDescription(in.Description, transcriptOf(rec.Body))
			messages = append(messages, rec.ID)
		}
		// Only a caller who takes texts gets an acknowledgment: the others
		// heard their number on the call (enqueueFor skips a voice "ack").
		f.Request, err = c.file(ctx, t, filing{NewRequest: in, contact: &ct, messages: messages, ack: true})
		f.TextsOK, f.OfferTexts = c.textsChoice(ct)
		return err
	})
	if err != nil {
		return CallFiled{}, fmt.Errorf("file call report %s: %w", key, err)
	}
	return f, nil
}

// textsChoice says whether a caller takes texts, and whether to offer
// them: only to a number that can receive them, when the city sends texts
// at all, and never to one that texted STOP.
func (c *Core) textsChoice(ct Contact) (ok, offer bool) {
	if ct.ID == 0 || ct.Phone == "" || ct.OptedOut || c.opts.Senders[ChannelSMS] == nil {
		return false, false
	}
	return ct.TextsOK, !ct.TextsOK && MaybeMobile(ct.Phone, c.city.PhoneRegion)
}

// MaybeMobile says whether a number may reach a mobile phone. North
// American numbers do not tell mobile from fixed lines, so those count.
func MaybeMobile(phone, region string) bool {
	num, err := phonenumbers.Parse(phone, region)
	if err != nil {
		return false
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return true
	}
	return false
}

// AcceptTexts records that a caller wants texts and sends the
// confirmation of the request they just made by text. A second call
// changes nothing: a redelivered webhook sends no second text.
func (c *Core) AcceptTexts(ctx context.Context, phone string, requestID int64) error {
	phone, err := NormalizePhone(phone, c.city.PhoneRegion)
	if err != nil {
		return invalid("phone", "%v", err)
	}
	err = c.tx(ctx, func(t *txn) error {
		// The contact stays locked: two deliveries of the webhook take turns.
		ct, err := upsertContact(ctx, t.q, Reporter{Phone: phone})
		if err != nil {
			return err
		}
		if ct.TextsOK {
			return nil
		}
		if err := t.q.SetTextsOK(ctx, db.SetTextsOKParams{ID: ct.ID, TextsOk: true}); err != nil {
			return err
		}
		ct.TextsOK = true
		r, err := c.requestOn(ctx, t.q, requestID)
		if errors.Is(err, ErrNotFound) || (err == nil && (r.ContactID == nil || *r.ContactID != ct.ID)) {
			return nil // not the caller's request: nothing to confirm
		}
		if err != nil {
			return err
		}
		_, err = c.enqueueFor(ctx, t, ct, outMsg{
			RequestID: r.ID, Origin: ChannelVoice, Kind: "ack", Data: c.requestData(r, ct.Language), Auto: true,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("accept texts: %w", err)
	}
	return nil
}

// Recording is something a caller said that the phone menu recorded: a
// message for staff (voicemail), or an answer for a report that speech
// recognition could not make out. The provider reports the recording,
// then, separately and later, its transcript; either may come first or
// twice.
type Recording struct {
	CallID     string
	ID         string // the provider's id of the recording: the message's provider id
	From       string // the caller's number; may be withheld
	URL        string
	Transcript string // "" until the provider has transcribed it
	Voicemail  bool
}

// SaveRecording stores a recording as an inbound voice message for staff,
// or adds its transcript to the one already stored. A voicemail is flagged
// "voicemail" and joins the caller's latest open request, if any; a
// report's recording joins its request when the report is filed, and its
// transcript joins the request's description.
func (c *Core) SaveRecording(ctx context.Context, r Recording) (int64, error) {
	switch {
	case r.ID == "" || len(r.ID) > 100:
		return 0, invalid("recording", "its id is missing or too long")
	case r.URL != "" && !strings.HasPrefix(r.URL, "https://") && !strings.HasPrefix(r.URL, "http://"):
		return 0, invalid("recording_url", "must be an http or https URL")
	}
	r.Transcript = strings.TrimSpace(r.Transcript)
	if err := c.checkFields(
		textField{"recording_id", r.ID, 100},
		textField{"recording_url", r.URL, MaxMediaURL},
		textField{"transcript", r.Transcript, MaxDescription},
	); err != nil {
		return 0, err
	}
	rep := Reporter{}
	if phone, err := NormalizePhone(r.From, c.city.PhoneRegion); err == nil {
		rep.Phone = phone
	}
	flag := ""
	if r.Voicemail {
		flag = "voicemail"
	}
	var id int64
	err := c.tx(ctx, func(t *txn) error {
		ct, err := upsertContact(ctx, t.q, rep)
		if err != nil {
			return err
		}
		var requestID int64
		if r.Voicemail && ct.ID != 0 {
			requestID, err = t.q.LatestOpenRequestOf(ctx, ct.ID)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		id, err = t.q.InsertRecording(ctx, db.InsertRecordingParams{
			RequestID: requestID, ContactID: ct.ID, ProviderID: r.ID, Body: recordingBody(r.URL, r.Transcript), Flag: flag,
		})
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// Stored before: add the transcript, once.
		rec, err := t.q.LockRecording(ctx, r.ID)
		id = rec.ID
		if err != nil || r.Transcript == "" || transcriptOf(rec.Body) != "" {
			return err
		}
		if err := t.q.SetMessageBody(ctx, db.SetMessageBodyParams{ID: rec.ID, Body: rec.Body + "\n\n" + r.Transcript}); err != nil {
			return err
		}
		if rec.RequestID == nil || rec.Flag == "voicemail" {
			return nil // a message for staff, not words of the report
		}
		desc, err := t.q.LockRequestDescription(ctx, *rec.RequestID)
		if err != nil {
			return err
		}
		return t.q.SetRequestDescription(ctx, db.SetRequestDescriptionParams{
			ID: *rec.RequestID, Description: joinDescription(desc, r.Transcript),
		})
	})
	if err != nil {
		return 0, fmt.Errorf("recording %s: %w", r.ID, err)
	}
	return id, nil
}

// A recording's message is "Recording: URL", then its transcript after a
// blank line once the provider sends it. The URL is staff only: it never enters
// a request's public description.
func recordingBody(url, transcript string) string {
	b := "Recording: " + url
	if transcript != "" {
		b += "\n\n" + transcript
	}
	return b
}

func transcriptOf(body string) string {
	_, t := recordingOf(body)
	return t
}

// recordingOf reads a recording's message body: its URL, "" when the body
// is not a recording's, and its transcript.
func recordingOf(body string) (url, transcript string) {
	rest, ok := strings.CutPrefix(body, "Recording: ")
	if !ok {
		return "", ""
	}
	url, transcript, _ = strings.Cut(rest, "\n\n")
	return url, transcript
}

// Recording reports whether m is a recording the phone menu made (a
// voicemail, or an answer it could not make out), and its transcript.
func (m Message) Recording() (ok bool, transcript string) {
	url, transcript := recordingOf(m.Body)
	return m.Channel == ChannelVoice && m.Direction == "in" && url != "", transcript
}

// OpenRecording opens the audio of recording message id for u, who must
// be allowed to see its request (a recording on no request is for
// dispatchers): townline fetches it from the provider with the account's
// credentials, so staff need no login there.
func (c *Core) OpenRecording(ctx context.Context, u User, id int64) (io.ReadCloser, error) {
	m, err := c.Message(ctx, id)
	if err != nil {
		return nil, err
	}
	url, _ := recordingOf(m.Body)
	if ok, _ := m.Recording(); !ok {
		return nil, ErrNotFound
	}
	switch {
	case m.RequestID != nil:
		if _, err := c.StaffRequest(ctx, u, *m.RequestID); err != nil {
			return nil, err
		}
	case !u.AllDepartments():
		return nil, ErrNotFound
	}
	f := c.opts.Fetchers[ChannelVoice]
	if f == nil {
		return nil, fmt.Errorf("recording %d: the phone channel is not connected", id)
	}
	return f.Fetch(ctx, url)
}

// joinDescription adds a paragraph to a description, within its limit.
func joinDescription(desc, more string) string {
	switch {
	case more == "":
		return desc
	case desc != "":
		more = desc + "\n\n" + more
	}
	return Truncate(more, MaxDescription)
}

// RequestStatus returns a request as its reporter should hear about it:
// a duplicate carries its parent's status and latest note.
func (c *Core) RequestStatus(ctx context.Context, id int64) (Request, error) {
	r, err := c.Request(ctx, id)
	if err != nil || r.DuplicateOf == nil {
		return r, err
	}
	p, err := c.Request(ctx, *r.DuplicateOf)
	if err != nil {
		return r, err
	}
	r.Status, r.CloseReason, r.StatusNotes = p.Status, p.CloseReason, p.StatusNotes
	return r, nil
}
