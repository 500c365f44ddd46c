package core

import "github.com/prometheus/client_golang/prometheus"

// Metrics are core's Prometheus collectors; the server registers them.
type Metrics struct {
	requests *prometheus.CounterVec
	jobs     *prometheus.CounterVec
	geocoder *prometheus.CounterVec
}

func newMetrics() *Metrics {
	return &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "townline_requests_created_total",
			Help: "Service requests created, by channel and service.",
		}, []string{"channel", "service"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "townline_jobs_total",
			Help: "Job outcomes by kind: sent, retry, failed, unknown, skipped.",
		}, []string{"kind", "outcome"}),
		geocoder: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "townline_geocoder_requests_total",
			Help: "Questions to the outside geocoder (GEOCODER_URL), by outcome: found, unknown, failed.",
		}, []string{"outcome"}),
	}
}

// Collectors returns the collectors to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.jobs, m.geocoder}
}
