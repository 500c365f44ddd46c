package crashtest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"townline/channels/sms"
	"townline/internal/faketwilio"
)

// check asserts the invariants once the load has stopped and the
// outbound queue has settled: every accepted text and filing stored
// once, every outbound message sent exactly once and recorded so,
// nothing left unsent.
func (h *harness) check(l *load) {
	h.t.Helper()
	t := h.t
	ctx := context.Background()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.bad {
		t.Errorf("unexpected answer: %s", b)
	}

	// Texts answered 200: each stored once, by MessageSid, and filed.
	stored := map[string]int{}
	filed := map[string]bool{}
	rows, err := h.db.Query(ctx, `SELECT COALESCE(provider_id, ''), count(*), bool_and(request_id IS NOT NULL) FROM messages
		WHERE direction = 'in' AND channel = 'sms' GROUP BY provider_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var sid string
		var n int
		var ok bool
		if err := rows.Scan(&sid, &n, &ok); err != nil {
			t.Fatal(err)
		}
		stored[sid], filed[sid] = n, ok
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for sid, p := range l.texts {
		switch n := stored[sid]; {
		case n != 1:
			t.Errorf("text %s from %s was answered 200 and is stored %d times", sid, p.Number, n)
		case !filed[sid]:
			t.Errorf("text %s from %s is stored but filed no request", sid, p.Number)
		}
	}

	// Filings answered 2xx: each stored once, under the id answered.
	byDesc := map[string][]int64{}
	rows, err = h.db.Query(ctx, `SELECT id, description FROM requests WHERE channel = 'open311'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var desc string
		if err := rows.Scan(&id, &desc); err != nil {
			t.Fatal(err)
		}
		byDesc[desc] = append(byDesc[desc], id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for desc, id := range l.posts {
		if ids := byDesc[desc]; len(ids) != 1 || ids[0] != id {
			t.Errorf("filing %q was answered with request %d and is stored as %v", desc, id, ids)
		}
	}
	for desc, ids := range byDesc {
		if len(ids) > 1 {
			t.Errorf("filing %q is stored %d times: %v", desc, len(ids), ids)
		}
	}

	// Outbound: every message sent and recorded, each exactly once at
	// Twilio, and Twilio holding nothing else.
	type key struct{ to, body string }
	atTwilio := map[key][]faketwilio.Message{}
	all := h.fake.Messages()
	for _, m := range all {
		k := key{m.To, m.Body}
		atTwilio[k] = append(atTwilio[k], m)
	}
	accounted := map[string]bool{}
	rows, err = h.db.Query(ctx, `SELECT m.id, m.state, m.body, COALESCE(c.phone, ''), COALESCE(m.provider_id, ''), m.error, m.attempts
		FROM messages m LEFT JOIN contacts c ON c.id = m.contact_id WHERE m.direction = 'out' ORDER BY m.id`)
	if err != nil {
		t.Fatal(err)
	}
	outbound := 0
	for rows.Next() {
		var id int64
		var state, body, to, providerID, errText string
		var attempts int
		if err := rows.Scan(&id, &state, &body, &to, &providerID, &errText, &attempts); err != nil {
			t.Fatal(err)
		}
		outbound++
		got := atTwilio[key{to, sms.ToGSM(body)}]
		for _, m := range got {
			accounted[m.Sid] = true
		}
		sent := state == "sent" || state == "delivered"
		switch {
		case !sent:
			t.Errorf("message %d to %s is %s after %d claims (error %q); Twilio has %d of it:\n%s",
				id, to, state, attempts, errText, len(got), h.evidence(id))
		case len(got) == 0:
			t.Errorf("message %d to %s is recorded %s as %s, but Twilio never got it:\n%s", id, to, state, providerID, h.evidence(id))
		case len(got) > 1:
			t.Errorf("message %d to %s was sent %d times (%s), recorded as %s:\n%s",
				id, to, len(got), sids(got), providerID, h.evidence(id))
		case got[0].Sid != providerID:
			t.Errorf("message %d to %s is recorded as %q, but Twilio has it as %s:\n%s", id, to, providerID, got[0].Sid, h.evidence(id))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if !accounted[m.Sid] {
			t.Errorf("Twilio got %s to %s, %q, which no outbound message accounts for", m.Sid, m.To, m.Body)
		}
	}

	// Each accepted text: exactly one confirmation.
	received := map[string]int{}
	for _, m := range all {
		received[m.To]++
	}
	for sid, p := range l.texts {
		if n := received[p.Number]; n != 1 {
			t.Errorf("%s, whose text %s was accepted, received %d texts, want its one confirmation", p.Number, sid, n)
		}
	}
	t.Logf("%d outbound messages, %d at Twilio; %s", outbound, len(all), h.recoveries())
}

func sids(ms []faketwilio.Message) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Sid+" at "+m.At.Format("15:04:05.000"))
	}
	return strings.Join(s, ", ")
}

