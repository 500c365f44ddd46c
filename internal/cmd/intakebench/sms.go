package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"townline/internal/faketwilio"
)

// What every bench resident texts: a service and a place, so each text is
// a new request with its confirmation queued, no question asked.
const smsText = "pothole at 100 Bird Street"

// Confirmation delay is measured at this steady rate, against this target.
const (
	confirmRate   = 50 // texts per second
	confirmTarget = time.Second
	confirmGrace  = 10 * time.Second // after the last text, for the last confirmations
)

// drainStall is how long the wait for a run's confirmations goes without
// a new one before giving up on the rest.
const drainStall = 15 * time.Second

// twilio is the fake Twilio account the server sends through and the
// residents' phones text from.
type twilio struct {
	fake    *faketwilio.Server
	webhook string       // the server's /twilio/sms
	next    atomic.Int64 // the next resident's index: one text per number
}

// startTwilio starts a fake Twilio account with fresh credentials and
// returns the settings that point "townline serve" at it.
func startTwilio() (*twilio, []string) {
	// Shaped as Twilio's: the SDK wants both alphanumeric.
	fake := faketwilio.New(faketwilio.NewSid("AC"), faketwilio.NewSid(""))
	// No status callbacks: they would be load of their own, and nothing
	// here waits for a delivery.
	fake.SetStatuses(0)
	// Every phone posts through http.DefaultTransport, which keeps two
	// idle connections per host: with 32 senders the rest would dial
	// (and leave in TIME_WAIT) a connection per text, measuring the
	// loopback's handshakes and running out of ports rather than
	// measuring townline.
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t.MaxIdleConns = max(t.MaxIdleConns, 256)
		t.MaxIdleConnsPerHost = 256
	}
	return &twilio{fake: fake}, []string{
		"TWILIO_ACCOUNT_SID=" + fake.AccountSID,
		"TWILIO_AUTH_TOKEN=" + fake.AuthToken,
		"TWILIO_FROM=" + faketwilio.CityNumber,
		"TWILIO_API_URL=" + fake.URL(),
	}
}

// residentNumber is the i-th bench resident's phone number: +1530 and
// seven digits from 200 0000 up, room for 8 million texts.
func residentNumber(i int64) string { return fmt.Sprintf("+1530%03d%04d", 200+i/10000, i%10000) }

// residentIndex is the inverse of residentNumber.
func residentIndex(number string) (int64, bool) {
	if len(number) != 12 || number[:5] != "+1530" {
		return 0, false
	}
	for _, c := range number[5:] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, _ := strconv.ParseInt(number[5:], 10, 64)
	if n < 200_0000 {
		return 0, false
	}
	return n - 200_0000, true
}

// skipUsedNumbers starts the numbering after the highest bench number in
// the database, so that in a database kept from an earlier run (with
// DATABASE_URL) every text still comes from a number never seen, a new
// report rather than a follow-up to an open one.
func (t *twilio) skipUsedNumbers(ctx context.Context, db *pgx.Conn) error {
	var last *string
	err := db.QueryRow(ctx, `SELECT max(phone) FROM contacts WHERE phone ~ '^\+1530[2-9][0-9]{6}$'`).Scan(&last)
	if err != nil {
		return fmt.Errorf("read the residents' numbers: %w", err)
	}
	if last != nil {
		if i, ok := residentIndex(*last); ok {
			t.next.Store(i + 1)
		}
	}
	return nil
}

func (t *twilio) number() string { return residentNumber(t.next.Add(1) - 1) }

// text sends one signed text from a new resident, as Twilio delivers it.
func (t *twilio) text(number string) error {
	resp, err := t.fake.Phone(number, t.webhook).Send(smsText)
	if err != nil {
		return err
	}
	return checkAnswer(resp) // Send has read the body already
}

// smsClients is the text load: every call a new resident's first text.
func (t *twilio) smsClients() sender {
	return func() error { return t.text(t.number()) }
}

// confirmations returns how many messages the fake API has accepted.
func (t *twilio) confirmations() int { return len(t.fake.Messages()) }

// drain waits until the fake API holds want messages in all, so that the
// next run does not share the server with the sends this one queued. It
// gives up when none arrives for drainStall, and returns how many it
// found.
func (t *twilio) drain(ctx context.Context, want int) (int, error) {
	have := t.confirmations()
	for ; have < want; have++ {
		wait, cancel := context.WithTimeout(ctx, drainStall)
		_, err := t.fake.Next(wait, have)
		cancel()
		if err != nil {
			return have, ctx.Err()
		}
	}
	return have, nil
}

