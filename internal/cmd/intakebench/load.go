package main

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Oroville's city hall; every report lands within about 200 m of it.
const (
	lat0, lng0 = 39.5138, -121.5564
	jitter     = 0.002
	residents  = 1000 // distinct reporter emails: contacts get reused, as in a city
)

type loadResult struct {
	duration   time.Duration
	latencies  []time.Duration // of the 200 answers within the measured window, sorted
	answered   int64           // 200 answers, warmup included
	errors     int64           // non-200 answers and transport failures, warmup included
	firstError string
	maxRSS     int64         // kB
	cpuPerReq  time.Duration // server CPU time per answered request, warmup included
}

func (r loadResult) ok() int { return len(r.latencies) }

func (r loadResult) throughput() float64 {
	if r.duration <= 0 {
		return 0
	}
	return float64(len(r.latencies)) / r.duration.Seconds()
}

func (r loadResult) percentile(p int) time.Duration { return percentile(r.latencies, p) }

// percentile of sorted durations, by nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	i := (n*p + 99) / 100 // ceil(n*p/100)
	return sorted[max(i-1, 0)]
}

// A sender makes one request and returns nil when it was answered 200,
// a *statusError for any other answer, and any other error when the
// server could not be reached. Each client has its own.
type sender func() error

// statusError is an answer other than 200 OK.
type statusError struct {
	status string
	body   []byte
}

func (e *statusError) Error() string { return e.status + ": " + string(bytes.TrimSpace(e.body)) }

// checkAnswer drains and closes resp's body, so that the connection goes
// back to the pool, and turns an answer other than 200 into an error.
func checkAnswer(resp *http.Response) error {
	var msg []byte
	if resp.StatusCode != http.StatusOK {
		msg, _ = io.ReadAll(io.LimitReader(resp.Body, 1024))
	}
	_, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &statusError{status: resp.Status, body: msg}
	}
	return err
}

// runLoad runs n clients, each calling its own sender (from newSender) as
// fast as the server answers, for warmup and then duration. A request
// counts if its answer arrives inside the measured window, whenever it
// was sent. Only an interrupt (ctx) is an error: failed requests are
// counted.
func runLoad(ctx context.Context, servers []*server, n int, warmup, duration time.Duration, newSender func() sender) (loadResult, error) {
	cpu0 := cpuTicks(servers)
	start := time.Now()
	from, until := start.Add(warmup), start.Add(warmup+duration)

	res := loadResult{duration: duration}
	var (
		mu       sync.Mutex // guards res.latencies and res.firstError
		errCount atomic.Int64
		answered atomic.Int64
		wg       sync.WaitGroup
	)

	sampleCtx, stopSampling := context.WithCancel(ctx)
	rssDone := make(chan int64)
	go func() { rssDone <- sampleRSS(sampleCtx, servers) }()

	for range n {
		send := newSender()
		wg.Go(func() {
			lat := make([]time.Duration, 0, 4096)
			// No new request after the window or an interrupt; those in
			// flight finish (hence no ctx on them) rather than being cut
			// off, which the server would log as errors and roll back.
			for ctx.Err() == nil && time.Now().Before(until) {
				t0 := time.Now()
				err := send()
				t1 := time.Now()
				if err != nil {
					errCount.Add(1)
					recordFirst(&mu, &res.firstError, err.Error())
					if _, answer := err.(*statusError); !answer {
						time.Sleep(10 * time.Millisecond) // a dead server must not make us spin
					}
					continue
				}
				answered.Add(1)
				if !t1.Before(from) && t1.Before(until) {
					lat = append(lat, t1.Sub(t0))
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.answered = answered.Load()
	if res.answered > 0 {
		res.cpuPerReq = time.Duration(cpuTicks(servers)-cpu0) * clockTick / time.Duration(res.answered)
	}
	stopSampling()
	res.maxRSS = <-rssDone
	res.errors = errCount.Load()
	slices.Sort(res.latencies)
	return res, ctx.Err()
}

// open311Clients returns the Open311 load: each client POSTs a new
// request, over one kept-alive connection, as a real integrator would.
// close releases the connections.
func open311Clients(servers []*server, n int) (newSender func() sender, close func()) {
	client := &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        n,
			MaxIdleConnsPerHost: n,
			DisableCompression:  true,
		},
		Timeout: 30 * time.Second,
	}
	var seq, made atomic.Int64
	newSender = func() sender {
		// The clients take turns at the servers, as a load balancer would
		// spread them.
		s := servers[int(made.Add(1)-1)%len(servers)]
		// The fields that never change, encoded once.
		fixed := url.Values{
			"api_key":        {s.apiKey},
			"service_code":   {"pothole"},
			"address_string": {"1735 Montgomery St, Oroville, CA"},
		}.Encode()
		endpoint := s.base + "/open311/v2/requests.json"
		// Reused for every request: the server answers only after reading
		// the whole form, so the transport is done with the previous one.
		body := make([]byte, 0, 512)
		return func() error {
			body = appendForm(body[:0], fixed, seq.Add(1))
			req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
			if err != nil {
				panic(err) // a constant URL
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			return checkAnswer(resp)
		}
	}
	return newSender, client.CloseIdleConnections
}

// appendForm appends one request's form to b: the fixed fields, then a
// spot near city hall, a description and one of the residents' emails.
func appendForm(b []byte, fixed string, seq int64) []byte {
	b = append(b, fixed...)
	b = append(b, "&lat="...)
	b = strconv.AppendFloat(b, lat0+(rand.Float64()*2-1)*jitter, 'f', 6, 64)
	b = append(b, "&long="...)
	b = strconv.AppendFloat(b, lng0+(rand.Float64()*2-1)*jitter, 'f', 6, 64)
	b = append(b, "&description=Bench+pothole+"...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, "&email=resident"...)
	b = strconv.AppendInt(b, int64(rand.IntN(residents)), 10)
	b = append(b, "%40bench.example"...)
	return b
}

func recordFirst(mu *sync.Mutex, first *string, msg string) {
	mu.Lock()
	if *first == "" {
		*first = msg
	}
	mu.Unlock()
}

// sampleRSS reads the servers' VmRSS every 100 ms until ctx ends and
// returns the highest of one, in kB.
func sampleRSS(ctx context.Context, servers []*server) int64 {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var peak int64
	for {
		for _, s := range servers {
			peak = max(peak, s.readStatus())
		}
		select {
		case <-ctx.Done():
			return peak
		case <-tick.C:
		}
	}
}
