package open311

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"slices"
	"strings"

	"townline/core"
)

type service struct {
	Code        string `json:"service_code" xml:"service_code"`
	Name        string `json:"service_name" xml:"service_name"`
	Description string `json:"description" xml:"description"`
	Metadata    bool   `json:"metadata" xml:"metadata"`
	Type        string `json:"type" xml:"type"`
	Keywords    string `json:"keywords" xml:"keywords"`
	Group       string `json:"group" xml:"group"`
}

// serviceList is <services><service>… in XML and a bare array in JSON.
type serviceList struct {
	XMLName  xml.Name  `xml:"services"`
	Services []service `xml:"service"`
}

func (l serviceList) MarshalJSON() ([]byte, error) { return json.Marshal(nonNil(l.Services)) }

type serviceDefinition struct {
	XMLName    xml.Name    `json:"-" xml:"service_definition"`
	Code       string      `json:"service_code" xml:"service_code"`
	Attributes []attribute `json:"attributes" xml:"attributes>attribute"`
}

type attribute struct {
	Variable            bool    `json:"variable" xml:"variable"`
	Code                string  `json:"code" xml:"code"`
	Datatype            string  `json:"datatype" xml:"datatype"`
	Required            bool    `json:"required" xml:"required"`
	DatatypeDescription string  `json:"datatype_description" xml:"datatype_description"`
	Order               int     `json:"order" xml:"order"`
	Description         string  `json:"description" xml:"description"`
	Values              []value `json:"values" xml:"values>value"`
}

type value struct {
	Key  string `json:"key" xml:"key"`
	Name string `json:"name" xml:"name"`
}

// services answers GET services: the city's catalog.
func (h *Handler) services(r *http.Request, _ string) (any, error) {
	city := h.core.City()
	list := serviceList{Services: make([]service, 0, len(city.Services))}
	for _, s := range city.Services {
		list.Services = append(list.Services, service{
			Code:        s.Code,
			Name:        s.Name,
			Description: s.Description,
			Metadata:    len(s.Attributes) > 0,
			Type:        "realtime", // a POST creates the request at once
			Keywords:    keywords(s.Keywords),
			Group:       s.Group,
		})
	}
	return list, nil
}

// keywords joins a service's keywords as the spec's comma-separated list:
// English first, then Spanish, then any other language, without repeats.
func keywords(byLang map[string][]string) string {
	langs := make([]string, 0, len(byLang))
	for lang := range byLang {
		langs = append(langs, lang)
	}
	slices.SortFunc(langs, func(a, b string) int {
		if d := langRank(a) - langRank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	var out []string
	for _, lang := range langs {
		for _, k := range byLang[lang] {
			// A comma inside a keyword would split it in two for clients.
			k = strings.TrimSpace(strings.ReplaceAll(k, ",", " "))
			if k != "" && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return strings.Join(out, ", ")
}

func langRank(lang string) int {
	switch lang {
	case "en":
		return 0
	case "es":
		return 1
	}
	return 2
}

// serviceDefinition answers GET services/{code}: the questions a service
// asks with each request.
func (h *Handler) serviceDefinition(r *http.Request, code string) (any, error) {
	s, ok := h.core.City().Service(code)
	if !ok {
		return nil, notFound("service_code: %q is not a service of %s", code, h.core.City().Name)
	}
	def := serviceDefinition{Code: s.Code, Attributes: make([]attribute, 0, len(s.Attributes))}
	for _, a := range s.Attributes {
		def.Attributes = append(def.Attributes, newAttribute(a))
	}
	return def, nil
}

func newAttribute(a core.Attribute) attribute {
	out := attribute{
		Variable:            a.Variable,
		Code:                a.Code,
		Datatype:            a.Datatype,
		Required:            a.Required,
		DatatypeDescription: a.DatatypeDescription,
		Order:               a.Order,
		Description:         a.Description,
		Values:              make([]value, 0, len(a.Values)),
	}
	for _, v := range a.Values {
		out.Values = append(out.Values, value{Key: v.Key, Name: v.Name})
	}
	return out
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
