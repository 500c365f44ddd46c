package core

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

func attributeTestService() Service {
	list := []AttributeValue{{Key: "small", Name: "Smaller than a dinner plate"}, {Key: "medium", Name: "About a tire"}, {Key: "large", Name: "Larger"}}
	return Service{Code: "pothole", Attributes: []Attribute{
		{Code: "size", Description: "How big is it?", Datatype: "singlevaluelist", Required: true, Variable: true, Order: 1, Values: list},
		{Code: "kinds", Description: "What kinds?", Datatype: "multivaluelist", Variable: true, Order: 2, Values: []AttributeValue{{Key: "a", Name: "Apple"}, {Key: "b", Name: "Banana"}, {Key: "c", Name: "Cherry"}}},
		{Code: "count", Description: "How many?", Datatype: "number", Variable: true, Order: 3},
		{Code: "when", Description: "When?", Datatype: "datetime", Variable: true, Order: 4},
		{Code: "plate", Description: "Plate", Datatype: "string", Variable: true, Order: 5},
		{Code: "notes", Description: "Notes", Datatype: "text", Variable: true, Order: 6},
		{Code: "warning", Description: "Stay safe.", Datatype: "text", Variable: false, Order: 7},
	}}
}

func TestValidateAttributes(t *testing.T) {
	s := attributeTestService()
	tests := []struct {
		name string
		in   map[string][]string
		want map[string][]string // when the input is accepted
		err  string              // when it is not
	}{
		{name: "required only", in: map[string][]string{"size": {"small"}}, want: map[string][]string{"size": {"small"}}},
		{name: "trimmed, blanks dropped", in: map[string][]string{"size": {" medium "}, "plate": {"  "}, "notes": {""}, "kinds": {}},
			want: map[string][]string{"size": {"medium"}}},
		{name: "list by name or any case", in: map[string][]string{"size": {"LARGE"}, "kinds": {"apple", "B"}},
			want: map[string][]string{"size": {"large"}, "kinds": {"a", "b"}}},
		{name: "list by value name", in: map[string][]string{"size": {"smaller than a dinner plate"}}, want: map[string][]string{"size": {"small"}}},
		{name: "everything", in: map[string][]string{
			"size": {"small"}, "kinds": {"c", "a", "c"}, "count": {"3.5"}, "when": {"2025-03-03T08:30:00-08:00"},
			"plate": {"7ABC123"}, "notes": {"line one\nline two"},
		}, want: map[string][]string{
			"size": {"small"}, "kinds": {"c", "a"}, "count": {"3.5"}, "when": {"2025-03-03T08:30:00-08:00"},
			"plate": {"7ABC123"}, "notes": {"line one\nline two"},
		}},
		{name: "datetime UTC", in: map[string][]string{"size": {"small"}, "when": {"2025-03-03T16:30:00Z"}},
			want: map[string][]string{"size": {"small"}, "when": {"2025-03-03T16:30:00Z"}}},
		{name: "datetime numeric zone becomes RFC 3339", in: map[string][]string{"size": {"small"}, "when": {"2025-03-03T08:30:00-0800"}},
			want: map[string][]string{"size": {"small"}, "when": {"2025-03-03T08:30:00-08:00"}}},
		{name: "date only", in: map[string][]string{"size": {"small"}, "when": {"2025-03-03"}},
			want: map[string][]string{"size": {"small"}, "when": {"2025-03-03"}}},
		{name: "negative number", in: map[string][]string{"size": {"small"}, "count": {"-2"}},
			want: map[string][]string{"size": {"small"}, "count": {"-2"}}},
		{name: "string at the limit", in: map[string][]string{"size": {"small"}, "plate": {strings.Repeat("é", 200)}},
			want: map[string][]string{"size": {"small"}, "plate": {strings.Repeat("é", 200)}}},
		{name: "text at the limit", in: map[string][]string{"size": {"small"}, "notes": {strings.Repeat("x", 4000)}},
			want: map[string][]string{"size": {"small"}, "notes": {strings.Repeat("x", 4000)}}},
		{name: "informational left blank", in: map[string][]string{"size": {"small"}, "warning": {""}},
			want: map[string][]string{"size": {"small"}}},
		{name: "a client's own questions kept, trimmed", in: map[string][]string{"size": {"small"}, "fixmystreet_id": {" 7000100 "},
			"colour": {"red", " ", "blue"}, "zz": {""}, "aa": nil},
			want: map[string][]string{"size": {"small"}, "fixmystreet_id": {"7000100"}, "colour": {"red", "blue"}}},

		{name: "required missing", in: nil, err: `attribute[size]: a value is required (How big is it?)`},
		{name: "required blank", in: map[string][]string{"size": {" "}}, err: `attribute[size]: a value is required (How big is it?)`},
		{name: "not in list", in: map[string][]string{"size": {"huge"}}, err: `attribute[size]: "huge" is not one of small, medium, large`},
		{name: "two for a single list", in: map[string][]string{"size": {"small", "large"}}, err: `attribute[size]: takes one value, not 2`},
		{name: "multi not in list", in: map[string][]string{"size": {"small"}, "kinds": {"a", "z"}}, err: `attribute[kinds]: "z" is not one of a, b, c`},
		{name: "not a number", in: map[string][]string{"size": {"small"}, "count": {"three"}}, err: `attribute[count]: "three" is not a number`},
		{name: "infinite number", in: map[string][]string{"size": {"small"}, "count": {"Inf"}}, err: `attribute[count]: "Inf" is not a number`},
		{name: "two numbers", in: map[string][]string{"size": {"small"}, "count": {"1", "2"}}, err: `attribute[count]: takes one value, not 2`},
		{name: "not a datetime", in: map[string][]string{"size": {"small"}, "when": {"yesterday"}},
			err: `attribute[when]: "yesterday" is not a date and time like 2024-05-01T14:30:00-07:00 or a date like 2024-05-01`},
		{name: "impossible date", in: map[string][]string{"size": {"small"}, "when": {"2025-02-30"}},
			err: `attribute[when]: "2025-02-30" is not a date and time like 2024-05-01T14:30:00-07:00 or a date like 2024-05-01`},
		{name: "string too long", in: map[string][]string{"size": {"small"}, "plate": {strings.Repeat("x", 201)}},
			err: `attribute[plate]: is 201 characters long; the limit is 200`},
		{name: "text too long", in: map[string][]string{"size": {"small"}, "notes": {strings.Repeat("x", 4001)}},
			err: `attribute[notes]: is 4001 characters long; the limit is 4000`},
		{name: "invalid UTF-8", in: map[string][]string{"size": {"small"}, "plate": {"\xff"}}, err: `attribute[plate]: is not valid UTF-8 text`},
		{name: "informational given a value", in: map[string][]string{"size": {"small"}, "warning": {"ok"}}, err: `attribute[warning]: is information only and takes no value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ValidateAttributes(tt.in)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("accepted: %v", got)
				}
				if err.Error() != tt.err {
					t.Errorf("error:\n got %s\nwant %s", err, tt.err)
				}
				var ae *AttributeError
				if !errors.As(err, &ae) || !strings.HasPrefix(tt.err, "attribute["+ae.Code+"]: ") || ae.Problem == "" {
					t.Errorf("error is not a matching *AttributeError: %#v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateAttributesNoAttributes(t *testing.T) {
	s := Service{Code: "other"}
	got, err := s.ValidateAttributes(nil)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("no attributes, no input: %v, %v", got, err)
	}
	got, err = s.ValidateAttributes(map[string][]string{"x": {"1"}})
	if err != nil || !slices.Equal(got["x"], []string{"1"}) {
		t.Errorf("a client's own question: %v, %v", got, err)
	}
}

func TestValidateAttributesOroville(t *testing.T) {
	c := cityOroville(t)
	stray, _ := c.Service("animal-stray")
	if _, err := stray.ValidateAttributes(nil); err == nil || !strings.HasPrefix(err.Error(), "attribute[condition]: a value is required") {
		t.Errorf("stray animal without condition: %v", err)
	}
	got, err := stray.ValidateAttributes(map[string][]string{"condition": {"Dead"}, "animal": {"dog"}})
	if err != nil || got["condition"][0] != "dead" {
		t.Errorf("stray animal: %v, %v", got, err)
	}
	pothole, _ := c.Service("pothole")
	if _, err := pothole.ValidateAttributes(map[string][]string{"size": {"huge"}}); err == nil ||
		err.Error() != `attribute[size]: "huge" is not one of small, medium, large` {
		t.Errorf("pothole size huge: %v", err)
	}
	for _, s := range c.Services {
		if _, err := s.ValidateAttributes(nil); err != nil && s.Code != "animal-stray" {
			t.Errorf("service %q needs attributes: %v", s.Code, err)
		}
	}
}

// A stored answer reads as its value's name; an answer of no listed value
// reads as it is.
func TestValueName(t *testing.T) {
	c, err := ReadCity("")
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := c.Service("pothole")
	size := svc.Attribute("size")
	if size == nil {
		t.Fatal("the pothole service has no size question")
	}
	if got := size.ValueName("large"); got != "Larger than a tire, or deep" {
		t.Errorf("ValueName(large) = %q", got)
	}
	if got := size.ValueName("enormous"); got != "enormous" {
		t.Errorf("ValueName(enormous) = %q, want it as it is", got)
	}
}
