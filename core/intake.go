package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
)

// Media is a file an inbound message points at, downloaded later by the
// channel's MediaFetcher in a job.
type Media struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
}

// Inbound is one message from a resident, as a channel received it.
type Inbound struct {
	Channel    Channel
	From       string // phone number (any format) or email address
	To         string // the city's number or address it was sent to
	Text       string
	Media      []Media
	ProviderID string   // the provider's message id: redeliveries carry the same one
	Lat, Lng   *float64 // a location the message shared

	// Mail, and any channel that hands over whole files:
	Subject string
	Uploads []Upload // files the channel already stored (attachments)
	Refused []string // files refused, each with why; the resident is told
	Raw     *Upload  // the message as received, kept for staff
	// DedupeKeys are further names of this message ("imap:INBOX:7:42"):
	// if any was seen before, the message is a duplicate.
	DedupeKeys []string
	// InReplyTo lists the provider ids (Message-IDs) of earlier messages
	// this one answers; RequestRef a request the channel verified it is
	// about (a signed reply address). Either joins it to that request.
	InReplyTo  []string
	RequestRef int64
	// Automatic marks machine-made mail (out-of-office, lists): kept as a
	// flagged note, never answered, never a new request.
	Automatic bool
	// Unreadable says why a message could not be read: it goes to the
	// triage queue with its raw form attached.
	Unreadable string
}

// IntakeResult says what became of an inbound message.
type IntakeResult struct {
	MessageID int64
	RequestID int64 // the request it created or joined; 0 while a report is being completed
	Duplicate bool  // ProviderID was seen before: nothing changed
}

// MaxMedia is the most files one message may carry (Twilio's MMS limit).
const MaxMedia = 10

// DraftTTL is how long a half-made report waits for its missing service
// or place before it is filed as it is.
const DraftTTL = 30 * time.Minute

// draft is a report still being completed in a conversation.
type draft struct {
	Service     string   `json:"service,omitempty"`
	Description string   `json:"description,omitempty"`
	Address     string   `json:"address,omitempty"`
	PlaceClear  bool     `json:"place_clear,omitempty"`
	Lat         *float64 `json:"lat,omitempty"`
	Lng         *float64 `json:"lng,omitempty"`
	Messages    []int64  `json:"messages"`
	Awaiting    string   `json:"awaiting,omitempty"` // service, place, which, media
	Choices     []string `json:"choices,omitempty"`  // what each numbered answer stands for
	Asked       int      `json:"asked,omitempty"`    // questions asked for the current gap
}

// conversation is the state of one contact talking over one channel.
type conversation struct {
	ID          int64
	Channel     Channel
	Contact     Contact
	Draft       *draft
	ExpiresAt   *time.Time
	LastRequest int64
	counts      *abuseCounts // read with the lock, when intake did
}

