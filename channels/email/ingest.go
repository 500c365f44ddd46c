package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"townline/core"
)

// unknownSender stands for the sender of a message without any usable
// address (.invalid never resolves, so nothing is ever sent to it).
const unknownSender = "unknown-sender@invalid"

// mailbox is one session's view of the selected mailbox.
type mailbox struct {
	w        *Watcher
	cl       *imapclient.Client
	caps     imap.CapSet
	validity uint32
}

// key names a message by place: "imap:INBOX:UIDVALIDITY:UID".
func (s *mailbox) key(uid imap.UID) string {
	return fmt.Sprintf("imap:%s:%d:%d", s.w.mailbox, s.validity, uid)
}

// catchUp reads every message after the last UID done. The last UID is
// kept per UIDVALIDITY: when the server renumbers the mailbox, the new
// UIDVALIDITY has no last UID and the whole mailbox is read again, with
// core's dedupe on Message-ID recognising what was already stored.
func (s *mailbox) catchUp(ctx context.Context) error {
	w := s.w
	stateKey := fmt.Sprintf("email:last-uid:%s:%d", w.mailbox, s.validity)
	v, err := w.core.ChannelState(ctx, stateKey)
	if err != nil {
		return err
	}
	last, _ := strconv.ParseUint(v, 10, 32)
	var uids []imap.UID
	err = w.guard(s.cl, "UID SEARCH", func() error {
		set := imap.UIDSet{imap.UIDRange{Start: imap.UID(last + 1), Stop: 0}} // last+1:*
		data, err := s.cl.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
		if err == nil {
			uids = data.AllUIDs()
		}
		return err
	})
	if err != nil {
		return err
	}
	slices.Sort(uids)
	// last+1:* always matches the highest UID, even an old one. (< last
	// would only read the last one again: moved, it is gone; left, core's
	// dedupe knows it.)
	uids = slices.DeleteFunc(uids, func(u imap.UID) bool { return uint64(u) <= last })
	behind := false // a message before this one is not done yet
	for _, uid := range uids {
		if err := ctx.Err(); err != nil {
			return err
		}
		done, err := s.handle(ctx, uid)
		if err != nil {
			return err
		}
		if !done {
			behind = true
			continue
		}
		if !behind {
			if err := w.core.SetChannelState(ctx, stateKey, strconv.FormatUint(uint64(uid), 10)); err != nil {
				return err
			}
		}
	}
	return nil
}

// handle stores one message and files it away. done is false when it
// failed and stays for another attempt; an error means the connection or
// the database failed (nothing is counted against the message then).
func (s *mailbox) handle(ctx context.Context, uid imap.UID) (done bool, err error) {
	w := s.w
	key := s.key(uid)
	raw, truncated, found, err := s.fetch(uid)
	var refused *imap.Error
	if errors.As(err, &refused) {
		// The server will not give it (a damaged file on its disk, say).
		n, cerr := w.countFailure(ctx, key)
		if cerr != nil {
			return false, cerr
		}
		if n < w.cfg.MaxAttempts {
			w.log.Warn("the server refused a message; will try again", "uid", uid, "attempt", n, "err", err)
			return false, nil
		}
		w.log.Error("the server keeps refusing a message; it stays in the mailbox for staff", "uid", uid, "err", err)
		return true, nil
	}
	if err != nil || !found {
		return !found && err == nil, err // gone: staff moved or deleted it
	}
	dest := ProcessedFolder
	res, err := w.ingest(ctx, raw, key, truncated)
	var invalid *core.ValidationError
	switch {
	case err == nil:
	case ctx.Err() != nil || errors.Is(err, core.ErrUnavailable):
		return false, err
	case errors.As(err, &invalid):
		// Core cannot take it as it is: the same input fails every time.
		w.log.Warn("message refused by core; filing it as unreadable", "uid", uid, "err", err)
		dest = FailedFolder
		res, err = w.unreadable(ctx, raw, key, err.Error())
	default:
		n, cerr := w.countFailure(ctx, key)
		if cerr != nil {
			return false, cerr
		}
		if n < w.cfg.MaxAttempts {
			w.log.Warn("could not read a message; will try again", "uid", uid, "attempt", n, "err", err)
			return false, nil
		}
		w.log.Error("could not read a message; filing it as unreadable", "uid", uid, "attempts", n, "err", err)
		dest = FailedFolder
		res, err = w.unreadable(ctx, raw, key, err.Error())
	}
	switch {
	case err == nil:
	case ctx.Err() != nil || errors.Is(err, core.ErrUnavailable):
		return false, err
	default:
		// Not even filed as unreadable: it stays for the next round.
		w.log.Error("could not file an unreadable message", "uid", uid, "err", err)
		return false, nil
	}
	w.log.Info("mail stored", "uid", uid, "message", res.MessageID, "request", res.RequestID, "duplicate", res.Duplicate, "folder", dest)
	if w.afterIntake != nil {
		if err := w.afterIntake(uid); err != nil {
			return false, err
		}
	}
	return true, s.move(uid, dest)
}

