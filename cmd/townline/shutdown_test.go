package main_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"townline/internal/testenv"
)

// syncBuffer is a process's output, read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// patience bounds every wait on the server: it only keeps a broken test
// from hanging.
const patience = 40 * time.Second

// waitFor polls until ok, failing after patience.
func waitFor(t *testing.T, what string, ok func() bool, log *syncBuffer) {
	t.Helper()
	for deadline := time.Now().Add(patience); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s\n%s", what, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddrs returns n distinct unused loopback addresses: the listeners
// are held until all are found, so the kernel cannot hand out one twice.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs
}

// On SIGTERM serve stops in order: /readyz, the listeners, HTTP requests
// in flight (an upload under way is finished and filed), the channels,
// the job queue; and /metrics may live on a listener of its own.
func TestServeShutsDownInOrder(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	db := testenv.URL(pool)
	out, stderrOut, err := run(t, db, "apikey", "add", "drain test")
	if err != nil {
		t.Fatalf("apikey add: %v %s", err, stderrOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]

	addrs := freeAddrs(t, 2)
	addr, metricsAddr := addrs[0], addrs[1]
	cmd := exec.Command(bin, "serve", "--addr", addr, "--metrics-addr", metricsAddr)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+db, "TOWNLINE_DATA="+t.TempDir())
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	status := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, "serve answers", func() bool { return status("http://"+addr+"/healthz") == 200 }, &stderr)

	if code := status("http://" + addr + "/metrics"); code != 404 {
		t.Errorf("/metrics on the main listener = %d, want 404", code)
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `route="GET /healthz"`; resp.StatusCode != 200 || !strings.Contains(string(metrics), want) {
		t.Errorf("/metrics on its own listener = %d, lacks %s", resp.StatusCode, want)
	}

	// A filing whose body is half sent when the signal comes.
	form := url.Values{"api_key": {key}, "service_code": {"pothole"}, "lat": {"39.5138"}, "long": {"-121.5564"},
		"description": {"Filed across a SIGTERM " + strings.Repeat("and more ", 50)}}.Encode()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /open311/v2/requests.json HTTP/1.1\r\nHost: %s\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s", addr, len(form), form[:len(form)/2])

	cmd.Process.Signal(syscall.SIGTERM)
	// The load balancer first sees /readyz fail on a listener still open;
	// the log's order (checked below) says the drain began as it closed.
	waitFor(t, "/readyz fails while still serving", func() bool { return status("http://"+addr+"/readyz") == 503 }, &stderr)
	waitFor(t, "the listener closes", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, &stderr)
	if _, err := io.WriteString(conn, form[len(form)/2:]); err != nil {
		t.Fatalf("the upload in flight was cut: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(patience))
	reply, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to the upload in flight: %v\n%s", err, stderr.String())
	}
	body, _ := io.ReadAll(reply.Body)
	if reply.StatusCode != 200 || !strings.Contains(string(body), "service_request_id") {
		t.Errorf("the upload in flight: %d %s", reply.StatusCode, body)
	}

	if err := cmd.Wait(); err != nil {
		t.Errorf("serve exited with %v after SIGTERM\n%s", err, stderr.String())
	}
	log := stderr.String()
	at := -1
	for _, step := range []string{
		"shutdown: /readyz fails; still serving",
		"shutdown: listeners closed; HTTP requests draining",
		"shutdown: channels stopping",
		"shutdown: job queue stopping; sends in flight finish",
		"shutdown complete",
	} {
		i := strings.Index(log, step)
		if i <= at {
			t.Errorf("step %q missing or out of order:\n%s", step, log)
		}
		at = i
	}
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM requests WHERE description LIKE 'Filed across a SIGTERM%'").Scan(&n); err != nil || n != 1 {
		t.Errorf("requests filed across the SIGTERM: %d, %v; want 1", n, err)
	}
}
