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
