// Package jsonpos finds where the elements of a JSON document are, so a
// mistake in a hand-written file can be reported at its line and column.
//
// An element is named by its path from the top: object keys and array
// indexes joined by "/", such as "services/3/department"; the whole
// document is "".
package jsonpos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Index is where each element of a document begins: an object member at
// its key, an array element at its value.
type Index struct {
	root string // the whole document in messages, such as "the city"
	at   map[string]int64
	// Problems are the members that appear twice in an object and those
	// the Go type does not have, in the order met.
	Problems []Problem
}

// Problem is one mistake at a byte offset in the document.
type Problem struct {
	Offset  int64
	Message string
}

// Locate walks data, a well-formed JSON document, recording where every
// element begins. typ is the Go type the document decodes into: members
// it lacks are recorded as Problems ("unknown field"), with a suggestion
// when only the case differs. json.RawMessage values are free-form. root
// names the whole document in messages. The error is the decoder's when
// data is not well formed.
func Locate(data []byte, typ reflect.Type, root string) (*Index, error) {
	ix := &Index{root: root, at: map[string]int64{}}
	w := walker{ix: ix, data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	if err := w.value("", typ); err != nil {
		return nil, err
	}
	return ix, nil
}

// Offset is where the element at path begins or, when the document lacks
// it, where its nearest enclosing element does; 0 when none is known.
func (ix *Index) Offset(path string) int64 {
	for {
		if off, ok := ix.at[path]; ok {
			return off
		}
		i := strings.LastIndexByte(path, '/')
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
}

// Before finds the element that begins last at or before off: the
// innermost one a decoder error at off is about.
func (ix *Index) Before(off int64) (path string, at int64, ok bool) {
	at = -1
	for p, o := range ix.at {
		if o <= off && (o > at || (o == at && len(p) > len(path))) {
			path, at, ok = p, o, true
		}
	}
	return path, at, ok
}

// Name turns an element path ("services/3/attributes/0") or a decoder's
// field path ("services.sla") into a name for messages
// ("services[3].attributes[0]"); the root for the whole document.
func (ix *Index) Name(path string) string {
	var b strings.Builder
	for i, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '.' }) {
		if _, err := strconv.Atoi(part); err == nil {
			b.WriteString("[" + part + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(part)
	}
	if b.Len() == 0 {
		return ix.root
	}
	return b.String()
}

// TypeError places a decoder's type error at the element it is about and
// says, in words, what was expected and what was found:
// "services[0].code: expected a string, found a number".
func (ix *Index) TypeError(e *json.UnmarshalTypeError) Problem {
	field, off := ix.Name(e.Field), e.Offset
	if path, at, ok := ix.Before(e.Offset); ok {
		field, off = ix.Name(path), at
	}
	return Problem{Offset: off, Message: fmt.Sprintf("%s: expected %s, found %s", field, typeName(e.Type), valueName(e.Value))}
}

// LineCol is the line and column, both from 1, of the byte at off in data.
func LineCol(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

type walker struct {
	ix   *Index
	data []byte
	dec  *json.Decoder
}

var rawMessage = reflect.TypeFor[json.RawMessage]()

// start is where the next token begins.
func (w *walker) start() int64 {
	off := w.dec.InputOffset()
	for off < int64(len(w.data)) {
		switch w.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (w *walker) value(path string, typ reflect.Type) error {
	for typ != nil && typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == rawMessage {
		typ = nil
	}
	off := w.start()
	if _, ok := w.ix.at[path]; !ok {
		w.ix.at[path] = off
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch delim {
	case '{':
		var fields map[string]reflect.Type
		var elem reflect.Type
		if typ != nil {
			switch typ.Kind() {
			case reflect.Struct:
				fields = jsonFields(typ)
			case reflect.Map:
				elem = typ.Elem()
			}
		}
		for w.dec.More() {
			koff := w.start()
			tok, err := w.dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			child := path + "/" + key
			if path == "" {
				child = key
			}
			if _, seen := w.ix.at[child]; seen {
				w.problem(koff, fmt.Sprintf("field %q appears twice %s", key, w.where(path)))
			} else {
				w.ix.at[child] = koff
			}
			ctyp := elem
			if fields != nil {
				ft, known := fields[key]
				if !known {
					w.problem(koff, w.unknownField(path, key, fields))
				}
				ctyp = ft
			}
			if err := w.value(child, ctyp); err != nil {
				return err
			}
		}
	case '[':
		var elem reflect.Type
		if typ != nil && (typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array) {
			elem = typ.Elem()
		}
		for i := 0; w.dec.More(); i++ {
			child := fmt.Sprintf("%s/%d", path, i)
			if path == "" {
				child = strconv.Itoa(i)
			}
			if err := w.value(child, elem); err != nil {
				return err
			}
		}
	}
	_, err = w.dec.Token() // the closing delimiter
	return err
}

func (w *walker) problem(off int64, msg string) {
	w.ix.Problems = append(w.ix.Problems, Problem{Offset: off, Message: msg})
}

// where says where the members of the object at path are.
func (w *walker) where(path string) string {
	if path == "" {
		return "at the top level"
	}
	return "in " + w.ix.Name(path)
}

func (w *walker) unknownField(path, key string, fields map[string]reflect.Type) string {
	known := make([]string, 0, len(fields))
	for k := range fields {
		if strings.EqualFold(k, key) {
			return fmt.Sprintf("unknown field %q %s (did you mean %q?)", key, w.where(path), k)
		}
		known = append(known, k)
	}
	sort.Strings(known)
	return fmt.Sprintf("unknown field %q %s; known fields are %s", key, w.where(path), strings.Join(known, ", "))
}

// jsonFields are the members a struct decodes, by name, with their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}

func typeName(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	}
	return t.String()
}

// valueName names the kind of JSON value a decoder's type error found.
func valueName(v string) string {
	switch v {
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "true or false"
	case "array":
		return "an array"
	case "object":
		return "an object"
	}
	if strings.HasPrefix(v, "number") {
		return "the " + v
	}
	return v
}
