package core

// Open311 service attributes: the answers that come with a request.

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// attributeDatatypes are the Open311 attribute datatypes.
var attributeDatatypes = []string{"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}

// Length limits, in characters, of string and text attribute values.
const (
	attributeStringMax = 200
	attributeTextMax   = 4000
)

// attributeDateLayouts are the accepted datetime forms, RFC 3339 first.
var attributeDateLayouts = []string{time.RFC3339, "2006-01-02T15:04:05-0700", "2006-01-02"}

// AttributeError says which attribute value was wrong and why.
type AttributeError struct {
	Code    string // the attribute's code
	Problem string // a sentence fragment, such as `"huge" is not one of small, medium, large`
}

func (e *AttributeError) Error() string { return "attribute[" + e.Code + "]: " + e.Problem }

// ValidateAttributes checks Open311 attribute values (code -> one or more
// values) against the service definition and returns them cleaned: values
// trimmed, empty ones dropped, list answers given as their keys (a key or a
// value's name, in any case, is accepted), datetimes with a numeric zone
// such as -0700 rewritten as RFC 3339. Attributes with no value are left
// out. A code the service does not define is kept as it came, trimmed:
// clients send questions of their own (FixMyStreet sends every one a
// council added, such as fixmystreet_id), which staff may want, and
// refusing them would refuse the whole report. The first problem with a
// defined attribute, in the service's order, is returned as an
// *AttributeError.
func (s Service) ValidateAttributes(in map[string][]string) (map[string][]string, error) {
	out := map[string][]string{}
	for code, vs := range in {
		if s.Attribute(code) == nil {
			if vals := trimmed(vs); len(vals) > 0 {
				out[code] = vals
			}
		}
	}

	for _, a := range s.Attributes {
		vals := trimmed(in[a.Code])
		fail := func(format string, args ...any) (map[string][]string, error) {
			return nil, &AttributeError{Code: a.Code, Problem: fmt.Sprintf(format, args...)}
		}
		if len(vals) == 0 {
			if a.Required && a.Variable {
				return fail("a value is required (%s)", a.Description)
			}
			continue
		}
		if !a.Variable {
			return fail("is information only and takes no value")
		}
		if a.Datatype != "multivaluelist" && len(vals) > 1 {
			return fail("takes one value, not %d", len(vals))
		}
		v := vals[0]
		switch a.Datatype {
		case "singlevaluelist":
			key, ok := a.valueKey(v)
			if !ok {
				return fail("%q is not one of %s", v, a.valueKeys())
			}
			out[a.Code] = []string{key}
		case "multivaluelist":
			var keys []string
			for _, v := range vals {
				key, ok := a.valueKey(v)
				if !ok {
					return fail("%q is not one of %s", v, a.valueKeys())
				}
				if !slices.Contains(keys, key) {
					keys = append(keys, key)
				}
			}
			out[a.Code] = keys
		case "number":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return fail("%q is not a number", v)
			}
			out[a.Code] = []string{v}
		case "datetime":
			t, layout, ok := attributeTime(v)
			if !ok {
				return fail("%q is not a date and time like 2024-05-01T14:30:00-07:00 or a date like 2024-05-01", v)
			}
			if layout == "2006-01-02T15:04:05-0700" {
				v = t.Format(time.RFC3339)
			}
			out[a.Code] = []string{v}
		case "string", "text":
			limit := attributeStringMax
			if a.Datatype == "text" {
				limit = attributeTextMax
			}
			if !utf8.ValidString(v) {
				return fail("is not valid UTF-8 text")
			}
			if strings.ContainsRune(v, 0) {
				return fail("contains a NUL character")
			}
			if n := utf8.RuneCountInString(v); n > limit {
				return fail("is %d characters long; the limit is %d", n, limit)
			}
			out[a.Code] = []string{v}
		default:
			return fail("has an unknown datatype %q", a.Datatype)
		}
	}
	return out, nil
}

// Attribute returns the service's attribute with code, or nil.
func (s Service) Attribute(code string) *Attribute {
	for i := range s.Attributes {
		if s.Attributes[i].Code == code {
			return &s.Attributes[i]
		}
	}
	return nil
}

// trimmed is vs trimmed, without the empty ones.
func trimmed(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// valueKey finds the list value v names: by key, then by key or name
// ignoring case.
// ValueName is how staff read a stored answer: the name of the value
// whose key it is ("Larger than a tire, or deep"), or the answer itself.
func (a Attribute) ValueName(key string) string {
	for _, x := range a.Values {
		if x.Key == key {
			return x.Name
		}
	}
	return key
}

func (a Attribute) valueKey(v string) (string, bool) {
	for _, x := range a.Values {
		if x.Key == v {
			return x.Key, true
		}
	}
	for _, x := range a.Values {
		if strings.EqualFold(x.Key, v) || strings.EqualFold(x.Name, v) {
			return x.Key, true
		}
	}
	return "", false
}

func (a Attribute) valueKeys() string {
	keys := make([]string, len(a.Values))
	for i, x := range a.Values {
		keys[i] = x.Key
	}
	return strings.Join(keys, ", ")
}

func attributeTime(v string) (time.Time, string, bool) {
	for _, layout := range attributeDateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t, layout, true
		}
	}
	return time.Time{}, "", false
}