// recoveries counts what the server logged about interrupted sends: how
// many messages took each way out.
func (h *harness) recoveries() string {
	count := func(msg string) int {
		ids := map[string]bool{}
		re := regexp.MustCompile(`msg="` + regexp.QuoteMeta(msg) + `[^"]*".* message=(\d+)`)
		for _, m := range re.FindAllStringSubmatch(h.logs.all(), -1) {
			ids[m[1]] = true
		}
		return len(ids)
	}
	return fmt.Sprintf("interrupted sends: %d found at Twilio, %d sent afresh, %d left unknown; %d outcomes recorded through a database outage",
		count("an interrupted send had reached the provider"),
		count("an interrupted send never reached the provider"),
		count("message outcome unknown after an interrupted send"),
		count("could not record a send's outcome; retrying"))
}

// claimed lists the messages claimed for a send whose outcome is not
// recorded, with what the server logged about each.
func (h *harness) claimed() string {
	rows, err := h.db.Query(context.Background(), `SELECT id FROM messages WHERE direction = 'out' AND state = 'sending' ORDER BY id`)
	if err != nil {
		return err.Error()
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "\tmessage %d:\n%s", id, h.evidence(id))
	}
	return b.String()
}

// totals is what a redelivered text must not change.
type totals struct{ inbound, requests, outbound, atTwilio int }

func (h *harness) totals() totals {
	var x totals
	err := h.db.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM messages WHERE direction = 'in'), (SELECT count(*) FROM requests),
		(SELECT count(*) FROM messages WHERE direction = 'out')`).Scan(&x.inbound, &x.requests, &x.outbound)
	if err != nil {
		h.t.Fatal(err)
	}
	x.atTwilio = len(h.fake.Messages())
	return x
}

// resend has Twilio deliver a sample of the accepted texts again, as it
// does after a timeout, and checks that nothing doubles.
func (h *harness) resend(l *load) {
	h.t.Helper()
	l.mu.Lock()
	accepted := slices.Sorted(func(yield func(string) bool) {
		for sid := range l.texts {
			if !yield(sid) {
				return
			}
		}
	})
	phones := map[string]*faketwilio.Phone{}
	for _, sid := range accepted {
		phones[sid] = l.texts[sid]
	}
	l.mu.Unlock()
	if len(accepted) == 0 {
		h.t.Fatal("no text was accepted")
	}
	step := max(1, len(accepted)/resendSample)
	before := h.totals()
	n := 0
	for i := 0; i < len(accepted); i += step {
		sid := accepted[i]
		resp, err := phones[sid].Resend(sid)
		switch {
		case err != nil:
			h.t.Errorf("redeliver %s: %v", sid, err)
		case resp.StatusCode != http.StatusOK:
			h.t.Errorf("redeliver %s: %s", sid, resp.Status)
		}
		n++
	}
	h.settle()
	if after := h.totals(); after != before {
		h.t.Errorf("after %d texts were delivered again: %+v, before %+v", n, after, before)
	}
}

// serverLog keeps every instance's output, each line prefixed with the
// instance, for the evidence in failures.
type serverLog struct {
	mu    sync.Mutex
	lines []string
}

func (s *serverLog) writer(prefix string) io.Writer {
	return &logWriter{log: s, prefix: prefix}
}

type logWriter struct {
	log     *serverLog
	prefix  string
	partial []byte
}

// Write is called from one goroutine per process (exec copies output).
func (w *logWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := w.prefix + string(w.partial[:i])
		w.partial = w.partial[i+1:]
		w.log.mu.Lock()
		w.log.lines = append(w.log.lines, line)
		w.log.mu.Unlock()
	}
	return len(p), nil
}

func (s *serverLog) all() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// grep returns up to max lines matching re, indented.
func (s *serverLog) grep(re *regexp.Regexp, max int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	n := 0
	for _, l := range s.lines {
		if re.MatchString(l) {
			if n++; n > max {
				b.WriteString("\t\t…\n")
				break
			}
			b.WriteString("\t\t" + l + "\n")
		}
	}
	return b.String()
}

func (s *serverLog) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines[max(0, len(s.lines)-n):], "\n")
}
