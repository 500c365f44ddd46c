package jsonpos

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

type doc struct {
	Name  string            `json:"name"`
	Items []item            `json:"items"`
	Tags  map[string]string `json:"tags"`
	Shape json.RawMessage   `json:"shape"`
	Skip  string            `json:"-"`
	Plain int
}

type item struct {
	Code  string `json:"code"`
	Count *int   `json:"count"`
}

const sample = `{
  "name": "x",
  "items": [
    {"code": "a"},
    {"code": "b", "count": 2}
  ],
  "tags": {"k": "v"},
  "shape": {"anything": [1, {"goes": true}]}
}`

// offsetOf is where the first occurrence of s begins in sample.
func offsetOf(t *testing.T, s string) int64 {
	t.Helper()
	i := strings.Index(sample, s)
	if i < 0 {
		t.Fatalf("%q is not in the sample", s)
	}
	return int64(i)
}

func TestLocateOffsets(t *testing.T) {
	t.Parallel()
	ix, err := Locate([]byte(sample), reflect.TypeFor[doc](), "the doc")
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Problems) != 0 {
		t.Errorf("problems = %+v", ix.Problems)
	}
	tests := []struct {
		path string
		want int64
	}{
		{"", 0},
		{"name", offsetOf(t, `"name"`)},
		{"items", offsetOf(t, `"items"`)},
		{"items/0", offsetOf(t, `{"code": "a"}`)},
		{"items/1", offsetOf(t, `{"code": "b"`)},
		{"items/1/count", offsetOf(t, `"count"`)},
		{"tags/k", offsetOf(t, `"k"`)},
		{"shape/anything/1/goes", offsetOf(t, `"goes"`)},
		// Elements the document lacks: the nearest enclosing one.
		{"items/1/missing", offsetOf(t, `{"code": "b"`)},
		{"items/7/code", offsetOf(t, `"items"`)},
		{"absent", 0},
	}
	for _, tt := range tests {
		if got := ix.Offset(tt.path); got != tt.want {
			t.Errorf("Offset(%q) = %d, want %d", tt.path, got, tt.want)
		}
	}

	path, at, ok := ix.Before(offsetOf(t, `2}`))
	if !ok || path != "items/1/count" || at != offsetOf(t, `"count"`) {
		t.Errorf("Before(the 2) = %q, %d, %v", path, at, ok)
	}
}

func TestLocateProblems(t *testing.T) {
	t.Parallel()
	data := `{"name": "x", "Items": [], "items": [{"code": "a", "colour": 1, "code": "b"}], "name": "y", "tags": {"Anything": "goes"}, "Skip": 1}`
	ix, err := Locate([]byte(data), reflect.TypeFor[doc](), "the doc")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) int64 { return int64(strings.Index(data, s)) }
	want := []Problem{
		{at(`"Items"`), `unknown field "Items" at the top level (did you mean "items"?)`},
		{at(`"colour"`), `unknown field "colour" in items[0]; known fields are code, count`},
		{at(`"code": "b"`), `field "code" appears twice in items[0]`},
		{at(`"name": "y"`), `field "name" appears twice at the top level`},
		{at(`"Skip"`), `unknown field "Skip" at the top level; known fields are Plain, items, name, shape, tags`},
	}
	if !slices.Equal(ix.Problems, want) {
		t.Errorf("problems:\n%+v\nwant:\n%+v", ix.Problems, want)
	}
	// A repeated member keeps the place of its first appearance.
	if got := ix.Offset("name"); got != at(`"name"`) {
		t.Errorf("Offset(name) = %d, want %d", got, at(`"name"`))
	}
}

func TestLocateMalformed(t *testing.T) {
	t.Parallel()
	for _, data := range []string{`{"name": "x"`, `{"name" "x"}`, `[1, 2`} {
		if _, err := Locate([]byte(data), reflect.TypeFor[doc](), "the doc"); err == nil {
			t.Errorf("Locate(%s) found no error", data)
		}
	}
}

func TestTypeError(t *testing.T) {
	t.Parallel()
	tests := []struct{ data, want string }{
		{"{\"items\": [\n {\"code\": 5}]}", `2:3: items[0].code: expected a string, found a number`},
		{`{"items": [{"count": 1.5}]}`, `1:13: items[0].count: expected a whole number, found the number 1.5`},
		{`{"items": {}}`, `1:2: items: expected an array, found an object`},
		{`[]`, `1:1: the doc: expected an object, found an array`},
	}
	// Each is placed at the innermost element that begins before the
	// decoder's offset: the member's key.
	for _, tt := range tests {
		var typeErr *json.UnmarshalTypeError
		if err := json.Unmarshal([]byte(tt.data), new(doc)); !errors.As(err, &typeErr) {
			t.Fatalf("%s: %v is not a type error", tt.data, err)
		}
		ix, err := Locate([]byte(tt.data), reflect.TypeFor[doc](), "the doc")
		if err != nil {
			t.Fatal(err)
		}
		p := ix.TypeError(typeErr)
		line, col := LineCol([]byte(tt.data), p.Offset)
		if got := fmt.Sprintf("%d:%d: %s", line, col, p.Message); got != tt.want {
			t.Errorf("%s:\n got: %s\nwant: %s", tt.data, got, tt.want)
		}
	}
}

func TestName(t *testing.T) {
	t.Parallel()
	ix := &Index{root: "the doc"}
	tests := map[string]string{
		"":                        "the doc",
		"services":                "services",
		"services/3/attributes/0": "services[3].attributes[0]",
		"services.sla":            "services.sla",
		"0/name":                  "[0].name",
	}
	for in, want := range tests {
		if got := ix.Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLineCol(t *testing.T) {
	t.Parallel()
	data := []byte("ab\ncd\n\nef")
	tests := []struct {
		off       int64
		line, col int
	}{
		{0, 1, 1}, {1, 1, 2}, {2, 1, 3}, {3, 2, 1}, {4, 2, 2}, {6, 3, 1}, {7, 4, 1}, {9, 4, 3},
		{-5, 1, 1}, {100, 4, 3}, // clamped to the data
	}
	for _, tt := range tests {
		if line, col := LineCol(data, tt.off); line != tt.line || col != tt.col {
			t.Errorf("LineCol(%d) = %d:%d, want %d:%d", tt.off, line, col, tt.line, tt.col)
		}
	}
}
