package core_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// BenchmarkCreateRequest measures one intake transaction in core, without
// HTTP: contact upsert, request, history, inbound message, acknowledgment.
// "quiet" is the same without the notes and notifications that keep staff
// pages live (migration 010), for their cost as a ratio.
func BenchmarkCreateRequest(b *testing.B) {
	for _, live := range []bool{true, false} {
		name := map[bool]string{true: "live", false: "quiet"}[live]
		b.Run(name, func(b *testing.B) {
			c := testenv.Core(b, func(o *core.Options) { o.Workers = 0 })
			ctx := context.Background()
			if !live {
				if _, err := c.Pool().Exec(ctx, `ALTER TABLE requests DISABLE TRIGGER requests_changed;
					ALTER TABLE messages DISABLE TRIGGER messages_changed`); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					if _, err := c.CreateRequest(ctx, newPothole(fmt.Sprintf("bench%d@example.com", i%500))); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func BenchmarkStatusChangeNotify(b *testing.B) {
	c := testenv.Core(b, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	ids := make([]int64, b.N)
	for i := range ids {
		r, err := c.CreateRequest(ctx, newPothole(fmt.Sprintf("s%d@example.com", i)))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = r.ID
	}
	b.ResetTimer()
	for _, id := range ids {
		if err := c.ChangeStatus(ctx, id, core.StatusChange{To: core.StatusInProgress, Note: "Crew on the way.", Public: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBroadcast20k sends an emergency notice to 20,000 subscribers
// (14,000 by text, 6,000 by mail): the time from Broadcast until every
// message is written and its delivery queued, beside writing 20,000 rows
// with INSERT … SELECT in the same run (the ratio is the figure to read).
// The deliveries are spread so far out that none runs meanwhile.
func BenchmarkBroadcast20k(b *testing.B) {
	c := testenv.Core(b, func(o *core.Options) { o.TextRate, o.MailRate = 0.001, 0.001 })
	ctx := context.Background()
	for _, seed := range []string{
		`INSERT INTO contacts (phone) SELECT '+1530' || lpad(g::text, 7, '0') FROM generate_series(1, 14000) g`,
		`INSERT INTO contacts (email) SELECT 'r' || g || '@example.org' FROM generate_series(1, 6000) g`,
		`INSERT INTO subscriptions (contact_id, channel, token, confirmed_at)
		 SELECT id, CASE WHEN phone IS NOT NULL THEN 'sms' ELSE 'email' END, md5(id::text), now() FROM contacts`,
		`CREATE TABLE bench_rows (id bigserial PRIMARY KEY, contact_id bigint, body text)`,
	} {
		if _, err := c.Pool().Exec(ctx, seed); err != nil {
			b.Fatal(err)
		}
	}
	var baseline, took time.Duration
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		if _, err := c.Pool().Exec(ctx, `INSERT INTO bench_rows (contact_id, body) SELECT id, 'notice' FROM contacts`); err != nil {
			b.Fatal(err)
		}
		baseline += time.Since(t0)
		until := time.Now().Add(time.Hour)
		a, err := c.SaveAnnouncement(ctx, core.Announcement{Kind: core.KindEmergency, Severity: core.SeverityWarning,
			Title: fmt.Sprintf("Notice %d", i), Area: "Citywide", Ends: &until}, core.CommandLine)
		if err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		if err := c.Broadcast(ctx, a.ID, core.CommandLine); err != nil {
			b.Fatal(err)
		}
		for {
			p, _, err := c.Broadcasted(ctx, a.ID)
			if err != nil {
				b.Fatal(err)
			}
			if p.Written {
				if p.Recipients != 20000 {
					b.Fatalf("%d recipients", p.Recipients)
				}
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		took += time.Since(t0)
	}
	b.ReportMetric(took.Seconds()/float64(b.N), "s/broadcast")
	b.ReportMetric(float64(took)/float64(baseline), "×insert")
}
