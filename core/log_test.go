package core

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// River's debug lines are dropped, its info lines and worse kept, with the
// attributes and groups they were given.
func TestRiverLogsInfoAndUp(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(infoAndUp{slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug})}).
		With("component", "jobs").WithGroup("job")
	log.Debug("leader re-elected")
	log.Info("client started", "id", 7)
	log.Error("job failed")
	got := out.String()
	if strings.Contains(got, "re-elected") {
		t.Errorf("a debug line was kept:\n%s", got)
	}
	for _, want := range []string{`msg="client started" component=jobs job.id=7`, `msg="job failed" component=jobs`} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
}
