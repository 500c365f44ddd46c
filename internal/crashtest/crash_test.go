package crashtest_test

import (
	"testing"
	"time"

	"townline/internal/testenv"
)

// How long the load runs around each crash: long enough that the crash
// lands among requests and sends in flight, short enough for make test.
const (
	loadBefore = 1500 * time.Millisecond // before the crash
	loadDuring = 500 * time.Millisecond  // while the server is gone
	loadAfter  = time.Second             // once it is back
	texters    = 4
	filers     = 2
)

// A server killed with SIGKILL under load, and started again on the same
// database, loses nothing it accepted and sends every confirmation
// exactly once: a send cut off mid-way is looked up at Twilio before it
// is made again.
func TestKillUnderLoad(t *testing.T) {
	t.Parallel()
	db := testenv.Pool(t)
	h := newHarness(t, testenv.URL(db), db)
	// Sends take a while at Twilio, so that the kill finds some not yet
	// taken there and some taken but not answered.
	h.fake.SetSendDelay(50*time.Millisecond, 50*time.Millisecond)
	h.start()
	l := h.startLoad(texters, filers)

	time.Sleep(loadBefore)
	taken, untaken := h.waitSends()
	l.setPhase("crash")
	h.kill9()
	t.Logf("sends in flight at the kill: %d taken by Twilio, %d not yet", taken, untaken)

	time.Sleep(loadDuring)
	l.setPhase("restart")
	h.start()
	l.setPhase("after")
	time.Sleep(loadAfter)
	l.halt()
	t.Log(l.summary())

	h.settle()
	h.check(l)
	h.resend(l)
}

// A server stopped with SIGTERM while Twilio is slow to answer finishes
// or hands over the sends in flight: after a restart, nothing accepted is
// lost and nothing is sent twice.
func TestTerminateDuringSends(t *testing.T) {
	t.Parallel()
	db := testenv.Pool(t)
	h := newHarness(t, testenv.URL(db), db)
	h.fake.SetSendDelay(100*time.Millisecond, 100*time.Millisecond) // every send in flight for a while
	h.start()
	l := h.startLoad(texters, filers)

	time.Sleep(loadBefore)
	taken, untaken := h.waitSends()
	l.setPhase("stop")
	h.terminate()
	t.Logf("sends in flight at SIGTERM: %d taken by Twilio, %d not yet; %d left claimed and unrecorded at exit", taken, untaken, h.sending())
	if n := h.sending(); n != 0 {
		t.Errorf("SIGTERM left %d sends claimed and unrecorded: the sends in flight should finish before the server exits\n%s", n, h.claimed())
	}

	time.Sleep(loadDuring)
	l.setPhase("restart")
	h.start()
	l.setPhase("after")
	time.Sleep(loadAfter)
	l.halt()
	t.Log(l.summary())

	h.settle()
	h.check(l)
	h.resend(l)
}
