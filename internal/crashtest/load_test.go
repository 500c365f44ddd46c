package crashtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"townline/internal/faketwilio"
)

// load is residents texting the city and an Open311 client filing, each
// sender in a loop, until stopped.
type load struct {
	h      *harness
	stop   chan struct{}
	wg     sync.WaitGroup
	next   atomic.Int64 // numbers each text's phone and each filing
	client *http.Client
	phase  atomic.Value // string: which part of the test the answers belong to

	mu    sync.Mutex
	texts map[string]*faketwilio.Phone // answered 200, by MessageSid
	posts map[string]int64             // answered 2xx: description -> service_request_id
	// answers counts outcomes by phase, channel and HTTP status or "error".
	answers map[string]int
	bad     []string   // answers that are neither success, 503 nor a connection error
	more    *sync.Cond // on mu: signalled at each answer
}

// startLoad starts texters and Open311 clients against the server.
func (h *harness) startLoad(texters, filers int) *load {
	l := &load{
		h: h, stop: make(chan struct{}),
		client:  &http.Client{Timeout: 15 * time.Second},
		texts:   map[string]*faketwilio.Phone{},
		posts:   map[string]int64{},
		answers: map[string]int{},
	}
	l.more = sync.NewCond(&l.mu)
	l.phase.Store("before")
	for range texters {
		l.wg.Add(1)
		go l.loop(l.text)
	}
	for range filers {
		l.wg.Add(1)
		go l.loop(l.file)
	}
	h.t.Cleanup(l.halt)
	return l
}

func (l *load) loop(send func() bool) {
	defer l.wg.Done()
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		if !send() {
			// No server to talk to: not a tight loop meanwhile.
			select {
			case <-l.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// halt stops the load and waits for the requests in flight.
func (l *load) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// loadAnswers is how many answers of a kind each part of a test waits
// for: enough for every sender to have met the server in that state.
const loadAnswers = 40

// await waits until the current phase has n answers whose outcome (the
// status, or "error") is one of outcomes: the load has run long enough in
// that state. It fails the test after a minute.
func (l *load) await(n int, outcomes ...string) {
	l.h.t.Helper()
	phase := l.phase.Load().(string)
	count := func() (c int) {
		for key, v := range l.answers {
			f := strings.Fields(key)
			if f[0] == phase && slices.Contains(outcomes, f[2]) {
				c += v
			}
		}
		return c
	}
	timeout := time.AfterFunc(time.Minute, func() { l.mu.Lock(); l.more.Broadcast(); l.mu.Unlock() })
	defer timeout.Stop()
	deadline := time.Now().Add(time.Minute)
	l.mu.Lock()
	defer l.mu.Unlock()
	for count() < n {
		if time.Now().After(deadline) {
			l.h.t.Fatalf("%s: %d answers %v after a minute, want %d", phase, count(), outcomes, n)
		}
		l.more.Wait()
	}
}

// setPhase names the part of the test the next answers belong to.
func (l *load) setPhase(p string) { l.phase.Store(p) }

// record counts an answer and reports whether the server could take the
// request: false for no answer or a 503, after which the sender pauses.
func (l *load) record(channel string, status int, err error, body string) bool {
	phase := l.phase.Load().(string)
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.more.Broadcast()
	if err != nil {
		l.answers[phase+" "+channel+" error"]++
		return false
	}
	l.answers[fmt.Sprintf("%s %s %d", phase, channel, status)]++
	switch {
	case status == http.StatusOK || status == http.StatusCreated:
	case status == http.StatusServiceUnavailable:
		return false
	default:
		l.bad = append(l.bad, fmt.Sprintf("%s %s: %d %s", phase, channel, status, strings.TrimSpace(body)))
	}
	return true
}

// phoneNumber is the i-th resident's number.
func phoneNumber(i int64) string { return fmt.Sprintf("+1530%07d", 2_000_000+i) }

// text is one resident's first text, a complete report: a request, and
// its confirmation queued.
func (l *load) text() bool {
	i := l.next.Add(1)
	p := l.h.fake.Phone(phoneNumber(i), l.h.base+"/twilio/sms")
	resp, err := p.Send(fmt.Sprintf("pothole at 1735 Montgomery Street #%d", i))
	var body string
	if err == nil {
		b, _ := io.ReadAll(resp.Body) // Send has read it already
		body = string(b)
	}
	ok := l.record("sms", statusOf(resp), err, body)
	if err == nil && resp.StatusCode == http.StatusOK {
		l.mu.Lock()
		l.texts[p.LastSid()] = p
		l.mu.Unlock()
	}
	return ok
}

// file is one Open311 filing with a description no other has.
func (l *load) file() bool {
	desc := fmt.Sprintf("crash test filing %d", l.next.Add(1))
	resp, err := l.client.PostForm(l.h.base+"/open311/v2/requests.json", url.Values{
		"api_key": {l.h.key}, "service_code": {"pothole"}, "description": {desc},
		"lat": {"39.5138"}, "long": {"-121.5564"},
	})
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	ok := l.record("open311", statusOf(resp), err, string(body))
	if err == nil && (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated) {
		var reply []struct {
			ID string `json:"service_request_id"`
		}
		var id int64
		if json.Unmarshal(body, &reply) == nil && len(reply) == 1 {
			id, _ = strconv.ParseInt(reply[0].ID, 10, 64)
		}
		l.mu.Lock()
		if id == 0 {
			l.bad = append(l.bad, fmt.Sprintf("open311 %d without a request id: %s", resp.StatusCode, body))
		}
		l.posts[desc] = id
		l.mu.Unlock()
	}
	return ok
}

func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// summary is the answers, for the test's log.
func (l *load) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range l.answers {
			if !yield(k) {
				return
			}
		}
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %d; ", k, l.answers[k])
	}
	return fmt.Sprintf("%d texts and %d filings accepted; %s", len(l.texts), len(l.posts), b.String())
}
