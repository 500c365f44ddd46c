// Package importer brings a city's history into townline: the requests
// another 311 system kept, as its Open311 server answers them (GeoReport
// v2 JSON) or as it exports them (CSV, its columns named by a mapping).
// Each row is filed through core.Import, oldest first, so that each finds
// the same issue among those open at its own time.
package importer

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"townline/core"
)

// Fields are the parts of a request a row may give, named as Open311
// names them; a CSV's columns are mapped onto them.
var Fields = []string{
	"service_request_id", "service_code", "service_name", "description", "lat", "long",
	"address", "zipcode", "media_url", "status", "status_notes",
	"requested_datetime", "updated_datetime", "channel", "name", "email", "phone",
}

// aliases are the other names a CSV column commonly has for a field,
// lower-cased; a mapping given by the operator comes first.
var aliases = map[string][]string{
	"service_request_id": {"id", "request_id", "case_id", "case_number", "ticket"},
	"service_name":       {"service", "request_type", "type", "category"},
	"description":        {"details", "comments", "text"},
	"lat":                {"latitude", "y"},
	"long":               {"lng", "lon", "longitude", "x"},
	"address":            {"address_string", "location", "street_address"},
	"zipcode":            {"zip", "postal_code"},
	"status_notes":       {"notes", "resolution"},
	"requested_datetime": {"requested", "created", "created_at", "opened", "open_date", "date"},
	"updated_datetime":   {"updated", "updated_at", "closed", "closed_at", "close_date"},
	"channel":            {"source", "method", "origin"},
}

// field is the field a column or mapping name means: the field's own
// name or a usual alias, in any case, with spaces for underscores.
func field(name string) (string, bool) {
	name = strings.ToLower(strings.Join(strings.Fields(name), "_"))
	for _, f := range Fields {
		if name == f || slices.Contains(aliases[f], name) {
			return f, true
		}
	}
	return "", false
}

// Options say how to read a file.
type Options struct {
	// Source names the system the file comes from; with a row's id it
	// makes the key that stops a second import ("import" when empty).
	Source string
	// Columns maps a field (or an alias of one) to the CSV column that
	// holds it ("description" → "Details"), for columns neither named as
	// the field nor as one of its usual aliases.
	Columns map[string]string
	// Location is the time zone of times written without one: the city's.
	Location *time.Location
}

// Row is one request read from the file, or why its line cannot be one.
type Row struct {
	Line    int
	Request core.Imported
	Err     error
}

// Read reads every row of an Open311 JSON array or a CSV file with a
// header line. A row that cannot be read is returned with its error; a
// file that cannot be read at all is an error.
func Read(data []byte, o Options) ([]Row, error) {
	if o.Source == "" {
		o.Source = "import"
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	columns := map[string]string{}
	for name, col := range o.Columns {
		f, ok := field(name)
		if !ok {
			return nil, fmt.Errorf("the mapping names %q, which is not a field (%s)", name, strings.Join(Fields, ", "))
		}
		columns[f] = col
	}
	o.Columns = columns
	if t := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(t) > 0 && (t[0] == '[' || t[0] == '{') {
		return readJSON(data, o)
	}
	return readCSV(data, o)
}

// readJSON reads the array an Open311 server answers GET requests.json
// with: each request an object of strings, numbers or nulls.
func readJSON(data []byte, o Options) ([]Row, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if tok, err := d.Token(); err != nil || tok != json.Delim('[') {
		return nil, errors.New("not an Open311 answer: the JSON is not an array of requests")
	}
	var rows []Row
	for d.More() {
		at := int(d.InputOffset())
		for at < len(data) && strings.IndexByte(" \t\r\n,", data[at]) >= 0 {
			at++ // to where the element begins
		}
		line := 1 + bytes.Count(data[:at], []byte("\n"))
		var obj map[string]any
		if err := d.Decode(&obj); err != nil {
			var syntax *json.SyntaxError
			if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) {
				return rows, fmt.Errorf("line %d: the JSON breaks off: %v", line, err)
			}
			rows = append(rows, Row{Line: line, Err: errors.New("not a request object")})
			continue
		}
		rec := map[string]string{}
		var bad error
		for k, v := range obj {
			switch v := v.(type) {
			case nil:
			case string:
				rec[k] = v
			case json.Number:
				rec[k] = v.String()
			case bool:
				rec[k] = strconv.FormatBool(v)
			default:
				if slices.Contains(Fields, k) {
					bad = fmt.Errorf("%s: is not a string or a number", k)
				}
			}
		}
		if bad != nil {
			rows = append(rows, Row{Line: line, Err: bad})
			continue
		}
		rows = append(rows, row(line, rec, o))
	}
	return rows, nil
}

