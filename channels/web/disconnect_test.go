package web_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"townline/channels/web"
	"townline/internal/testenv"
)

// A client that went away is neither a 500 nor an error in the log: its
// cancelled query is recorded as 499 and logged at debug.
func TestClientGoneIsNoError(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	var logs bytes.Buffer // the handler runs in this goroutine
	mux := http.NewServeMux()
	web.New(c, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), web.Config{}).Register(mux)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for _, path := range []string{"/", "/requests/1001", "/media/1"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil).WithContext(gone))
		if w.Code != 499 {
			t.Errorf("GET %s, client gone: %d", path, w.Code)
		}
	}
	out := logs.String()
	if strings.Contains(out, "level=ERROR") || strings.Contains(out, "level=WARN") {
		t.Errorf("a client that went away was logged above debug:\n%s", out)
	}
	if !strings.Contains(out, "client went away") {
		t.Errorf("nothing logged at debug:\n%s", out)
	}
}