// Intake stores an inbound message and carries the conversation forward,
// all in one transaction: dedupe on the provider's id, find or create the
// contact, answer keywords, complete or start a report, and queue every
// answer. Nothing is sent here; answers go out through the job queue.
func (c *Core) Intake(ctx context.Context, in Inbound) (IntakeResult, error) {
	rep := Reporter{}
	switch in.Channel {
	case ChannelSMS, ChannelVoice:
		rep.Phone = in.From
	case ChannelEmail:
		rep.Email = in.From
	default:
		return IntakeResult{}, invalid("channel", "%q does not converse", in.Channel)
	}
	rep, err := c.normalizeReporter(rep)
	if err != nil {
		return IntakeResult{}, err
	}
	if err := checkText("Body", in.Text, MaxDescription); err != nil {
		return IntakeResult{}, err
	}
	if err := checkText("Subject", in.Subject, 1000); err != nil {
		return IntakeResult{}, err
	}
	if len(in.Media) > MaxMedia {
		return IntakeResult{}, invalid("NumMedia", "%d files; at most %d", len(in.Media), MaxMedia)
	}
	if len(in.ProviderID) > 200 {
		return IntakeResult{}, invalid("MessageSid", "is too long")
	}
	in.Text = strings.TrimSpace(in.Text)

	var res IntakeResult
	var created []createdRequest
	errSeen := errors.New("seen under another key")
	err = c.tx(ctx, func(tx pgx.Tx) error {
		ct, err := upsertContact(ctx, tx, rep)
		if err != nil {
			return err
		}
		contactID := ct.ID
		// One statement stores the message (unless it was seen before),
		// locks the conversation, and counts the recent traffic that the
		// abuse caps weigh.
		var stored *int64
		conv := &conversation{Channel: in.Channel, Contact: ct}
		var raw []byte
		var last *int64
		var counts abuseCounts
		err = tx.QueryRow(ctx, `
			WITH m AS (
				INSERT INTO messages (contact_id, direction, channel, provider_id, subject, body, state)
				VALUES ($1, 'in', $2, NULLIF($3, ''), $5, $4, 'received')
				ON CONFLICT (channel, provider_id) WHERE direction = 'in' AND provider_id IS NOT NULL DO NOTHING
				RETURNING id),
			v AS (
				INSERT INTO conversations (contact_id, channel) SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM m)
				ON CONFLICT (contact_id, channel) DO UPDATE SET channel = EXCLUDED.channel
				RETURNING id, draft, expires_at, request_id)
			SELECT (SELECT id FROM m), v.id, v.draft, v.expires_at, v.request_id, n.*
			FROM v, LATERAL (
				SELECT 1 + count(*) FILTER (WHERE direction = 'in' AND created_at > now() - $6::interval),
				       count(*) FILTER (WHERE direction = 'out' AND auto AND created_at > now() - interval '1 hour'),
				       count(*) FILTER (WHERE direction = 'out' AND auto)
				FROM messages WHERE contact_id = $1 AND created_at > now() - interval '1 day') n`,
			contactID, in.Channel, in.ProviderID, in.Text, truncate(in.Subject, 500), floodWindow).
			Scan(&stored, &conv.ID, &raw, &conv.ExpiresAt, &last, &counts.inbound, &counts.hour, &counts.day)
		if errors.Is(err, pgx.ErrNoRows) {
			res.Duplicate = true
			return tx.QueryRow(ctx, `SELECT id, COALESCE(request_id, 0) FROM messages
				WHERE channel = $1 AND provider_id = $2 AND direction = 'in'`, in.Channel, in.ProviderID).
				Scan(&res.MessageID, &res.RequestID)
		}
		if err != nil {
			return err
		}
		if err := conv.load(raw, last); err != nil {
			return err
		}
		conv.counts = &counts
		res.MessageID = *stored
		msgID := *stored
		if ct.Bouncing && in.Channel == ChannelEmail && !in.Automatic {
			// They wrote from the address: it works again.
			if _, err := tx.Exec(ctx, `UPDATE contacts SET bouncing_at = NULL WHERE id = $1`, contactID); err != nil {
				return err
			}
		}
		if len(in.DedupeKeys) > 0 {
			tag, err := tx.Exec(ctx, `INSERT INTO inbound_keys (key, message_id) SELECT unnest($1::text[]), $2
				ON CONFLICT DO NOTHING`, in.DedupeKeys, msgID)
			if err != nil {
				return err
			}
			if int(tag.RowsAffected()) < len(in.DedupeKeys) {
				return errSeen
			}
		}
		for _, u := range append(in.Uploads, derefUpload(in.Raw)...) {
			if _, err := insertAttachment(ctx, tx, msgID, 0, u); err != nil {
				return err
			}
		}
		if len(in.Media) > 0 {
			if _, err := c.river.InsertTx(ctx, tx, fetchMediaArgs{MessageID: msgID, Media: in.Media}, nil); err != nil {
				return err
			}
		}
		t := &turn{c: c, tx: tx, conv: conv, msgID: msgID, in: in}
		run := t.run
		if in.Channel == ChannelEmail {
			run = t.runMail
		}
		if err := run(ctx); err != nil {
			return err
		}
		res.RequestID = t.requestID
		created = t.created
		return t.save(ctx)
	})
	if errors.Is(err, errSeen) {
		err = c.pool.QueryRow(ctx, `SELECT m.id, COALESCE(m.request_id, 0) FROM inbound_keys k
			JOIN messages m ON m.id = k.message_id WHERE k.key = ANY($1) LIMIT 1`, in.DedupeKeys).
			Scan(&res.MessageID, &res.RequestID)
		return IntakeResult{MessageID: res.MessageID, RequestID: res.RequestID, Duplicate: true}, dbErr(err)
	}
	if err != nil {
		return IntakeResult{}, fmt.Errorf("intake from %s: %w", in.Channel, err)
	}
	for _, r := range created {
		c.created(r.id, in.Channel, r.service, r.dept)
	}
	return res, nil
}