// readCSV reads a CSV file whose first line names the columns.
func readCSV(data []byte, o Options) ([]Row, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.FieldsPerRecord = -1 // a short or long row is that row's problem
	r.LazyQuotes = true    // a stray quote inside a field, as spreadsheets write them
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("not a CSV file with a header line: %v", err)
	}
	col := map[string]int{} // field → column index
	for i, h := range header {
		f, ok := field(h)
		if _, mapped := o.Columns[f]; ok && !mapped {
			if _, seen := col[f]; !seen {
				col[f] = i
			}
		}
	}
	for f, name := range o.Columns {
		i := slices.IndexFunc(header, func(h string) bool { return strings.EqualFold(strings.TrimSpace(h), name) })
		if i < 0 {
			return nil, fmt.Errorf("the mapping puts %s in column %q, which the header does not have (%s)", f, name, strings.Join(header, ", "))
		}
		col[f] = i
	}
	_, named := col["service_code"]
	_, described := col["description"]
	_, kind := col["service_name"]
	if _, dated := col["requested_datetime"]; !dated || !(named || described || kind) {
		return nil, fmt.Errorf("the header (%s) has no column for requested_datetime, or none for service_code, service_name and description: name them with --map FIELD=COLUMN",
			strings.Join(header, ", "))
	}
	var rows []Row
	for {
		fields, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return rows, err
			}
			rows = append(rows, Row{Line: pe.StartLine, Err: errors.New(pe.Err.Error())})
			continue
		}
		if len(fields) != len(header) {
			rows = append(rows, Row{Line: line, Err: fmt.Errorf("has %d columns; the header has %d", len(fields), len(header))})
			continue
		}
		rec := map[string]string{}
		for f, i := range col {
			rec[f] = fields[i]
		}
		if _, ok := col["service_request_id"]; !ok {
			// No id: the row itself is its key, so a second import of the
			// same file finds it.
			sum := sha256.Sum256([]byte(strings.Join(fields, "\x1f")))
			rec["service_request_id"] = "row-" + hex.EncodeToString(sum[:12])
		}
		rows = append(rows, row(line, rec, o))
	}
}

// row makes a request of a record's fields.
func row(line int, rec map[string]string, o Options) Row {
	get := func(f string) string { return strings.TrimSpace(rec[f]) }
	out := Row{Line: line}
	in := &out.Request
	fail := func(err error) Row { out.Err = err; return out }
	if id := get("service_request_id"); id != "" {
		in.Source = o.Source + ":" + id
	}
	in.ServiceCode, in.ServiceName = get("service_code"), get("service_name")
	in.Description, in.Address, in.Zipcode, in.MediaURL = get("description"), get("address"), get("zipcode"), get("media_url")
	in.Notes = get("status_notes")
	in.Reporter = core.Reporter{Name: get("name"), Email: get("email"), Phone: get("phone")}
	in.Channel = channel(get("channel"))
	var err error
	if in.At, err = parseTime(get("requested_datetime"), o.Location); err != nil {
		return fail(fmt.Errorf("requested_datetime: %w", err))
	}
	if s := get("updated_datetime"); s != "" {
		if in.Changed, err = parseTime(s, o.Location); err != nil {
			return fail(fmt.Errorf("updated_datetime: %w", err))
		}
	}
	if in.Status, err = status(get("status")); err != nil {
		return fail(fmt.Errorf("status: %w", err))
	}
	lat, lng := get("lat"), get("long")
	if lat != "" || lng != "" {
		y, err1 := strconv.ParseFloat(lat, 64)
		x, err2 := strconv.ParseFloat(lng, 64)
		if err1 != nil || err2 != nil {
			return fail(fmt.Errorf("lat and long: %q, %q is not a position", lat, lng))
		}
		// 0, 0 is how some systems write "no position".
		if y != 0 || x != 0 {
			in.Lat, in.Lng = &y, &x
		}
	}
	return out
}

