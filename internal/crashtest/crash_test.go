package crashtest_test

import (
	"testing"
	"time"

	"townline/internal/testenv"
)

// The load around each crash: each part runs until the senders have met
// the server in that state loadAnswers times.
const (
	texters = 4
	filers  = 2
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

	l.await(loadAnswers, "200", "201")
	taken, untaken := h.waitSends()
	l.setPhase("crash")
	h.kill9()
	t.Logf("sends in flight at the kill: %d taken by Twilio, %d not yet", taken, untaken)

	l.await(loadAnswers, "error", "503") // the senders met the server gone
	l.setPhase("restart")
	h.start()
	l.setPhase("after")
	l.await(loadAnswers, "200", "201")
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

	l.await(loadAnswers, "200", "201")
	taken, untaken := h.waitSends()
	l.setPhase("stop")
	h.terminate()
	t.Logf("sends in flight at SIGTERM: %d taken by Twilio, %d not yet; %d left claimed and unrecorded at exit", taken, untaken, h.sending())
	if n := h.sending(); n != 0 {
		t.Errorf("SIGTERM left %d sends claimed and unrecorded: the sends in flight should finish before the server exits\n%s", n, h.claimed())
	}

	l.await(loadAnswers, "error", "503") // the senders met the server gone
	l.setPhase("restart")
	h.start()
	l.setPhase("after")
	l.await(loadAnswers, "200", "201")
	l.halt()
	t.Log(l.summary())

	h.settle()
	h.check(l)
	h.resend(l)
}