// confirmResult is the confirmation delay run.
type confirmResult struct {
	rate       int
	sent       int             // texts answered 200
	errors     int             // texts not answered 200
	firstError string          // the first of those
	delays     []time.Duration // webhook sent to confirmation at the fake API, sorted
	missing    int             // texts answered 200 without a confirmation in time
}

func (r confirmResult) percentile(p int) time.Duration { return percentile(r.delays, p) }

func (r confirmResult) met() bool {
	return len(r.delays) > 0 && r.missing == 0 && r.percentile(99) < confirmTarget
}

// runConfirmations texts at rate for duration, each text from a new
// resident and each in its own goroutine so that a slow answer does not
// hold the next one back, and measures from the moment a text's webhook
// is sent to the moment its confirmation reaches the fake API (the fake's
// clock, Message.At). Confirmations get confirmGrace after the last text.
func (t *twilio) runConfirmations(ctx context.Context, rate int, duration time.Duration) (confirmResult, error) {
	res := confirmResult{rate: rate}
	var (
		mu      sync.Mutex // guards all below and res
		sentAt  = map[string]time.Time{}
		arrived = map[string]time.Time{} // first message to each number
		ok      = map[string]bool{}      // answered 200
		wg      sync.WaitGroup
	)
	// Reads every message from now on, in order; messages to other
	// numbers (confirmations queued earlier) are skipped.
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	readerDone := make(chan struct{})
	changed := make(chan struct{}, 1)
	first := t.confirmations()
	go func() {
		defer close(readerDone)
		for i := first; ; i++ {
			m, err := t.fake.Next(readCtx, i)
			if err != nil {
				return
			}
			mu.Lock()
			if _, ours := sentAt[m.To]; ours {
				if _, seen := arrived[m.To]; !seen {
					arrived[m.To] = m.At
				}
			}
			mu.Unlock()
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}()

	tick := time.NewTicker(time.Second / time.Duration(rate))
	n := int(duration.Seconds() * float64(rate))
	for i := 0; i < n && ctx.Err() == nil; i++ {
		select {
		case <-tick.C:
		case <-ctx.Done():
			continue
		}
		number := t.number()
		mu.Lock()
		sentAt[number] = time.Now()
		mu.Unlock()
		wg.Go(func() {
			err := t.text(number)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.errors++
				if res.firstError == "" {
					res.firstError = err.Error()
				}
				return
			}
			ok[number] = true
		})
	}
	tick.Stop()
	wg.Wait() // a text not yet answered cannot be missing yet
	if err := ctx.Err(); err != nil {
		return res, err // cut short: no result
	}

	deadline := time.NewTimer(confirmGrace)
	defer deadline.Stop()
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for number := range ok {
			if _, in := arrived[number]; !in {
				return false
			}
		}
		return true
	}
	for waiting := true; waiting && !done(); {
		select {
		case <-changed:
		case <-deadline.C:
			waiting = false
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	stopReading()
	<-readerDone

	for number := range ok {
		at, in := arrived[number]
		if !in {
			res.missing++
			continue
		}
		res.delays = append(res.delays, at.Sub(sentAt[number]))
	}
	res.sent = len(ok)
	slices.Sort(res.delays)
	return res, nil
}

// runSMS is the throughput run with n senders, then the wait for the
// confirmations it queued.
func (t *twilio) runSMS(ctx context.Context, srv *server, n int, warmup, duration time.Duration) (loadResult, error) {
	before := t.confirmations()
	r, err := runLoad(ctx, []*server{srv}, n, warmup, duration, t.smsClients)
	if err != nil {
		return r, err
	}
	ended := time.Now()
	want := before + int(r.answered)
	got, err := t.drain(ctx, want)
	if err != nil {
		return r, err
	}
	if got < want {
		fmt.Fprintf(os.Stderr, "intakebench: %d senders: %d of %d confirmations reached the fake API; none came for %v\n",
			n, got-before, want-before, drainStall)
	} else {
		fmt.Fprintf(os.Stderr, "intakebench: %d senders: all %d confirmations reached the fake API %.1fs after the run\n",
			n, want-before, time.Since(ended).Seconds())
	}
	return r, nil
}