type createdRequest struct {
	id            int64
	service, dept string
}

// lockConversation returns the contact's conversation on a channel, locked
// for this transaction so that one resident's messages are handled one at
// a time, in order. ct is the contact when the caller holds it already
// (read under its row lock); nil reads it.
func (c *Core) lockConversation(ctx context.Context, tx pgx.Tx, contactID int64, ch Channel, ct *Contact) (*conversation, error) {
	conv := &conversation{Channel: ch}
	var raw []byte
	var last *int64
	// The no-op update takes the row lock in the same statement that
	// creates the conversation the first time.
	err := tx.QueryRow(ctx, `INSERT INTO conversations (contact_id, channel) VALUES ($1, $2)
		ON CONFLICT (contact_id, channel) DO UPDATE SET channel = EXCLUDED.channel
		RETURNING id, draft, expires_at, request_id`, contactID, ch).Scan(&conv.ID, &raw, &conv.ExpiresAt, &last)
	if err != nil {
		return nil, err
	}
	if err := conv.load(raw, last); err != nil {
		return nil, err
	}
	if ct != nil {
		conv.Contact = *ct
		return conv, nil
	}
	conv.Contact, err = scanContact(tx.QueryRow(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = $1`, contactID))
	return conv, err
}

// load fills the conversation's draft and last request from their columns.
func (conv *conversation) load(draftJSON []byte, last *int64) error {
	if last != nil {
		conv.LastRequest = *last
	}
	if draftJSON != nil {
		conv.Draft = &draft{}
		if err := json.Unmarshal(draftJSON, conv.Draft); err != nil {
			return fmt.Errorf("conversation %d draft: %w", conv.ID, err)
		}
	}
	return nil
}

// turn is one inbound message being handled within its transaction.
type turn struct {
	c         *Core
	tx        pgx.Tx
	conv      *conversation
	msgID     int64
	in        Inbound
	requestID int64
	created   []createdRequest
	touched   bool // the draft took this message: its clock restarts
}

func (t *turn) save(ctx context.Context) error {
	var raw []byte
	expires := t.conv.ExpiresAt
	if d := t.conv.Draft; d != nil {
		var err error
		if raw, err = json.Marshal(d); err != nil {
			return err
		}
		if t.touched || expires == nil {
			e := time.Now().Add(DraftTTL)
			expires = &e
		}
	} else {
		expires = nil
	}
	_, err := t.tx.Exec(ctx, `UPDATE conversations SET draft = $2, expires_at = $3,
		request_id = NULLIF($4, 0), updated_at = now() WHERE id = $1`,
		t.conv.ID, raw, expires, t.conv.LastRequest)
	return err
}

// reply queues an automatic answer to the resident.
func (t *turn) reply(ctx context.Context, kind string, data messageData) error {
	_, err := t.c.enqueue(ctx, t.tx, t.conv.Contact.ID, outMsg{
		RequestID: data.ID, Origin: t.conv.Channel, Kind: kind, Data: data, Auto: true,
	})
	return err
}

var (
	stopWords  = map[string]bool{"stop": true, "stopall": true, "unsubscribe": true, "cancel": true, "end": true, "quit": true, "revoke": true, "optout": true}
	startWords = map[string]bool{"start": true, "unstop": true, "yes": true}
	helpWords  = map[string]string{"help": "en", "info": "en", "ayuda": "es"}
	langWords  = map[string]string{"espanol": "es", "spanish": "es", "english": "en", "ingles": "en"}
	statusRE   = regexp.MustCompile(`^(?:status|estado)(?:\s+#?\s*(\d{1,12}))?$`)
	newWords   = map[string]bool{"new": true, "nuevo": true, "nueva": true}
	refRE      = regexp.MustCompile(`#\s?(\d{3,12})\b`)
)

func (t *turn) run(ctx context.Context) error {
	ct := &t.conv.Contact
	words := fold(t.in.Text)

	// Opt-out and opt-in keywords are obeyed before anything else, and not
	// answered: the carrier (Twilio) sends the confirmation itself.
	if stopWords[words] {
		_, err := t.tx.Exec(ctx, `UPDATE contacts SET opted_out_at = now() WHERE id = $1`, ct.ID)
		t.c.log.Info("number opted out", "contact", ct.ID)
		return err
	}
	if startWords[words] {
		_, err := t.tx.Exec(ctx, `UPDATE contacts SET opted_out_at = NULL WHERE id = $1`, ct.ID)
		t.c.log.Info("number opted back in", "contact", ct.ID)
		return err
	}

	if flagged, err := t.c.checkAbuse(ctx, t.tx, ct, t.conv.Channel, t.conv.counts); err != nil || flagged {
		// Kept for staff; no automatic work for a flood.
		if err == nil && t.conv.LastRequest != 0 {
			err = t.attach(ctx, t.conv.LastRequest, t.msgID)
		}
		return err
	}

	if err := t.setLanguage(ctx, words); err != nil {
		return err
	}

	if lang, ok := helpWords[words]; ok {
		if !ct.LanguageChosen && lang != ct.Language {
			if err := t.useLanguage(ctx, lang, false); err != nil {
				return err
			}
		}
		return t.reply(ctx, "help", messageData{})
	}
	if lang, ok := langWords[words]; ok {
		if err := t.useLanguage(ctx, lang, true); err != nil {
			return err
		}
		return t.reply(ctx, "lang", messageData{})
	}
	if m := statusRE.FindStringSubmatch(words); m != nil {
		return t.status(ctx, m[1])
	}
	if newWords[words] {
		t.conv.Draft = nil
		return t.reply(ctx, "ask.new", messageData{})
	}

	if err := t.expireDraft(ctx); err != nil {
		return err
	}

	// A message that names one of the resident's requests joins it.
	if m := refRE.FindStringSubmatch(t.in.Text); m != nil && t.conv.Draft == nil {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		var owned bool
		if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM requests WHERE id = $1 AND contact_id = $2)`,
			id, ct.ID).Scan(&owned); err != nil {
			return err
		}
		if owned {
			return t.addTo(ctx, id)
		}
	}

	if t.conv.Draft != nil {
		return t.continueDraft(ctx)
	}
	return t.startReport(ctx)
}

// setLanguage follows the language the resident writes in, unless they
// chose one.
func (t *turn) setLanguage(ctx context.Context, words string) error {
	ct := &t.conv.Contact
	if ct.LanguageChosen {
		return nil
	}
	if lang := DetectLanguage(t.in.Text); lang != "" && lang != ct.Language {
		return t.useLanguage(ctx, lang, false)
	}
	return nil
}

func (t *turn) useLanguage(ctx context.Context, lang string, chosen bool) error {
	t.conv.Contact.Language = lang
	t.conv.Contact.LanguageChosen = t.conv.Contact.LanguageChosen || chosen
	_, err := t.tx.Exec(ctx, `UPDATE contacts SET language = $2, language_chosen = language_chosen OR $3 WHERE id = $1`,
		t.conv.Contact.ID, lang, chosen)
	return err
}

// status answers STATUS (the latest request) or STATUS 1234 (any request:
// its status is public anyway).
func (t *turn) status(ctx context.Context, num string) error {
	var id int64
	if num != "" {
		id, _ = strconv.ParseInt(num, 10, 64)
	} else {
		err := t.tx.QueryRow(ctx, `SELECT id FROM requests WHERE contact_id = $1 ORDER BY requested_at DESC LIMIT 1`,
			t.conv.Contact.ID).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return t.reply(ctx, "status.none", messageData{})
		}
		if err != nil {
			return err
		}
	}
	r, err := scanRequest(t.tx.QueryRow(ctx, `SELECT `+requestColumns+requestFrom+`WHERE r.id = $1`, id))
	if errors.Is(err, ErrNotFound) {
		return t.reply(ctx, "status.none", messageData{ID: id})
	}
	if err != nil {
		return err
	}
	if r.DuplicateOf != nil {
		// The parent carries the progress.
		if p, err := scanRequest(t.tx.QueryRow(ctx, `SELECT `+requestColumns+requestFrom+`WHERE r.id = $1`, *r.DuplicateOf)); err == nil {
			r.Status, r.StatusNotes = p.Status, p.StatusNotes
		}
	}
	return t.reply(ctx, "status.reply", t.c.requestData(r))
}

// attach links an inbound message (and the photos it brings) to a request.
func (t *turn) attach(ctx context.Context, requestID int64, msgIDs ...int64) error {
	_, err := t.tx.Exec(ctx, `
		WITH m AS (UPDATE messages SET request_id = $1, conversation_id = $3 WHERE id = ANY($2)),
		a AS (UPDATE attachments SET request_id = $1 WHERE message_id = ANY($2) AND request_id IS NULL)
		UPDATE requests SET updated_at = now() WHERE id = $1`, requestID, msgIDs, t.conv.ID)
	t.requestID = requestID
	return err
}

// addTo adds the message to a request and says so.
func (t *turn) addTo(ctx context.Context, requestID int64) error {
	if err := t.attach(ctx, requestID, t.msgID); err != nil {
		return err
	}
	t.conv.LastRequest = requestID
	return t.reply(ctx, "added", messageData{ID: requestID})
}

// expireDraft files a draft that waited too long, with what it has.
func (t *turn) expireDraft(ctx context.Context) error {
	if t.conv.Draft == nil || t.conv.ExpiresAt == nil || time.Now().Before(*t.conv.ExpiresAt) {
		return nil
	}
	return t.c.fileExpired(ctx, t.tx, t.conv, &t.created)
}

// startReport handles a message outside any draft.
func (t *turn) startReport(ctx context.Context) error {
	svc := t.c.city.Classify(t.in.Text)
	place := t.place(t.in.Text)
	hasMedia := len(t.in.Media) > 0

	if svc == "" && place.Address == "" {
		open, err := t.openRequests(ctx)
		if err != nil {
			return err
		}
		switch {
		case len(open) == 1 || (len(open) > 1 && t.recent(ctx, open[0])):
			// More words or photos about the report just made.
			return t.addTo(ctx, open[0])
		case len(open) > 1:
			d := &draft{Messages: []int64{t.msgID}, Awaiting: "which", Description: t.in.Text}
			t.conv.Draft, t.touched = d, true
			return t.askWhich(ctx, open)
		}
		if t.in.Text == "" && !hasMedia {
			return nil
		}
	}
	if svc != "" && t.conv.LastRequest != 0 && place.Address == "" {
		// "It's really deep" after a pothole report is about that pothole.
		var sameRecent bool
		err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM requests WHERE id = $1 AND service_code = $2
			AND status <> 'closed' AND requested_at > now() - $3::interval)`, t.conv.LastRequest, svc, DraftTTL).Scan(&sameRecent)
		if err != nil {
			return err
		}
		if sameRecent {
			return t.addTo(ctx, t.conv.LastRequest)
		}
	}
	d := &draft{Service: svc, Description: t.in.Text, Messages: []int64{t.msgID}}
	d.setPlace(place)
	t.conv.Draft, t.touched = d, true
	return t.advance(ctx, hasMedia)
}

// place reads the place from text. A location the message shared (or a
// photo's position) adds its coordinates, and names the place when the
// words do not.
func (t *turn) place(text string) Place {
	p := t.c.city.FindPlace(text)
	if t.in.Lat == nil || t.in.Lng == nil || p.Lat != nil {
		return p
	}
	lat, lng := *t.in.Lat, *t.in.Lng
	if !p.Clear {
		return Place{Address: fmt.Sprintf("%.5f, %.5f", lat, lng), Lat: &lat, Lng: &lng, Clear: true}
	}
	p.Lat, p.Lng = &lat, &lng
	return p
}

func (d *draft) setPlace(p Place) {
	switch {
	case p.Address == "":
	case !p.Clear && d.Address != "" && !d.PlaceClear && p.Address != d.Address:
		// "Myers" now and "5th" in the answer make a corner.
		d.Address, d.PlaceClear = d.Address+" & "+p.Address, true
	case p.Clear || d.Address == "":
		d.Address, d.PlaceClear = p.Address, p.Clear
	}
	if p.Lat != nil {
		d.Lat, d.Lng = p.Lat, p.Lng
	}
}

// continueDraft takes a message as the answer to the draft's question.
func (t *turn) continueDraft(ctx context.Context) error {
	d := t.conv.Draft
	d.Messages = append(d.Messages, t.msgID)
	t.touched = true
	text := t.in.Text
	switch d.Awaiting {
	case "which":
		if n, ok := pick(text, len(d.Choices)); ok {
			id, _ := strconv.ParseInt(d.Choices[n], 10, 64)
			msgs := d.Messages
			t.conv.Draft = nil
			t.conv.LastRequest = id
			if err := t.attach(ctx, id, msgs...); err != nil {
				return err
			}
			return t.reply(ctx, "added", messageData{ID: id})
		}
		// Not a choice: the words start a new report, with what came before.
		d.Awaiting, d.Choices, d.Asked = "", nil, 0
		d.Description = strings.TrimSpace(d.Description + "\n" + text)
		d.Service = t.c.city.Classify(d.Description)
		d.setPlace(t.c.city.FindPlace(d.Description))
		return t.advance(ctx, len(t.in.Media) > 0)
	case "service":
		if n, ok := pick(text, len(d.Choices)); ok {
			d.Service = d.Choices[n]
		} else {
			d.Service = t.c.city.Classify(text)
			d.Description = strings.TrimSpace(d.Description + "\n" + text)
			d.setPlace(t.place(text))
		}
		if d.Service == "" {
			d.Asked++
		}
	case "place":
		p := t.place(text)
		d.setPlace(p)
		if !d.PlaceClear && text != "" {
			// The resident answered our question in their own words
			// ("the Safeway lot on Oro Dam"): that is the place.
			d.Address, d.PlaceClear = truncate(text, MaxAddress), true
		}
		if !d.PlaceClear {
			d.Asked++
		}
	default: // waiting for photos: take what the text adds
		d.Description = strings.TrimSpace(d.Description + "\n" + text)
		if d.Service == "" {
			d.Service = t.c.city.Classify(d.Description)
		}
		d.setPlace(t.place(text))
	}
	return t.advance(ctx, len(t.in.Media) > 0)
}

// advance files the draft when it is complete, or asks for what it lacks.
// After two unanswered questions it files what it has: staff will sort it
// out, and the resident is not left in a loop.
func (t *turn) advance(ctx context.Context, hasMedia bool) error {
	d := t.conv.Draft
	switch {
	case d.Service == "" && d.Asked < 2:
		d.Awaiting = "service"
		d.Choices = t.c.city.Menu
		if !containsString(d.Choices, "other") {
			d.Choices = append(append([]string{}, d.Choices...), "other")
		}
		var opts []choice
		for i, code := range d.Choices {
			key := strconv.Itoa(i + 1)
			if code == "other" {
				key = "0"
			}
			svc, _ := t.c.city.Service(code)
			opts = append(opts, choice{Key: key, Label: svc.Name})
		}
		return t.reply(ctx, "ask.service", messageData{Choices: opts})
	case !d.PlaceClear && hasMedia && d.Awaiting != "media":
		// A photo may carry its GPS position: let the photo job decide
		// whether the question is needed.
		d.Awaiting = "media"
		return nil
	case !d.PlaceClear && d.Asked < 2 && d.Awaiting != "media":
		if d.Awaiting != "place" {
			d.Asked = 0
		}
		d.Awaiting = "place"
		return t.reply(ctx, "ask.place", messageData{})
	case !d.PlaceClear && d.Awaiting == "media":
		return nil
	}
	id, err := t.c.fileDraft(ctx, t.tx, t.conv, &t.created)
	t.requestID = id
	return err
}

// fileDraft turns a conversation's draft into a request and acknowledges it.
func (c *Core) fileDraft(ctx context.Context, tx pgx.Tx, conv *conversation, created *[]createdRequest) (int64, error) {
	return c.fileDraftNote(ctx, tx, conv, created, nil)
}

// fileQuietly files a draft without acknowledging it.
func (c *Core) fileQuietly(ctx context.Context, tx pgx.Tx, conv *conversation, created *[]createdRequest) (int64, error) {
	return c.fileDraftAck(ctx, tx, conv, created, nil, false)
}

// fileDraftNote is fileDraft with a note for the acknowledgment (what was
// refused, say).
func (c *Core) fileDraftNote(ctx context.Context, tx pgx.Tx, conv *conversation, created *[]createdRequest, note *string) (int64, error) {
	return c.fileDraftAck(ctx, tx, conv, created, note, true)
}

func (c *Core) fileDraftAck(ctx context.Context, tx pgx.Tx, conv *conversation, created *[]createdRequest, note *string, ack bool) (int64, error) {
	d := conv.Draft
	lat, lng := d.Lat, d.Lng
	if lat != nil && !c.city.Contains(orb.Point{*lng, *lat}) {
		lat, lng = nil, nil // outside the city: keep the words, not the point
	}
	row := newRow{NewRequest: NewRequest{
		Channel: conv.Channel, ServiceCode: d.Service, Description: truncate(d.Description, MaxDescription),
		Lat: lat, Lng: lng, Address: truncate(d.Address, MaxAddress), Actor: string(conv.Channel),
		Attributes: map[string][]string{},
	}, ContactID: conv.Contact.ID}
	ins, err := c.insertRequest(ctx, tx, row)
	if err != nil {
		return 0, err
	}
	id, dept := ins.ID, ins.Department
	if _, err := tx.Exec(ctx, `
		WITH m AS (UPDATE messages SET request_id = $1, conversation_id = $3 WHERE id = ANY($2))
		UPDATE attachments SET request_id = $1 WHERE message_id = ANY($2)`, id, d.Messages, conv.ID); err != nil {
		return 0, err
	}
	conv.Draft = nil
	conv.LastRequest = id
	*created = append(*created, createdRequest{id: id, service: d.Service, dept: dept})
	if !ack {
		return id, nil
	}
	svc, _ := c.city.Service(d.Service)
	data := c.requestData(Request{
		ID: id, ServiceName: svc.Name, Address: row.Address, Status: StatusNew, ExpectedAt: ins.ExpectedAt,
	})
	if note != nil {
		data.Note = *note
	}
	_, err = c.enqueueFor(ctx, tx, conv.Contact, outMsg{RequestID: id, Origin: conv.Channel, Kind: "ack", Data: data, Auto: true})
	return id, err
}

// fileExpired files a draft whose time ran out: a report without a
// service goes to triage rather than nowhere; an unanswered "which
// report?" joins the latest one.
func (c *Core) fileExpired(ctx context.Context, tx pgx.Tx, conv *conversation, created *[]createdRequest) error {
	d := conv.Draft
	if d.Awaiting == "which" && len(d.Choices) > 0 {
		id, _ := strconv.ParseInt(d.Choices[0], 10, 64)
		if _, err := tx.Exec(ctx, `UPDATE messages SET request_id = $1 WHERE id = ANY($2)`, id, d.Messages); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE attachments SET request_id = $1 WHERE message_id = ANY($2)`, id, d.Messages)
		conv.Draft = nil
		return err
	}
	_, err := c.fileDraft(ctx, tx, conv, created)
	return err
}

func (t *turn) openRequests(ctx context.Context) ([]int64, error) {
	rows, err := t.tx.Query(ctx, `SELECT id FROM requests WHERE contact_id = $1 AND status <> 'closed'
		ORDER BY requested_at DESC, id DESC LIMIT 5`, t.conv.Contact.ID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// recent reports whether a request was made within the draft window: a
// message soon after a report is about it.
func (t *turn) recent(ctx context.Context, id int64) bool {
	var yes bool
	t.tx.QueryRow(ctx, `SELECT requested_at > now() - $2::interval FROM requests WHERE id = $1`, id, DraftTTL).Scan(&yes)
	return yes
}

func (t *turn) askWhich(ctx context.Context, ids []int64) error {
	d := t.conv.Draft
	var opts []choice
	for i, id := range ids {
		d.Choices = append(d.Choices, strconv.FormatInt(id, 10))
		var name string
		t.tx.QueryRow(ctx, `SELECT COALESCE(s.name, 'Report') FROM requests r LEFT JOIN services s ON s.code = r.service_code
			WHERE r.id = $1`, id).Scan(&name)
		opts = append(opts, choice{Key: strconv.Itoa(i + 1), Label: fmt.Sprintf("%d %s", id, name)})
	}
	return t.reply(ctx, "ask.which", messageData{Choices: opts})
}

// pick reads a numbered answer: "2", "2.", "#2", or "0" for the last
// choice ("other"). It returns the index.
func pick(text string, n int) (int, bool) {
	s := strings.Trim(strings.TrimSpace(text), "#.)")
	k, err := strconv.Atoi(s)
	switch {
	case err != nil || n == 0:
		return 0, false
	case k == 0:
		return n - 1, true
	case k >= 1 && k <= n:
		return k - 1, true
	}
	return 0, false
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

func derefUpload(u *Upload) []Upload {
	if u == nil {
		return nil
	}
	up := *u
	up.Private = true
	return []Upload{up}
}

// runMail handles a message on a channel that does not converse: mail is
// filed at once, with or without its service and place (staff complete it
// from the triage queue), because a question by mail waits hours.
func (t *turn) runMail(ctx context.Context) error {
	ct := &t.conv.Contact
	flag := func(why string) error {
		_, err := t.tx.Exec(ctx, `UPDATE messages SET flag = $2 WHERE id = $1`, t.msgID, why)
		return err
	}
	if t.in.Unreadable != "" {
		if err := flag("unreadable: " + t.in.Unreadable); err != nil {
			return err
		}
		t.conv.Draft = &draft{Description: "Unreadable message from " + ct.Email + ": " + t.in.Unreadable, Messages: []int64{t.msgID}}
		id, err := t.c.fileQuietly(ctx, t.tx, t.conv, &t.created)
		t.requestID = id
		return err
	}

	// A reply in a thread joins its request, if it came from the reporter.
	id, err := t.threadRequest(ctx)
	if err != nil {
		return err
	}
	if t.in.Automatic {
		if err := flag("automatic reply"); err != nil {
			return err
		}
		if id != 0 {
			return t.attach(ctx, id, t.msgID)
		}
		return nil
	}
	if id != 0 {
		var reporter bool
		if err := t.tx.QueryRow(ctx, `SELECT contact_id IS NOT DISTINCT FROM $2 FROM requests WHERE id = $1`,
			id, ct.ID).Scan(&reporter); err != nil {
			return err
		}
		if !reporter {
			// Someone else wrote into the thread (a forward, a neighbour):
			// staff decide; it is not the reporter's word.
			if err := flag("not from the request's reporter"); err != nil {
				return err
			}
		}
		return t.attach(ctx, id, t.msgID)
	}

	if flagged, err := t.c.checkAbuse(ctx, t.tx, ct, t.conv.Channel, t.conv.counts); err != nil || flagged {
		return err
	}
	if err := t.setLanguage(ctx, ""); err != nil {
		return err
	}
	text := strings.TrimSpace(t.in.Subject + "\n" + t.in.Text)
	d := &draft{Service: t.c.city.Classify(text), Description: text, Messages: []int64{t.msgID}}
	d.setPlace(t.place(t.in.Text))
	if !d.PlaceClear {
		d.setPlace(t.place(t.in.Subject))
	}
	t.conv.Draft = d
	var note *string
	if len(t.in.Refused) > 0 {
		n := joinLines(t.in.Refused)
		note = &n
	}
	id, err = t.c.fileDraftNote(ctx, t.tx, t.conv, &t.created, note)
	t.requestID = id
	return err
}

// threadRequest finds the request a message answers: one the channel
// verified, or the request of a message it replies to.
func (t *turn) threadRequest(ctx context.Context) (int64, error) {
	if t.in.RequestRef != 0 {
		var ok bool
		if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM requests WHERE id = $1)`, t.in.RequestRef).Scan(&ok); err != nil || ok {
			return t.in.RequestRef, err
		}
	}
	if len(t.in.InReplyTo) == 0 {
		return 0, nil
	}
	var id int64
	err := t.tx.QueryRow(ctx, `SELECT request_id FROM messages WHERE channel = $1 AND provider_id = ANY($2)
		AND request_id IS NOT NULL ORDER BY created_at DESC LIMIT 1`, t.conv.Channel, t.in.InReplyTo).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return id, err
}
