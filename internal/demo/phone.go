package demo

import (
	"context"

	"townline/internal/faketwilio"
)

// showTexts shows the texts the city sends, to whichever phone.
func showTexts(ctx context.Context, fake *faketwilio.Server, term *terminal, arrived chan<- struct{}) {
	for i := 0; ; i++ {
		m, err := fake.Next(ctx, i)
		if err != nil {
			return
		}
		term.city(m)
		notify(arrived)
	}
}

// ringPhone shows the calls the city places: the daytime calls that bring
// callers their updates. Whoever they ring picks up and listens.
func ringPhone(ctx context.Context, fake *faketwilio.Server, term *terminal, arrived chan<- struct{}) {
	for i := 0; ; i++ {
		c, err := fake.NextCall(ctx, i)
		if err != nil {
			return
		}
		who := "city (calls you)"
		if term.currentNumber() != c.To {
			who = "city (calls " + c.To + ")"
		}
		picked, err := fake.Answer(c)
		if err != nil {
			term.printf("(the city called %s, but: %v)\n", c.To, err)
			continue
		}
		for _, s := range picked.Heard() {
			term.spoken(who, s.Text)
		}
		picked.HangUp()
		notify(arrived)
	}
}
