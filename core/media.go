package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/paulmach/orb"
	"github.com/riverqueue/river"

	"townline/core/internal/db"
)

// MediaFetcher downloads the files inbound messages point at (an MMS
// photo on the provider's servers, say) with whatever credentials that needs.
type MediaFetcher interface {
	// Fetch opens one media file; core reads at most its own limit from it.
	Fetch(ctx context.Context, url string) (io.ReadCloser, error)
}

// fetchMediaArgs is the job that downloads one inbound message's media.
type fetchMediaArgs struct {
	MessageID int64   `json:"message_id"`
	Media     []Media `json:"media"`
}

func (fetchMediaArgs) Kind() string { return "fetch_media" }

func (fetchMediaArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 5} }

type fetchMediaWorker struct {
	river.WorkerDefaults[fetchMediaArgs]
	core *Core
}

func (w *fetchMediaWorker) NextRetry(job *river.Job[fetchMediaArgs]) time.Time {
	return time.Now().Add(w.core.opts.RetryBase << min(job.Attempt-1, 10))
}

// fetched is one downloaded file, or why it was refused.
type fetched struct {
	upload  Upload
	refused string
}

// Work downloads every file of the message first, then records them all
// in one transaction: a retry starts over and never attaches a file twice.
// Files are stored content-addressed, so a retry costs no disk.
func (w *fetchMediaWorker) Work(ctx context.Context, job *river.Job[fetchMediaArgs]) error {
	c := w.core
	chName, err := c.q.MessageChannel(ctx, job.Args.MessageID)
	if err != nil {
		return dbErr(err)
	}
	ch := Channel(chName)
	fetcher := c.opts.Fetchers[ch]
	if fetcher == nil {
		return river.JobCancel(fmt.Errorf("no media fetcher for the %s channel", ch))
	}
	var files []fetched
	var total int64
	var gps *Place
	lastTry := job.Attempt >= job.MaxAttempts
	for i, m := range job.Args.Media {
		f, err := c.fetchOne(ctx, fetcher, m, i, c.opts.MaxUpload-total)
		if err != nil && !lastTry && !IsPermanent(err) {
			c.log.Warn("media download failed; will retry", "message", job.Args.MessageID, "url", m.URL, "attempt", job.Attempt, "err", err)
			return err
		}
		if err != nil {
			f = fetched{refused: fmt.Sprintf("file %d could not be downloaded: %v", i+1, err)}
		}
		if f.refused == "" {
			total += f.upload.Blob.Size
			if gps == nil {
				gps = c.mediaPlace(f.upload)
			}
		}
		files = append(files, f)
	}
	err = c.tx(ctx, func(t *txn) error {
		return c.recordMedia(ctx, t, job.Args.MessageID, files, gps)
	})
	if err == nil { // a counter's condition: its mutant survives
		c.metrics.jobs.WithLabelValues("fetch_media", "done").Inc()
	}
	return err
}

// fetchOne downloads and stores one file, refusing what is too big or not
// a photo or document we keep.
func (c *Core) fetchOne(ctx context.Context, fetcher MediaFetcher, m Media, i int, room int64) (fetched, error) {
	rc, err := fetcher.Fetch(ctx, m.URL)
	if err != nil {
		return fetched{}, err
	}
	defer rc.Close()
	if room <= 0 {
		return fetched{refused: fmt.Sprintf("file %d refused: the message's files are over %d MB in all", i+1, c.opts.MaxUpload>>20)}, nil
	}
	blob, err := c.blobs.Put(io.LimitReader(rc, room+1))
	if errors.Is(err, ErrTooLarge) || blob.Size > room {
		return fetched{refused: fmt.Sprintf("file %d refused: over %d MB", i+1, c.opts.MaxUpload>>20)}, nil
	}
	if err != nil {
		return fetched{}, err
	}
	declared, _, _ := mime.ParseMediaType(m.ContentType)
	if !IsImage(blob.ContentType) && !isVCard(declared) && blob.ContentType != "application/pdf" {
		return fetched{refused: fmt.Sprintf("file %d refused: %s is not a photo", i+1, blob.ContentType)}, nil
	}
	if isVCard(declared) {
		blob.ContentType = declared // text sniffs as text/plain; the sender's type is what we need
	}
	return fetched{upload: Upload{Blob: blob, Filename: fmt.Sprintf("media-%d%s", i+1, extension(blob.ContentType))}}, nil
}

