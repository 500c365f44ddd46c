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
func BenchmarkCreateRequest(b *testing.B) {
	c := testenv.Core(b, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
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
