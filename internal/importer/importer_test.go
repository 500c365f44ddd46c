package importer_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/importer"
	"townline/internal/testenv"
)

var pacific, _ = time.LoadLocation("America/Los_Angeles")

// A city's CSV export, its columns named its own way: the usual names
// are recognised, a mapping names the rest, and every row that cannot
// be a request is reported at its line, the others read whole.
func TestReadCSV(t *testing.T) {
	t.Parallel()
	csv := "\ufeffCase Number,Request Type,Comments,Latitude,Longitude,Where,Status,Created,Closed,Resolution,Email\n" +
		"1001,Pothole,\"deep, wide\",39.5138,-121.556,,Closed,2025-03-03 09:15,3/5/2025 2:00 PM,Patched,ana@example.com\n" +
		"1002,Graffiti,tags,,,1747 Montgomery St,Open,2025-06-01T08:00:00-07:00,,,\n" +
		"1003,Pothole,no date,,,,Open,yesterday,,,\n" +
		"1004,Pothole,short\n" +
		"1005,Pothole,bad place,north,-121.5,,Open,2025-06-02,,,\n" +
		"1006,Pothole,odd status,,,,Pending review,2025-06-02,,,\n" +
		"1007,Sidewalk,no position,0,0,,In Progress,2025-06-03,,,\n"
	rows, err := importer.Read([]byte(csv), importer.Options{Source: "crm", Columns: map[string]string{"address": "Where"}, Location: pacific})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 {
		t.Fatalf("%d rows, want 7", len(rows))
	}
	first := rows[0]
	in := first.Request
	if first.Line != 2 || first.Err != nil || in.Source != "crm:1001" || in.ServiceName != "Pothole" || in.Description != "deep, wide" ||
		in.Lat == nil || *in.Lat != 39.5138 || in.Status != core.StatusClosed || in.Notes != "Patched" ||
		in.Reporter.Email != "ana@example.com" || in.Channel != core.ChannelImport {
		t.Errorf("row 1: %+v", first)
	}
	if want := time.Date(2025, 3, 3, 9, 15, 0, 0, pacific); !in.At.Equal(want) {
		t.Errorf("requested %v, want %v (the city's time)", in.At, want)
	}
	if want := time.Date(2025, 3, 5, 14, 0, 0, 0, pacific); !in.Changed.Equal(want) {
		t.Errorf("closed %v, want %v", in.Changed, want)
	}
	if r := rows[1].Request; rows[1].Err != nil || r.Address != "1747 Montgomery St" || r.Lat != nil || r.Status != core.StatusNew {
		t.Errorf("row 2 (address through the mapping): %+v", rows[1])
	}
	if r := rows[6].Request; rows[6].Err != nil || r.Lat != nil || r.Status != core.StatusInProgress {
		t.Errorf("row 7 (0, 0 is no position): %+v", rows[6])
	}
	for i, want := range map[int]string{2: "requested_datetime", 3: "has 3 columns", 4: "lat and long", 5: "status"} {
		if r := rows[i]; r.Err == nil || !strings.Contains(r.Err.Error(), want) || r.Line != i+2 {
			t.Errorf("row %d: line %d, %v; want an error about %s at line %d", i+1, r.Line, r.Err, want, i+2)
		}
	}

	// Without an id column, the row is its own key: the same row the same key.
	noID := "description,requested_datetime\nPothole on Oro Dam,2025-01-02\nPothole on Oro Dam,2025-01-02\nGraffiti,2025-01-02\n"
	rows, err = importer.Read([]byte(noID), importer.Options{Location: pacific})
	if err != nil || len(rows) != 3 {
		t.Fatalf("no ids: %d rows, %v", len(rows), err)
	}
	if a, b, c := rows[0].Request.Source, rows[1].Request.Source, rows[2].Request.Source; a == "" || a != b || a == c || !strings.HasPrefix(a, "import:") {
		t.Errorf("keys without ids: %q %q %q", a, b, c)
	}

	// Files that are not a history at all.
	for _, tc := range []struct{ what, data, want string }{
		{"no date column", "id,description\n1,pothole\n", "requested_datetime"},
		{"no service column", "id,requested_datetime\n1,2025-01-02\n", "service_code, service_name and description"},
		{"JSON not an array", `{"service_requests": []}`, "not an array"},
		{"JSON breaking off", "[\n{\"service_request_id\": \"1\", \"requested_datetime\": \"2025-01-02\"},\n{\"service_", "line 3"},
	} {
		if _, err := importer.Read([]byte(tc.data), importer.Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.what, err, tc.want)
		}
	}
	if _, err := importer.Read([]byte(noID), importer.Options{Columns: map[string]string{"description": "Details"}}); err == nil ||
		!strings.Contains(err.Error(), `"Details"`) {
		t.Errorf("a mapping to a missing column: %v", err)
	}
	if _, err := importer.Read([]byte(noID), importer.Options{Columns: map[string]string{"colour": "description"}}); err == nil ||
		!strings.Contains(err.Error(), `"colour"`) {
		t.Errorf("a mapping of an unknown field: %v", err)
	}
}