func isVCard(ct string) bool { return ct == "text/vcard" || ct == "text/x-vcard" }

func extension(ct string) string {
	switch ct {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	case "image/heic":
		return ".heic"
	case "application/pdf":
		return ".pdf"
	case "text/vcard", "text/x-vcard":
		return ".vcf"
	}
	return ""
}

var mapsLinkRE = regexp.MustCompile(`(?:ll=|q=|@)(-?\d{1,2}\.\d+),\s*(-?\d{1,3}\.\d+)`)

// mediaPlace reads a location from a file: a photo's GPS position, or the
// map link in a shared location card (what an iPhone sends as "Send My
// Current Location").
func (c *Core) mediaPlace(u Upload) *Place {
	f, err := c.blobs.Open(u.Blob.SHA256)
	if err != nil {
		return nil
	}
	defer f.Close()
	head, err := io.ReadAll(io.LimitReader(f, 256<<10))
	if err != nil {
		return nil
	}
	var lat, lng float64
	switch {
	case u.Blob.ContentType == "image/jpeg":
		var ok bool
		if lat, lng, ok = PhotoGPS(head); !ok {
			return nil
		}
	case u.Blob.ContentType == "image/heic":
		var ok bool
		if lat, lng, ok = heifGPS(f); !ok {
			return nil
		}
	case isVCard(u.Blob.ContentType):
		m := mapsLinkRE.FindSubmatch(head)
		if m == nil {
			return nil
		}
		lat, _ = strconv.ParseFloat(string(m[1]), 64)
		lng, _ = strconv.ParseFloat(string(m[2]), 64)
	default:
		return nil
	}
	if !c.city.Contains(orb.Point{lng, lat}) {
		return nil
	}
	return &Place{Address: fmt.Sprintf("%.5f, %.5f", lat, lng), Lat: &lat, Lng: &lng, Clear: true}
}

// recordMedia attaches the files to the message, and to its request when it
// has one. A position found in them places a request that has none, or
// completes the draft that waited for it.
func (c *Core) recordMedia(ctx context.Context, t *txn, msgID int64, files []fetched, gps *Place) error {
	msg, err := t.q.LockMessage(ctx, msgID)
	if err != nil {
		return err
	}
	rid := deref(msg.RequestID)
	var refused []string
	for _, f := range files {
		if f.refused != "" {
			refused = append(refused, f.refused)
			continue
		}
		if _, err := insertAttachment(ctx, t.q, msgID, rid, f.upload); err != nil {
			return err
		}
	}
	if rid != 0 {
		if len(refused) > 0 {
			if err := insertEvent(ctx, t, rid, Actor{Name: "system"}, "", "", "", joinLines(refused), false); err != nil {
				return err
			}
		}
		if gps != nil {
			return t.q.PlaceRequest(ctx, db.PlaceRequestParams{ID: rid, Lat: *gps.Lat, Lng: *gps.Lng, Address: gps.Address})
		}
		return nil
	}
	if msg.ContactID == nil {
		return nil
	}
	// The message is part of a draft: resume it if it waited for the photos.
	conv, err := c.lockConversation(ctx, t, *msg.ContactID, Channel(msg.Channel))
	if err != nil || conv.Draft == nil || !slices.Contains(conv.Draft.Messages, msgID) {
		return err
	}
	d, err := c.dialogue(ctx, t, conv)
	if err != nil {
		return err
	}
	d.resume(gps)
	_, err = c.apply(ctx, t, conv, d)
	return err
}

func joinLines(lines []string) string {
	var b bytes.Buffer
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	return b.String()
}