func (w *Watcher) countFailure(ctx context.Context, key string) (int, error) {
	k := "email:failures:" + key
	v, err := w.core.ChannelState(ctx, k)
	if err != nil {
		return 0, err
	}
	n, _ := strconv.Atoi(v)
	n++
	return n, w.core.SetChannelState(ctx, k, strconv.Itoa(n))
}

// maxFetch is the most of one message read into memory: the files
// allowed plus base64's third and room for the text.
func (w *Watcher) maxFetch() int64 { return w.cfg.MaxMessage*4/3 + 2<<20 }

// fetch reads a message without setting \Seen (staff may read the same
// mailbox). A message over maxFetch is read only in part.
func (s *mailbox) fetch(uid imap.UID) (raw []byte, truncated, found bool, err error) {
	var size int64
	err = s.w.guard(s.cl, "UID FETCH RFC822.SIZE", func() error {
		msgs, err := s.cl.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
		if err == nil && len(msgs) == 1 {
			found, size = true, msgs[0].RFC822Size
		}
		return err
	})
	if err != nil || !found {
		return nil, false, false, err
	}
	section := &imap.FetchItemBodySection{Peek: true}
	if size > s.w.maxFetch() {
		truncated = true
		section.Partial = &imap.SectionPartial{Offset: 0, Size: 1 << 20}
	}
	found = false
	err = s.w.guard(s.cl, "UID FETCH BODY.PEEK[]", func() error {
		msgs, err := s.cl.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err == nil && len(msgs) == 1 && len(msgs[0].BodySection) == 1 {
			found, raw = true, msgs[0].BodySection[0].Bytes
		}
		return err
	})
	return raw, truncated, found, err
}

// move files a stored message away. MOVE where the server has it; else
// COPY, flag and UID EXPUNGE of that one UID (UIDPLUS); else it stays,
// since a plain EXPUNGE would also remove messages others flagged.
func (s *mailbox) move(uid imap.UID, folder string) error {
	set := imap.UIDSetNum(uid)
	try := func() error {
		switch {
		case s.caps.Has(imap.CapMove):
			return s.w.guard(s.cl, "UID MOVE", func() error { _, err := s.cl.Move(set, folder).Wait(); return err })
		case s.caps.Has(imap.CapUIDPlus):
			if err := s.w.guard(s.cl, "UID COPY", func() error { _, err := s.cl.Copy(set, folder).Wait(); return err }); err != nil {
				return err
			}
			err := s.w.guard(s.cl, "UID STORE", func() error {
				return s.cl.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
			})
			if err != nil {
				return err
			}
			return s.w.guard(s.cl, "UID EXPUNGE", func() error { return s.cl.UIDExpunge(set).Close() })
		}
		return nil
	}
	err := try()
	var imapErr *imap.Error
	if errors.As(err, &imapErr) && imapErr.Code == imap.ResponseCodeTryCreate {
		if err = s.w.create(s.cl, folder); err == nil {
			err = try()
		}
	}
	if errors.As(err, &imapErr) {
		// Refused, not broken: the message stays; dedupe and the last UID
		// keep it from being stored twice.
		s.w.log.Error("could not move a stored message", "uid", uid, "folder", folder, "err", err)
		return nil
	}
	return err
}

// limits are the blob store's for one file, and ours for a message.
func (w *Watcher) limits() Limits {
	return Limits{Part: w.core.Blobs().Max(), Message: w.cfg.MaxMessage, Files: 20}
}

