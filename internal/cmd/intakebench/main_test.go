package main

import (
	"net/url"
	"testing"
	"time"
)

func TestParsePgbench(t *testing.T) {
	out := []byte(`pgbench (15.14 (Debian 15.14-0+deb12u1))
transaction type: intake.sql
number of clients: 8
latency average = 3.331 ms
initial connection time = 12.345 ms
tps = 2401.123456 (without initial connection time)
`)
	r, err := parsePgbench(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.tps != 2401.123456 || r.latencyMs != 3.331 {
		t.Errorf("got %+v", r)
	}
	if _, err := parsePgbench([]byte("pgbench: error: connection refused\n")); err == nil {
		t.Error("no error for output without tps")
	}
}

func TestSplitPassword(t *testing.T) {
	conn, pw := splitPassword("postgres://townline:s3cret@127.0.0.1:5432/townline?sslmode=disable")
	if conn != "postgres://townline@127.0.0.1:5432/townline?sslmode=disable" || pw != "s3cret" {
		t.Errorf("got %q, %q", conn, pw)
	}
	if conn, pw := splitPassword("host=db dbname=x"); conn != "host=db dbname=x" || pw != "" {
		t.Errorf("conninfo changed: %q, %q", conn, pw)
	}
}

func TestPercentile(t *testing.T) {
	var r loadResult
	for i := 1; i <= 100; i++ {
		r.latencies = append(r.latencies, time.Duration(i)*time.Millisecond)
	}
	if p := r.percentile(50); p != 50*time.Millisecond {
		t.Errorf("p50 = %v", p)
	}
	if p := r.percentile(99); p != 99*time.Millisecond {
		t.Errorf("p99 = %v", p)
	}
}

func TestAppendForm(t *testing.T) {
	fixed := url.Values{"api_key": {"k+/="}, "service_code": {"pothole"}}.Encode()
	v, err := url.ParseQuery(string(appendForm(nil, fixed, 42)))
	if err != nil {
		t.Fatal(err)
	}
	if v.Get("api_key") != "k+/=" || v.Get("description") != "Bench pothole 42" || v.Get("lat") == "" || v.Get("long") == "" {
		t.Errorf("form %v", v)
	}
	if e := v.Get("email"); len(e) < len("resident0@bench.example") || e[len(e)-len("@bench.example"):] != "@bench.example" {
		t.Errorf("email %q", e)
	}
}

func TestResidentNumber(t *testing.T) {
	for _, c := range []struct {
		i    int64
		want string
	}{{0, "+15302000000"}, {9999, "+15302009999"}, {10000, "+15302010000"}, {7_999_999, "+15309999999"}} {
		got := residentNumber(c.i)
		if got != c.want {
			t.Errorf("residentNumber(%d) = %q, want %q", c.i, got, c.want)
		}
		if i, ok := residentIndex(got); !ok || i != c.i {
			t.Errorf("residentIndex(%q) = %d, %v", got, i, ok)
		}
	}
	for _, s := range []string{"", "+15301999999", "+1530200000", "+153020000000", "+1916200000x", "+1530+200000", "+14155550100"} {
		if i, ok := residentIndex(s); ok {
			t.Errorf("residentIndex(%q) = %d, true", s, i)
		}
	}
}

func TestParsePhases(t *testing.T) {
	for _, c := range []struct {
		in                string
		open311, two, sms bool
	}{{"open311,sms", true, false, true}, {"sms", false, false, true}, {" open311 ", true, false, false},
		{"sms,sms,", false, false, true}, {"two", false, true, false}, {"open311,two,sms", true, true, true}} {
		o, two, s, err := parsePhases(c.in)
		if err != nil || o != c.open311 || two != c.two || s != c.sms {
			t.Errorf("parsePhases(%q) = %v, %v, %v, %v", c.in, o, two, s, err)
		}
	}
	for _, in := range []string{"", ",", "voice", "open311,mail", "three"} {
		if _, _, _, err := parsePhases(in); err == nil {
			t.Errorf("parsePhases(%q): no error", in)
		}
	}
}

func TestConfirmMet(t *testing.T) {
	var r confirmResult
	if r.met() {
		t.Error("met with no confirmation")
	}
	for i := 1; i <= 100; i++ {
		r.delays = append(r.delays, time.Duration(i)*5*time.Millisecond)
	}
	if !r.met() {
		t.Errorf("p99 %v not met", r.percentile(99))
	}
	r.missing = 1
	if r.met() {
		t.Error("met with a confirmation missing")
	}
	r.missing = 0
	r.delays[98], r.delays[99] = time.Second, 2*time.Second
	if r.met() {
		t.Errorf("met with p99 %v", r.percentile(99))
	}
}