// An Open311 server's answer, newest first as servers list them, is
// filed oldest first: the later report finds the earlier one open and
// joins it. Imported again, it files nothing.
func TestRunOpen311(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	ctx := context.Background()
	answer := `[
  {"service_request_id": "88", "status": "open", "service_code": "pothole", "service_name": "Pothole",
   "description": "Same hole, still there", "requested_datetime": "2025-04-02T10:00:00-07:00",
   "lat": 39.50102, "long": -121.562, "address": null, "media_url": null},
  {"service_request_id": "87", "status": "closed", "status_notes": "Filled", "service_code": "pothole",
   "description": "Hole in the road", "requested_datetime": "2025-04-01T09:00:00-07:00",
   "updated_datetime": "2025-04-08T16:00:00-07:00", "lat": "39.5010", "long": "-121.5620"},
  {"service_request_id": "86", "status": "open", "service_code": "pothole", "requested_datetime": "2025-04-01T09:00:00-07:00",
   "lat": 45.0, "long": -121.5},
  {"service_request_id": "85", "lat": [1, 2]}
]`
	rows, err := importer.Read([]byte(answer), importer.Options{Source: "old311", Location: pacific})
	if err != nil || len(rows) != 4 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	if rows[1].Line != 5 || rows[3].Line != 10 || rows[3].Err == nil {
		t.Errorf("lines %d, %d (%v); want 5 and 10, the last refused", rows[1].Line, rows[3].Line, rows[3].Err)
	}
	var seen []importer.Progress
	done, refused, err := importer.Run(ctx, c, rows, func(p importer.Progress) { seen = append(seen, p) })
	if err != nil {
		t.Fatal(err)
	}
	if done.Filed != 2 || done.Refused != 2 || done.Before != 0 || done.Done != 4 || len(seen) != 3 || seen[2].Done != 4 {
		t.Errorf("done %+v, progress %+v; want 2 filed, 2 refused, reported after each row", done, seen)
	}
	if len(refused) != 2 || refused[0].Line != 8 || !strings.Contains(refused[0].Err.Error(), "outside") || refused[1].Line != 10 {
		t.Errorf("refused %+v, want line 8 (outside the city) and line 10", refused)
	}
	var dup, parent int64
	if err := c.Pool().QueryRow(ctx, `SELECT d.duplicate_of, p.id FROM requests d, requests p
		WHERE d.source = 'old311:88' AND p.source = 'old311:87'`).Scan(&dup, &parent); err != nil || dup != parent {
		t.Errorf("#88 is a duplicate of %d, want #87 (%d): %v", dup, parent, err)
	}

	done, _, err = importer.Run(ctx, c, rows, nil)
	if err != nil || done.Filed != 0 || done.Before != 2 {
		t.Errorf("imported again: %+v, %v; want nothing filed, 2 imported before", done, err)
	}
}
