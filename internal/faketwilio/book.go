package faketwilio

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
)

// book keeps one kind of resource the fake API creates, messages or
// calls: those it accepted, the faults planned for the next creations and
// the statuses each accepted one goes through.
type book[T any] struct {
	noun string // in errors: "messages"

	mu       sync.Mutex
	items    []*T
	changed  chan struct{} // closed and replaced whenever items change
	faults   []fault
	statuses []string
	delay    time.Duration
}

func newBook[T any](noun string, statuses ...string) book[T] {
	return book[T]{noun: noun, changed: make(chan struct{}), statuses: statuses, delay: 20 * time.Millisecond}
}

type fault struct {
	status, code int
	drop, accept bool
}

func (b *book[T]) setStatuses(delay time.Duration, statuses []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.delay, b.statuses = delay, statuses
}

func (b *book[T]) addFaults(n int, f fault) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for range n {
		b.faults = append(b.faults, f)
	}
}

// add takes the next fault and records item unless that fault refuses
// it. It returns the fault (nil for none) and, when item was recorded, a
// function that moves it through the book's statuses.
func (b *book[T]) add(item *T) (*fault, progress[T]) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var f *fault
	if len(b.faults) > 0 {
		f = &b.faults[0]
		b.faults = b.faults[1:]
	}
	if f != nil && !(f.drop && f.accept) {
		return f, nil
	}
	b.items = append(b.items, item)
	b.notify()
	statuses, delay := slices.Clone(b.statuses), b.delay
	return f, func(ctx context.Context, set func(*T, string), post func(T, int)) {
		for i, status := range statuses {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return
			}
			b.mu.Lock()
			set(item, status)
			b.notify()
			cp := *item
			b.mu.Unlock()
			post(cp, i)
		}
	}
}

// progress moves an item through its statuses, delay apart, until ctx
// ends: set applies a status under the book's lock, then post gets a copy
// of the item and the status's index.
type progress[T any] func(ctx context.Context, set func(*T, string), post func(T, int))

// notify wakes waiters; b.mu is held.
func (b *book[T]) notify() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// all returns copies of the items, oldest first.
func (b *book[T]) all() []T {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]T, len(b.items))
	for i, x := range b.items {
		out[i] = *x
	}
	return out
}

// next waits for the i-th item (from 0) and returns it.
func (b *book[T]) next(ctx context.Context, i int) (T, error) {
	for {
		b.mu.Lock()
		if i < len(b.items) {
			x := *b.items[i]
			b.mu.Unlock()
			return x, nil
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
}

// wait waits until there are at least n items and returns them all.
func (b *book[T]) wait(n int, timeout time.Duration) ([]T, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := b.next(ctx, n-1); err != nil {
		all := b.all()
		return all, fmt.Errorf("faketwilio: %d %s after %v, want %d", len(all), b.noun, timeout, n)
	}
	return b.all(), nil
}

// answer replies to a creation as fault f dictates (nil: none), or with
// the created resource.
func answer(w http.ResponseWriter, f *fault, resource []byte) {
	switch {
	case f != nil && f.drop:
		hangUp(w)
	case f != nil:
		apiError(w, f.status, f.code, fmt.Sprintf("fake failure %d", f.code))
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(resource)
	}
}

// hangUp closes the connection without an answer, as a timeout or a
// reset does.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}
