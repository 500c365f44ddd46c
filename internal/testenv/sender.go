package testenv

import (
	"context"
	"errors"
	"sync"

	"townline/core"
)

// Sender is a channel's sender for tests: it records what core sends and
// fails the first Failures calls with Err (a plain error when nil). Next
// and Wait wait on its sends, in the shapes of faketwilio's Next and
// smtpsink's Wait.
type Sender struct {
	Failures int
	Err      error

	mu    sync.Mutex
	sent  []core.Outbound
	calls int
	more  chan struct{} // closed, and replaced, at each call; made on first use
}

func (f *Sender) Send(ctx context.Context, m core.Outbound) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.more != nil {
		close(f.more)
		f.more = nil
	}
	if f.Failures > 0 {
		f.Failures--
		if f.Err != nil {
			return "", f.Err
		}
		return "", errors.New("provider answered 500")
	}
	f.sent = append(f.sent, m)
	return "prov-" + m.To, nil
}

// Sent is what was sent, and how many calls were made.
func (f *Sender) Sent() ([]core.Outbound, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]core.Outbound(nil), f.sent...), f.calls
}

// Next waits for the i-th message sent (from 0) and returns it, or ctx's
// error: a reader keeps its own index and never misses one.
func (f *Sender) Next(ctx context.Context, i int) (core.Outbound, error) {
	for {
		f.mu.Lock()
		if i < len(f.sent) {
			m := f.sent[i]
			f.mu.Unlock()
			return m, nil
		}
		if f.more == nil {
			f.more = make(chan struct{})
		}
		more := f.more
		f.mu.Unlock()
		select {
		case <-more:
		case <-ctx.Done():
			return core.Outbound{}, ctx.Err()
		}
	}
}

// Wait waits until a message for which match is true has been sent, and
// returns the first, or ctx's error.
func (f *Sender) Wait(ctx context.Context, match func(core.Outbound) bool) (core.Outbound, error) {
	for i := 0; ; i++ {
		m, err := f.Next(ctx, i)
		if err != nil || match(m) {
			return m, err
		}
	}
}
