package core_test

import (
	"context"
	"fmt"
	"testing"

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
