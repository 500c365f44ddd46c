package staff_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"townline/core"
)

// An inbox view exports whole, as the user sees it, without reporters'
// details, and safe to open in a spreadsheet.
func TestExportView(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const more = 205 // past one page of the export
	var last int64
	for i := range more {
		lat, lng := spot(1 + i)
		desc := fmt.Sprintf("Pothole number %d", i)
		if i == 0 {
			desc = `=HYPERLINK("http://evil.example","click")`
		}
		r, err := b.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
			Description: desc, Lat: &lat, Lng: &lng, Reporter: core.Reporter{Email: fmt.Sprintf("r%d@example.com", i)}})
		if err != nil {
			t.Fatal(err)
		}
		last = r.ID
	}
	// One assigned to a person, one a duplicate of it.
	roadsID := b.userID("roads@oroville.test")
	if err := b.c.Assign(ctx, b.pothole.ID, "public-works", &roadsID, core.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := b.c.MarkDuplicate(ctx, last, b.pothole.ID, core.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	read := func(email, query string) [][]string {
		t.Helper()
		resp, err := b.signIn(email).Get(b.srv.URL + "/staff/export.csv?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
			t.Fatalf("export as %s: %d %s", email, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		rows, err := csv.NewReader(resp.Body).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	rows := read("roads@oroville.test", "queue=departments&after=garbage")
	if len(rows) != 1+more || rows[0][0] != "number" { // the setup's pothole too, not the closed duplicate
		t.Fatalf("roads exported %d rows, want a header and %d requests", len(rows), more)
	}
	seen := map[string]bool{}
	formula := false
	for _, row := range rows[1:] {
		if seen[row[0]] {
			t.Errorf("request %s exported twice", row[0])
		}
		seen[row[0]] = true
		if row[5] != "Public Works" {
			t.Errorf("request %s of department %q", row[0], row[5])
		}
		desc := row[len(row)-1]
		formula = formula || desc == `'=HYPERLINK("http://evil.example","click")`
		if strings.HasPrefix(desc, "=") {
			t.Errorf("a formula exported as a formula: %q", desc)
		}
		for _, cell := range row {
			if strings.Contains(cell, "@example.com") {
				t.Errorf("a reporter's address in the export: %q", cell)
			}
		}
	}
	if !formula {
		t.Error("the description that looks like a formula is missing")
	}
	checked := 0
	for _, row := range append(rows[1:], read("desk@oroville.test", "queue=all&status=closed")[1:]...) {
		switch row[0] {
		case fmt.Sprint(b.pothole.ID):
			if row[6] != "roads@oroville.test" || row[14] != "" || row[13] != "2" {
				t.Errorf("the assigned pothole: assignee %q, duplicate of %q, %s reports", row[6], row[14], row[13])
			}
		case fmt.Sprint(last):
			if row[14] != fmt.Sprint(b.pothole.ID) || row[6] != "" || row[3] != "closed" || row[4] != "duplicate" {
				t.Errorf("the duplicate: of %q, assignee %q, %s (%s)", row[14], row[6], row[3], row[4])
			}
		default:
			continue
		}
		checked++
	}
	if checked != 2 {
		t.Errorf("%d of the assigned pothole and its duplicate exported", checked)
	}
	if rows := read("parks@oroville.test", "queue=departments"); len(rows) != 1 {
		t.Errorf("parks exported %d rows of Public Works' requests", len(rows)-1)
	}
	// Filters apply: a search finds one.
	if rows := read("desk@oroville.test", "queue=all&q=%22number+17%22"); len(rows) != 2 || rows[1][len(rows[1])-1] != "Pothole number 17" {
		t.Errorf("the searched view exported %v", rows)
	}
	if code, _ := b.get(b.signIn(""), "/staff/export.csv"); code != http.StatusSeeOther {
		t.Errorf("signed out: %d, want the sign-in page", code)
	}
}