// ingest turns a raw message into core.Inbound and hands it to core.
func (w *Watcher) ingest(ctx context.Context, raw []byte, key string, truncated bool) (res core.IntakeResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading the message failed: %v", r)
		}
	}()
	m := w.parse(raw, w.limits())
	if truncated {
		for _, f := range m.Files {
			m.Refused = append(m.Refused, fmt.Sprintf("%s refused: the message is over %s", f.Name, megabytes(w.maxFetch())))
		}
		m.Files = nil
	}
	if len(m.Problems) > 0 { // a log line only: any test here changes nothing else
		w.log.Info("message repaired while reading", "key", key, "problems", strings.Join(m.Problems, "; "))
	}
	in := core.Inbound{
		Channel:    core.ChannelEmail,
		From:       m.From,
		To:         w.addr,
		Subject:    core.Truncate(m.Subject, 1000),
		Text:       core.Truncate(TrimReply(m.Text), core.MaxDescription),
		Refused:    m.Refused,
		ProviderID: providerID(m.MessageID, raw),
		DedupeKeys: []string{key},
		InReplyTo:  m.References,
		Automatic:  m.Automatic != "",
	}
	if in.From == "" {
		return res, &core.ValidationError{Field: "email", Problem: "the message names no sender"}
	}
	if id, bounces := w.tokens.tag(w.addr, m.From); strings.EqualFold(m.From, w.addr) || id != 0 || bounces {
		in.Automatic = true // from ourselves: answering would loop
	}
	for _, r := range m.Recipients {
		id, bounces := w.tokens.tag(w.addr, r)
		if bounces {
			in.Automatic = true // anything to the bounce address is a report
		}
		if id != 0 && in.RequestRef == 0 {
			in.RequestRef = id
		}
	}
	// A delivery report: the address it failed for bounces. Done before
	// the intake, so that a crash in between repeats it harmlessly.
	for _, b := range m.Bounced {
		err := w.core.MarkBouncing(ctx, b.Address, b.Why)
		var invalid *core.ValidationError
		if err != nil && !errors.As(err, &invalid) {
			return res, err
		}
	}
	if in.Raw, err = w.storeRaw(raw); err != nil {
		return res, err
	}
	for _, f := range m.Files {
		blob, err := w.core.Blobs().Put(bytes.NewReader(f.Data))
		if errors.Is(err, core.ErrTooLarge) {
			in.Refused = append(in.Refused, fmt.Sprintf("%s refused: over %s", f.Name, megabytes(w.core.Blobs().Max())))
			continue
		}
		if err != nil {
			return res, err
		}
		in.Uploads = append(in.Uploads, core.Upload{Blob: blob, Filename: f.Name})
	}
	return w.core.Intake(ctx, in)
}

// unreadable files a message core could not take, or that failed too
// often, for staff: the raw message and what we know of the sender.
func (w *Watcher) unreadable(ctx context.Context, raw []byte, key, why string) (core.IntakeResult, error) {
	from := unknownSender
	func() {
		defer func() { recover() }()
		h, _ := readHeader(raw)
		for _, name := range []string{"From", "Sender", "Reply-To", "Return-Path"} {
			if as := addresses(h.Get(name)); len(as) > 0 {
				from = as[0]
				return
			}
		}
	}()
	rawUp, err := w.storeRaw(raw)
	if err != nil {
		return core.IntakeResult{}, err
	}
	in := core.Inbound{
		Channel: core.ChannelEmail, From: from, To: w.addr, Raw: rawUp,
		ProviderID: providerID("", raw), DedupeKeys: []string{key}, Unreadable: core.Truncate(oneLine(why), 500),
	}
	res, err := w.core.Intake(ctx, in)
	var invalid *core.ValidationError
	if errors.As(err, &invalid) && from != unknownSender {
		in.From = unknownSender // the address itself was the trouble
		res, err = w.core.Intake(ctx, in)
	}
	return res, err
}

// storeRaw keeps the message as received, for staff: up to the message
// limit plus room for its encoding (base64 grows a third). One larger
// still keeps its header only.
func (w *Watcher) storeRaw(raw []byte) (*core.Upload, error) {
	name := "message.eml"
	blob, err := w.core.Blobs().PutLimit(bytes.NewReader(raw), w.cfg.MaxMessage*4/3+1<<20)
	if errors.Is(err, core.ErrTooLarge) {
		name = "message-header.eml"
		head := raw
		if h, _, ok := bytes.Cut(raw, []byte("\r\n\r\n")); ok {
			head = raw[:len(h)+4]
		} else if h, _, ok := bytes.Cut(raw, []byte("\n\n")); ok {
			head = raw[:len(h)+2]
		}
		blob, err = w.core.Blobs().Put(bytes.NewReader(head[:min(len(head), int(w.core.Blobs().Max()))]))
	}
	if err != nil {
		return nil, err
	}
	return &core.Upload{Blob: blob, Filename: name, Private: true}, nil
}

// providerID is the Message-ID, or a hash of the message when
// it has none (or an unreasonably long one): a redelivery hashes the same.
func providerID(messageID string, raw []byte) string {
	if messageID != "" && len(messageID) <= 200 {
		return messageID
	}
	src := raw
	if messageID != "" {
		src = []byte(messageID)
	}
	sum := sha256.Sum256(src)
	return "sha256:" + hex.EncodeToString(sum[:])
}
