package staff

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"townline/core"
)

// Live pages: /staff/events streams server-sent events naming the
// requests that change, as PostgreSQL announces them to every instance;
// the inbox and request pages (static/staff.js) fetch themselves again
// and show what changed.
const (
	// replayMargin reaches back before a reconnecting page's last event:
	// a change is noted when made and announced when committed, so one
	// noted earlier may arrive later.
	replayMargin = 10 * time.Second
	// replayLimit is the most changes replayed; a page that missed more
	// reloads what it shows.
	replayLimit = 500
	// heartbeat keeps proxies from closing a quiet stream, and is when a
	// disabled account's streams end.
	heartbeat = 20 * time.Second
	// streamBuffer is how many changes wait for a slow page before it is
	// told to reload instead.
	streamBuffer = 64
	// listenWait is how long a new stream waits for the listener to start
	// before it replays what the page missed and goes on without it.
	listenWait = 5 * time.Second
)

// hub passes the database's changes to the open streams. Its listener runs
// while a stream is open.
type hub struct {
	core    *core.Core
	mu      sync.Mutex
	streams map[*stream]struct{}
	stop    context.CancelFunc // the listener's; nil when none runs
	ready   chan struct{}      // closed when the listener listens
	closed  chan struct{}      // closed by drain: every stream ends
}

type stream struct {
	user    core.User
	changes chan core.Change
	missed  atomic.Bool   // a change did not fit, or the listener was away
	wake    chan struct{} // tells the stream it missed something
}

func (s *stream) miss() {
	s.missed.Store(true)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func newHub(c *core.Core) *hub {
	return &hub{core: c, streams: map[*stream]struct{}{}, closed: make(chan struct{})}
}

// subscribe adds a stream, starting the listener if none runs; ready is
// closed once the listener listens, so that what the stream replays
// reaches up to what it hears.
func (hb *hub) subscribe(u core.User) (s *stream, ready <-chan struct{}) {
	s = &stream{user: u, changes: make(chan core.Change, streamBuffer), wake: make(chan struct{}, 1)}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hb.streams[s] = struct{}{}
	if hb.stop == nil {
		ctx, stop := context.WithCancel(context.Background())
		ready := make(chan struct{})
		hb.stop, hb.ready = stop, ready
		go hb.core.ListenChanges(ctx, hb.publish, func() { hb.listening(ready) })
	}
	return s, hb.ready
}

func (hb *hub) unsubscribe(s *stream) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	delete(hb.streams, s)
	if len(hb.streams) == 0 && hb.stop != nil {
		hb.stop()
		hb.stop = nil
	}
}

func (hb *hub) publish(c core.Change) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	for s := range hb.streams {
		if !s.user.Hears(c) {
			continue
		}
		select {
		case s.changes <- c:
		default:
			s.miss()
		}
	}
}

// listening is called each time a listener starts to listen. The first
// time, streams waiting on ready go on; after a lost connection, every
// stream missed what changed meanwhile and its page fetches itself again.
func (hb *hub) listening(ready chan struct{}) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	select {
	case <-ready:
		for s := range hb.streams {
			s.miss()
		}
	default:
		close(ready)
	}
}

// drain ends every stream, so that pages reconnect to an instance that is
// not shutting down.
func (hb *hub) drain() {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	select {
	case <-hb.closed:
	default:
		close(hb.closed)
	}
}

// Drain ends the live streams and refuses new ones: call it when the
// instance begins to shut down.
func (h *Handler) Drain() { h.hub.drain() }

func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	select {
	case <-h.hub.closed:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	u := user(r)
	s, ready := h.hub.subscribe(u) // before the replay, so that nothing falls between
	defer h.hub.unsubscribe(s)
	select {
	case <-ready:
	case <-time.After(listenWait): // the database is away: the replay says so
	case <-r.Context().Done():
		return
	}
	rc := http.NewResponseController(w)
	// The server's read limit would otherwise end a stream that outlives it.
	rc.SetReadDeadline(time.Time{})
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("X-Accel-Buffering", "no")
	send := func(format string, args ...any) bool {
		rc.SetWriteDeadline(time.Now().Add(heartbeat))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 2000\n\n") {
		return
	}
	// A reconnecting stream replays what came after its last event; a
	// page's first stream, what came after the page was made.
	since := r.Header.Get("Last-Event-ID")
	if since == "" {
		since = r.URL.Query().Get("since")
	}
	if last, err := strconv.ParseInt(since, 10, 64); err == nil {
		changes, complete, err := h.core.ChangesSince(r.Context(), time.UnixMicro(last).Add(-replayMargin), replayLimit)
		if err != nil { // a log line's condition: its mutant survives
			h.log.Warn("staff: live updates: replay", "err", err)
		}
		if err != nil || !complete {
			s.missed.Store(true)
		}
		for _, c := range changes {
			if u.Hears(c) && !sendChange(send, c) {
				return
			}
		}
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		if s.missed.Swap(false) && !send("event: reload\ndata: \n\n") {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-h.hub.closed:
			return
		case <-s.wake:
		case c := <-s.changes:
			if !sendChange(send, c) {
				return
			}
		case <-tick.C:
			if _, err := h.core.User(r.Context(), u.ID); err != nil {
				return // disabled, or the database is away: the page reconnects
			}
			if !send(": ping\n\n") {
				return
			}
		}
	}
}

// sendChange writes one change as an event whose id is its time, which a
// reconnecting page sends back as Last-Event-ID.
func sendChange(send func(string, ...any) bool, c core.Change) bool {
	return send("id: %d\nevent: change\ndata: {\"request\":%d}\n\n", c.At.UnixMicro(), c.Request)
}
