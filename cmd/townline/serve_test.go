package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The steps run in order, each within its share; one that overruns is
// told so by its context and the next still runs; the last has what is
// left of the budget.
func TestShutdownSteps(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var ran []string
	var overrun error
	var lastDeadline time.Time
	start := time.Now()
	const budget = time.Hour
	shutdown(slog.New(slog.NewTextHandler(&logs, nil)), budget, []step{
		{"quick", time.Minute, func(ctx context.Context) error {
			ran = append(ran, "quick")
			return nil
		}},
		{"overrunning", time.Millisecond, func(ctx context.Context) error {
			ran = append(ran, "overrunning")
			<-ctx.Done() // a drain that never ends on its own
			overrun = ctx.Err()
			return overrun
		}},
		{"last", 0, func(ctx context.Context) error {
			ran = append(ran, "last")
			lastDeadline, _ = ctx.Deadline()
			return nil
		}},
	})
	if strings.Join(ran, ",") != "quick,overrunning,last" {
		t.Errorf("ran %v", ran)
	}
	if !errors.Is(overrun, context.DeadlineExceeded) {
		t.Errorf("the overrunning step's context ended with %v", overrun)
	}
	end := time.Now()
	if lastDeadline.Before(start.Add(budget)) || lastDeadline.After(end.Add(budget)) {
		t.Errorf("the last step's deadline %v is not the budget's end (%v after %v–%v)", lastDeadline, budget, start, end)
	}
	out := logs.String()
	for _, want := range []string{"shutdown: quick", "shutdown: overrunning: not done in time", "shutdown: last: done", "shutdown complete"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}
