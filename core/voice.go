package core

// What the phone menu needs from core: filing a caller's report exactly
// once however often Twilio delivers the webhook, recordings and their
// late transcripts, and the caller's choice of texts. Reports made on a
// call are not conversations (Intake): the menu asks its own questions and
// files a complete report at the end.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nyaruka/phonenumbers"
)

// CallReport is a report a caller completed on the phone menu.
type CallReport struct {
	CallSid string
	// Seq tells apart the reports of one call, from 1: the report's
	// inbound message is named CallSid/Seq, which is what makes filing
	// it twice impossible.
	Seq     int
	Request NewRequest // Channel voice; Reporter.Phone is the caller's number, if valid
	// Said is what the caller said, as recognised, for staff.
	Said string
	// Recordings are the RecordingSids of answers the menu recorded because
	// speech recognition was unsure: their transcripts join the description.
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
// holding what the caller said, in one transaction. The same CallSid and
// Seq always give back the same request, even when a redelivered webhook
// races the first.
func (c *Core) FileCallReport(ctx context.Context, r CallReport) (CallFiled, error) {
	if r.CallSid == "" || len(r.CallSid) > 100 || r.Seq < 1 {
		return CallFiled{}, invalid("CallSid", "a call report needs the call's id and the report's number")
	}
	if err := checkText("Said", r.Said, MaxDescription); err != nil {
		return CallFiled{}, err
	}
	r.Request.Channel = ChannelVoice
	in, _, err := c.validateNew(r.Request)
	if err != nil {
		return CallFiled{}, err
	}
	key := fmt.Sprintf("%s/%d", r.CallSid, r.Seq)
	var f CallFiled
	err = c.tx(ctx, func(tx pgx.Tx) error {
		ct, err := upsertContact(ctx, tx, in.Reporter)
		if err != nil {
			return err
		}
		var msgID int64
		err = tx.QueryRow(ctx, `
			INSERT INTO messages (contact_id, direction, channel, provider_id, body, state)
			VALUES (NULLIF($1, 0), 'in', 'voice', $2, $3, 'received')
			ON CONFLICT (channel, provider_id) WHERE direction = 'in' AND provider_id IS NOT NULL DO NOTHING
			RETURNING id`, ct.ID, key, r.Said).Scan(&msgID)
		if errors.Is(err, pgx.ErrNoRows) {
			f.Again = true
			var id int64
			err := tx.QueryRow(ctx, `SELECT COALESCE(request_id, 0) FROM messages
				WHERE channel = 'voice' AND direction = 'in' AND provider_id = $1`, key).Scan(&id)
			if err != nil {
				return err
			}
			f.Request, err = scanRequest(tx.QueryRow(ctx, `SELECT `+requestColumns+requestFrom+`WHERE r.id = $1`, id))
			f.TextsOK, f.OfferTexts = c.textsChoice(ct)
			return err
		}
		if err != nil {
			return err
		}
		if in.Reporter.Language != "" && ct.ID != 0 && (ct.Language != in.Reporter.Language || !ct.LanguageChosen) {
			// A caller chose the language by pressing a key: texts follow it.
			if _, err := tx.Exec(ctx, `UPDATE contacts SET language = $2, language_chosen = true WHERE id = $1`,
				ct.ID, in.Reporter.Language); err != nil {
				return err
			}
			ct.Language, ct.LanguageChosen = in.Reporter.Language, true
		}
		// Transcripts that came before the report was filed join it now;
		// later ones join it in SaveRecording. The lock orders the two.
		rows, err := tx.Query(ctx, `SELECT body FROM messages
			WHERE channel = 'voice' AND direction = 'in' AND provider_id = ANY($1) ORDER BY id FOR UPDATE`, r.Recordings)
		if err != nil {
			return err
		}
		bodies, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, b := range bodies {
			in.Description = joinDescription(in.Description, transcriptOf(b))
		}
		row, err := c.insertRequest(ctx, tx, newRow{NewRequest: in, ContactID: ct.ID})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE messages SET request_id = $1, contact_id = COALESCE(contact_id, NULLIF($3, 0))
			WHERE id = $2 OR (channel = 'voice' AND direction = 'in' AND provider_id = ANY($4))`,
			row.ID, msgID, ct.ID, r.Recordings); err != nil {
			return err
		}
		f.Request, err = scanRequest(tx.QueryRow(ctx, `SELECT `+requestColumns+requestFrom+`WHERE r.id = $1`, row.ID))
		if err != nil {
			return err
		}
		f.TextsOK, f.OfferTexts = c.textsChoice(ct)
		if ct.ID == 0 {
			return nil
		}
		// Only a caller who takes texts gets an acknowledgment: the others
		// heard their number on the call (enqueueFor skips a voice "ack").
		_, err = c.enqueueFor(ctx, tx, ct, outMsg{
			RequestID: row.ID, Origin: ChannelVoice, Kind: "ack", Data: c.requestData(f.Request), Auto: true,
		})
		return err
	})
	if err != nil {
		return CallFiled{}, fmt.Errorf("file call report %s: %w", key, err)
	}
	if !f.Again {
		c.created(f.Request.ID, ChannelVoice, f.Request.ServiceCode, f.Request.Department)
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
	err = c.tx(ctx, func(tx pgx.Tx) error {
		// The contact stays locked: two deliveries of the webhook take turns.
		ct, err := upsertContact(ctx, tx, Reporter{Phone: phone})
		if err != nil {
			return err
		}
		if ct.TextsOK {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE contacts SET texts_ok = true WHERE id = $1`, ct.ID); err != nil {
			return err
		}
		ct.TextsOK = true
		r, err := scanRequest(tx.QueryRow(ctx, `SELECT `+requestColumns+requestFrom+`WHERE r.id = $1`, requestID))
		if errors.Is(err, ErrNotFound) || (err == nil && (r.ContactID == nil || *r.ContactID != ct.ID)) {
			return nil // not the caller's request: nothing to confirm
		}
		if err != nil {
			return err
		}
		_, err = c.enqueueFor(ctx, tx, ct, outMsg{
			RequestID: r.ID, Origin: ChannelVoice, Kind: "ack", Data: c.requestData(r), Auto: true,
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
// recognition could not make out. Twilio reports the recording, then,
// separately and later, its transcript; either may come first or twice.
type Recording struct {
	CallSid      string
	RecordingSid string // the message's provider id
	From         string // the caller's number; may be withheld
	URL          string
	Transcript   string // "" until Twilio has transcribed it
	Voicemail    bool
}

// SaveRecording stores a recording as an inbound voice message for staff,
// or adds its transcript to the one already stored. A voicemail is flagged
// "voicemail" and joins the caller's latest open request, if any; a
// report's recording joins its request when the report is filed, and its
// transcript joins the request's description.
func (c *Core) SaveRecording(ctx context.Context, r Recording) (int64, error) {
	switch {
	case r.RecordingSid == "" || len(r.RecordingSid) > 100:
		return 0, invalid("RecordingSid", "is missing or too long")
	case r.URL != "" && !strings.HasPrefix(r.URL, "https://") && !strings.HasPrefix(r.URL, "http://"):
		return 0, invalid("RecordingUrl", "must be an http or https URL")
	}
	if err := checkText("RecordingUrl", r.URL, MaxMediaURL); err != nil {
		return 0, err
	}
	r.Transcript = strings.TrimSpace(r.Transcript)
	if err := checkText("TranscriptionText", r.Transcript, MaxDescription); err != nil {
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
	err := c.tx(ctx, func(tx pgx.Tx) error {
		ct, err := upsertContact(ctx, tx, rep)
		if err != nil {
			return err
		}
		var requestID int64
		if r.Voicemail && ct.ID != 0 {
			err := tx.QueryRow(ctx, `SELECT id FROM requests WHERE contact_id = $1 AND status <> 'closed'
				ORDER BY requested_at DESC, id DESC LIMIT 1`, ct.ID).Scan(&requestID)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO messages (request_id, contact_id, direction, channel, provider_id, body, state, flag)
			VALUES (NULLIF($1, 0), NULLIF($2, 0), 'in', 'voice', $3, $4, 'received', $5)
			ON CONFLICT (channel, provider_id) WHERE direction = 'in' AND provider_id IS NOT NULL DO NOTHING
			RETURNING id`, requestID, ct.ID, r.RecordingSid, recordingBody(r.URL, r.Transcript), flag).Scan(&id)
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// Stored before: add the transcript, once.
		var body, storedFlag string
		var reqID *int64
		err = tx.QueryRow(ctx, `SELECT id, body, flag, request_id FROM messages
			WHERE channel = 'voice' AND direction = 'in' AND provider_id = $1 FOR UPDATE`, r.RecordingSid).
			Scan(&id, &body, &storedFlag, &reqID)
		if err != nil || r.Transcript == "" || transcriptOf(body) != "" {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE messages SET body = $2 WHERE id = $1`,
			id, body+"\n\n"+r.Transcript); err != nil {
			return err
		}
		if reqID == nil || storedFlag == "voicemail" {
			return nil // a message for staff, not words of the report
		}
		var desc string
		if err := tx.QueryRow(ctx, `SELECT description FROM requests WHERE id = $1 FOR UPDATE`, *reqID).Scan(&desc); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE requests SET description = $2, updated_at = now() WHERE id = $1`,
			*reqID, joinDescription(desc, r.Transcript))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("recording %s: %w", r.RecordingSid, err)
	}
	return id, nil
}

// A recording's message is "Recording: URL", then its transcript after a
// blank line once Twilio sends it. The URL is staff only: it never enters
// a request's public description.
func recordingBody(url, transcript string) string {
	b := "Recording: " + url
	if transcript != "" {
		b += "\n\n" + transcript
	}
	return b
}

func transcriptOf(body string) string {
	if !strings.HasPrefix(body, "Recording: ") {
		return ""
	}
	_, t, _ := strings.Cut(body, "\n\n")
	return t
}

// joinDescription adds a paragraph to a description, within its limit.
func joinDescription(desc, more string) string {
	switch {
	case more == "":
		return desc
	case desc != "":
		more = desc + "\n\n" + more
	}
	return truncate(more, MaxDescription)
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

// ForgetChannelState removes a value a channel no longer needs, such as
// the state of a call that ended.
func (c *Core) ForgetChannelState(ctx context.Context, key string) error {
	_, err := c.pool.Exec(ctx, `DELETE FROM channel_state WHERE key = $1`, key)
	return dbErr(err)
}

// SweepChannelState removes the values under prefix not updated for age:
// the state of calls whose end was never reported.
func (c *Core) SweepChannelState(ctx context.Context, prefix string, age time.Duration) (int64, error) {
	tag, err := c.pool.Exec(ctx, `DELETE FROM channel_state WHERE starts_with(key, $1) AND updated_at < now() - $2::interval`,
		prefix, age)
	return tag.RowsAffected(), dbErr(err)
}
