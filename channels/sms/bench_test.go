package sms_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"townline/channels/sms"
	"townline/core"
	"townline/internal/faketwilio"
	"townline/internal/server"
	"townline/internal/testenv"
)

// benchWorld is world for benchmarks: no status callbacks, no logs.
func benchWorld(b *testing.B) (*httptest.Server, *faketwilio.Server) {
	b.Helper()
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	b.Cleanup(srv.Close)
	fake := faketwilio.New(accountSID, authToken)
	b.Cleanup(fake.Close)
	fake.SetStatuses(0)
	cfg := sms.Config{AccountSID: accountSID, AuthToken: authToken, From: cityNumber, APIURL: fake.URL(), PublicURL: srv.URL}
	client, err := sms.NewClient(cfg, testenv.Logger(b))
	if err != nil {
		b.Fatal(err)
	}
	c := testenv.Core(b, func(o *core.Options) {
		o.PublicURL = srv.URL
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: client}
		o.Workers = 32
	})
	handler = server.New(c, server.Options{Logger: testenv.Logger(b), MaxBody: 10 << 20,
		Channels: []server.Channel{sms.NewHandler(c, cfg, testenv.Logger(b))}})
	return srv, fake
}

// number is the i-th resident: one text each, so no per-number cap applies.
func number(i int64) string { return fmt.Sprintf("+1530%03d%04d", 200+i/10000, i%10000) }

// BenchmarkInboundWebhook is signed texts per second through the real
// HTTP server into core, each one a new request with its confirmation
// queued, at 8 and 32 concurrent senders.
func BenchmarkInboundWebhook(b *testing.B) {
	for _, senders := range []int{8, 32} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			srv, fake := benchWorld(b)
			var next atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			b.ResetTimer()
			for range senders {
				wg.Go(func() {
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						resp, err := fake.Phone(number(i), srv.URL+"/twilio/sms").Send("pothole at 100 Bird Street")
						if err != nil || resp.StatusCode != http.StatusOK {
							b.Errorf("text %d: %v %v", i, resp, err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "texts/s")
		})
	}
}

// BenchmarkConfirmationLatency is the time from a text's webhook to its
// confirmation reaching the Twilio API, at 50 texts a second.
func BenchmarkConfirmationLatency(b *testing.B) {
	srv, fake := benchWorld(b)
	var mu sync.Mutex
	sentAt := map[string]time.Time{}
	var latencies []time.Duration
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < b.N; i++ {
			m, err := fake.Next(ctx, i)
			if err != nil {
				return
			}
			mu.Lock()
			latencies = append(latencies, m.At.Sub(sentAt[m.To]))
			mu.Unlock()
		}
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for i := range int64(b.N) {
		<-tick.C
		n := number(i + 1)
		mu.Lock()
		sentAt[n] = time.Now()
		mu.Unlock()
		go func() {
			if resp, err := fake.Phone(n, srv.URL+"/twilio/sms").Send("pothole at 100 Bird Street"); err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("text %s: %v %v", n, resp, err)
			}
		}()
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		b.Fatal("confirmations missing after 30s")
	}
	b.StopTimer()
	slices.Sort(latencies)
	q := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
