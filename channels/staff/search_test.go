package staff_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"townline/core"
)

var (
	rowRE  = regexp.MustCompile(`<td><a href="/staff/requests/(\d+)">`)
	nextRE = regexp.MustCompile(`<a href="(/staff/\?[^"]+)" rel="next">`)
)

// rows reads the request numbers an inbox page lists, in order.
func rows(body string) []int64 {
	var ids []int64
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		ids = append(ids, id)
	}
	return ids
}

// Search from the inbox: in descriptions and messages, by number, only
// among the requests the user may see, with the queue and the filters.
func TestInboxSearch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	tree, err := b.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "tree",
		Description: "Hay árboles caídos en el parque", Address: "Riverbend Park"})
	if err != nil {
		t.Fatal(err)
	}
	// The resident writes again about the pothole, in Spanish.
	if _, err := b.c.Pool().Exec(ctx, `INSERT INTO messages (request_id, contact_id, direction, channel, subject, body, state)
		VALUES ($1, $2, 'in', 'email', 'Re: su reporte', 'El bache sigue creciendo', 'received')`, b.pothole.ID, *b.pothole.ContactID); err != nil {
		t.Fatal(err)
	}
	desk, roads, parks := b.signIn("desk@oroville.test"), b.signIn("roads@oroville.test"), b.signIn("parks@oroville.test")
	pothole, triage := b.pothole.ID, b.triage.ID
	search := func(q string, extra ...string) string {
		return "/staff/?" + url.Values{"queue": {"all"}, "q": {q}}.Encode() + strings.Join(extra, "")
	}
	tests := []struct {
		name string
		as   *http.Client
		path string
		want []int64
	}{
		{"an English word of a description", desk, search("potholes"), []int64{pothole}},
		{"a Spanish word of a later message", desk, search("crecer"), []int64{pothole}},
		{"a Spanish word of a description", desk, search("árbol"), []int64{tree.ID}},
		{"words of the address", desk, search("riverbend"), []int64{tree.ID}},
		{"a number", desk, search(fmt.Sprintf("#%d", triage)), []int64{triage}},
		{"a number within the triage queue", desk, "/staff/?" + url.Values{"queue": {"triage"}, "q": {fmt.Sprint(triage)}}.Encode(), []int64{triage}},
		{"a word outside the queue", desk, "/staff/?" + url.Values{"queue": {"triage"}, "q": {"potholes"}}.Encode(), nil},
		{"with a filter that excludes it", desk, search("potholes", "&service=tree"), nil},
		{"with a filter that keeps it", desk, search("potholes", "&service=pothole&channel=open311"), []int64{pothole}},
		{"Public Works finds its own", roads, search("bache"), []int64{pothole}},
		{"Public Works never finds Parks'", roads, search("árbol"), nil},
		{"Parks never finds Public Works' by words", parks, search("pothole"), nil},
		{"Parks never finds Public Works' by messages", parks, search("bache"), nil},
		{"Parks never finds Public Works' by number", parks, search(fmt.Sprintf("#%d", pothole)), nil},
		{"Parks never finds triage by number", parks, search(fmt.Sprint(triage)), nil},
	}
	for _, tt := range tests {
		code, body := b.get(tt.as, tt.path)
		if got := rows(body); code != 200 || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %s: %d %v, want %v", tt.name, tt.path, code, got, tt.want)
		}
	}

	// The search stays in the box, as text, and in the queues' links.
	_, body := b.get(desk, search(`<b>"pothole"`))
	if !strings.Contains(body, `value="&lt;b&gt;&#34;pothole&#34;"`) || strings.Contains(body, "<b>") {
		t.Error("the search box does not show the search as text")
	}
	_, body = b.get(desk, "/staff/?"+url.Values{"queue": {"all"}, "q": {"bache"}, "sort": {"due"}}.Encode())
	if !strings.Contains(body, `href="/staff/?q=bache&amp;queue=mine&amp;sort=due"`) {
		t.Error("the queues' links drop the search or the sort")
	}
	if code, _ := b.get(desk, search(strings.Repeat("x", core.MaxSearch+1))); code != 400 {
		t.Errorf("a search longer than %d characters: %d", core.MaxSearch, code)
	}
}

// Every order, page after page through the "Next page" links: every
// request once, in the order's place.
func TestInboxSortPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for i := range 110 {
		r, err := b.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "graffiti-public",
			Description: fmt.Sprint("tag ", i), Address: "1735 Montgomery Street"})
		if err != nil {
			t.Fatal(err)
		}
		// Ties on both keys, and some with no expected date.
		var expected *time.Time
		if i%4 != 0 {
			e := time.Date(2026, 4, 1+i%9, 12, 0, 0, 0, time.UTC)
			expected = &e
		}
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration((i*37)%50) * time.Hour)
		if _, err := b.c.Pool().Exec(ctx, `UPDATE requests SET requested_at = $2, expected_at = $3 WHERE id = $1`, r.ID, at, expected); err != nil {
			t.Fatal(err)
		}
	}
	desk := b.signIn("desk@oroville.test")
	orders := map[string]string{
		"":       "requested_at DESC, id DESC",
		"newest": "requested_at DESC, id DESC",
		"oldest": "requested_at, id",
		"due":    "expected_at NULLS LAST, id",
	}
	for sort, order := range orders {
		var want []int64
		rs, err := b.c.Pool().Query(ctx, "SELECT id FROM requests ORDER BY "+order)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var id int64
			rs.Scan(&id)
			want = append(want, id)
		}
		rs.Close()
		var got []int64
		path, pages := "/staff/?queue=all&sort="+sort, 0
		for ; path != "" && pages < 10; pages++ {
			code, body := b.get(desk, path)
			if code != 200 {
				t.Fatalf("sort %q: GET %s: %d", sort, path, code)
			}
			got = append(got, rows(body)...)
			path = ""
			if m := nextRE.FindStringSubmatch(body); m != nil {
				path = html.UnescapeString(m[1])
			}
		}
		if pages != 3 || !slices.Equal(got, want) {
			t.Errorf("sort %q in %d pages:\n got %v\nwant %v", sort, pages, got, want)
		}
	}
	if code, _ := b.get(desk, "/staff/?queue=all&sort=newest&after=none-5"); code != 400 {
		t.Errorf("a due-date cursor in the newest order: %d", code)
	}
	if code, _ := b.get(desk, "/staff/?queue=all&sort=sideways"); code != 400 {
		t.Errorf("an unknown sort: %d", code)
	}
}