// timeLayouts are how exports write times, tried in order; those without
// a zone are in the city's time.
var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05Z07", "2006-01-02 15:04:05.999999Z07",
	"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02",
	"01/02/2006 15:04:05", "01/02/2006 15:04", "1/2/2006 3:04:05 PM", "1/2/2006 3:04 PM", "1/2/2006",
}

func parseTime(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("is empty")
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (write 2024-03-01T14:05:00-08:00, 2024-03-01 14:05 or 3/1/2024 2:05 PM)", s)
}

// status reads the other system's status words.
func status(s string) (core.Status, error) {
	switch w := strings.ToLower(strings.Join(strings.Fields(strings.ReplaceAll(s, "_", " ")), " ")); w {
	case "", "open", "new", "submitted", "received", "reopened":
		return core.StatusNew, nil
	case "acknowledged", "assigned", "accepted":
		return core.StatusAcknowledged, nil
	case "in progress", "started", "work in progress", "scheduled":
		return core.StatusInProgress, nil
	case "closed", "resolved", "completed", "complete", "done", "fixed":
		return core.StatusClosed, nil
	}
	return "", fmt.Errorf("%q is not a status townline knows (open, acknowledged, in progress, closed, and their usual synonyms)", s)
}

// channel reads how the request reached the other system: townline's own
// channel when it is one, else an import.
func channel(s string) core.Channel {
	switch strings.ToLower(s) {
	case "sms", "text", "texting":
		return core.ChannelSMS
	case "email", "e-mail", "mail":
		return core.ChannelEmail
	case "voice", "phone", "call":
		return core.ChannelVoice
	case "web", "website", "online":
		return core.ChannelWeb
	case "open311", "api", "app", "mobile":
		return core.ChannelOpen311
	}
	return core.ChannelImport
}

// Progress is how far an import has come.
type Progress struct {
	Done, Total            int
	Filed, Before, Refused int
}

// Refusal is a row that was read but that townline would not file.
type Refusal struct {
	Line int
	Err  error
}

// Run files the rows that were read, oldest first (each finds the same
// issue among the requests open at its time), calling progress after
// each. Rows that came with an error are not filed; neither are those
// core refuses (a place outside the city): both are returned, with their
// line. It stops at the first error that is not the row's own (the
// database gone).
func Run(ctx context.Context, c *core.Core, rows []Row, progress func(Progress)) (Progress, []Refusal, error) {
	good := make([]Row, 0, len(rows))
	var refused []Refusal
	for _, r := range rows {
		if r.Err != nil {
			refused = append(refused, Refusal{r.Line, r.Err})
		} else {
			good = append(good, r)
		}
	}
	slices.SortStableFunc(good, func(a, b Row) int { return a.Request.At.Compare(b.Request.At) })
	p := Progress{Total: len(rows), Refused: len(refused), Done: len(refused)}
	for _, r := range good {
		_, filed, err := c.Import(ctx, r.Request)
		var bad *core.ValidationError
		switch {
		case errors.As(err, &bad):
			p.Refused++
			refused = append(refused, Refusal{r.Line, bad})
		case err != nil:
			return p, refused, fmt.Errorf("line %d: %w", r.Line, err)
		case filed:
			p.Filed++
		default:
			p.Before++
		}
		p.Done++
		if progress != nil {
			progress(p)
		}
	}
	slices.SortFunc(refused, func(a, b Refusal) int { return cmp.Compare(a.Line, b.Line) })
	return p, refused, nil
}
