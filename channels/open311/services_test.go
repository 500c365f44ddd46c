package open311

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"

	"townline/core"
)

func TestServices(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)

	var fromJSON []service
	res := b.get(t, "/open311/v2/services.json")
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	decodeJSON(t, res, &fromJSON)
	if res.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("no CORS header on a public GET")
	}

	var fromXML struct {
		XMLName  xml.Name  `xml:"services"`
		Services []service `xml:"service"`
	}
	decodeXML(t, b.get(t, "/open311/v2/services.xml"), &fromXML)

	city := b.c.City()
	if len(fromJSON) != len(city.Services) || len(fromXML.Services) != len(city.Services) {
		t.Fatalf("%d JSON and %d XML services, want %d", len(fromJSON), len(fromXML.Services), len(city.Services))
	}
	for i, got := range [][]service{fromJSON, fromXML.Services} {
		byCode := map[string]service{}
		for _, s := range got {
			byCode[s.Code] = s
		}
		p := byCode["pothole"]
		if p.Name != "Pothole" || p.Group != "Streets and sidewalks" || !p.Metadata || p.Type != "realtime" {
			t.Errorf("format %d: pothole is %+v", i, p)
		}
		if !strings.HasPrefix(p.Keywords, "pothole, potholes,") || !strings.Contains(p.Keywords, ", bache,") {
			t.Errorf("format %d: pothole keywords %q: want English then Spanish", i, p.Keywords)
		}
		// A service that asks nothing more: a client need not fetch its
		// definition.
		if o, ok := byCode["other"]; !ok || o.Metadata {
			t.Errorf("format %d: other is %+v, want metadata false", i, o)
		}
		if _, ok := byCode["animal-stray"]; !ok {
			t.Errorf("format %d: no animal-stray service", i)
		}
	}
}

func TestServiceDefinition(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)

	var def serviceDefinition
	decodeJSON(t, b.get(t, "/open311/v2/services/animal-stray.json"), &def)
	var defXML serviceDefinition
	decodeXML(t, b.get(t, "/open311/v2/services/animal-stray.xml"), &defXML)

	for i, d := range []serviceDefinition{def, defXML} {
		if d.Code != "animal-stray" || len(d.Attributes) != 3 {
			t.Fatalf("format %d: %+v", i, d)
		}
		a := d.Attributes[0]
		if a.Code != "condition" || !a.Required || !a.Variable || a.Datatype != "singlevaluelist" || a.Order != 1 ||
			a.Description != "Is the animal alive or dead?" || len(a.Values) != 3 ||
			a.Values[2] != (value{Key: "dead", Name: "Dead"}) {
			t.Errorf("format %d: condition is %+v", i, a)
		}
	}

	// An informational attribute: variable false, never required.
	var tree serviceDefinition
	decodeJSON(t, b.get(t, "/open311/v2/services/tree.json"), &tree)
	if a := tree.Attributes[0]; a.Code != "power_lines" || a.Variable || a.Required {
		t.Errorf("tree's first attribute %+v", a)
	}
	// values is always a list, never null.
	res := b.get(t, "/open311/v2/services/shopping-cart.json")
	if !strings.Contains(string(res.body), `"values":[]`) {
		t.Errorf("a number attribute should have values []: %s", res.body)
	}
	// The XML nests values as the spec shows.
	res = b.get(t, "/open311/v2/services/animal-stray.xml")
	if !strings.Contains(string(res.body), "<values><value><key>alive</key><name>Alive</name></value>") {
		t.Errorf("XML values: %s", res.body)
	}
}

func TestServiceNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	wantError(t, b.get(t, "/open311/v2/services/nosuch.json"), false, 404, `service_code: "nosuch" is not a service of Oroville`)
	wantError(t, b.get(t, "/open311/v2/services/nosuch.xml"), true, 404, `service_code: "nosuch" is not a service of Oroville`)
	wantError(t, b.get(t, "/open311/v2/services/pothole.html"), false, 404, `"pothole.html" is not a resource here`)
	wantError(t, b.get(t, "/open311/v2/services/pothole"), false, 404, "add .json or .xml")
	wantError(t, b.get(t, "/open311/v2/services.json?jurisdiction_id=sf.gov"), false, 404, `jurisdiction_id: "sf.gov" is not served here`)
	if res := b.get(t, "/open311/v2/services.json?jurisdiction_id=cityoforoville.org"); res.status != 200 {
		t.Errorf("own jurisdiction: status %d", res.status)
	}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	var d discovery
	decodeJSON(t, b.get(t, "/open311/discovery.json"), &d)
	var dx discovery
	decodeXML(t, b.get(t, "/open311/discovery.xml"), &dx)
	for i, d := range []discovery{d, dx} {
		if d.Changeset != changeset || d.Contact != b.c.City().Contact || d.Contact == "" ||
			d.KeyService != "Ask the city for an API key: "+d.Contact {
			t.Errorf("format %d: %+v", i, d)
		}
		// GeoReport itself, then mySociety's updates at the same URL.
		specs := []string{"http://wiki.open311.org/GeoReport_v2",
			"https://github.com/mysociety/fixmystreet/wiki/Open311-FMS---Proposed-differences-to-Open311"}
		if len(d.Endpoints) != len(specs) {
			t.Fatalf("format %d: endpoints %+v", i, d.Endpoints)
		}
		for j, e := range d.Endpoints {
			if e.Specification != specs[j] || e.URL != "http://311.test/open311/v2" ||
				e.Type != "production" || strings.Join(e.Formats, ",") != "text/xml,application/json" || e.Changeset != changeset {
				t.Errorf("format %d: endpoint %+v", i, e)
			}
		}
	}
}

// A city without a contact still tells a client how to get a key, without
// naming an empty address.
func TestDiscoveryWithoutContact(t *testing.T) {
	t.Parallel()
	b := setup(t, 0, func(o *core.Options) { o.City.Contact = "" })
	var d discovery
	decodeJSON(t, b.get(t, "/open311/discovery.json"), &d)
	if d.Contact != "" || d.KeyService != "Ask the city for an API key." {
		t.Errorf("contact %q, key_service %q", d.Contact, d.KeyService)
	}
}

func TestUnknownEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	wantError(t, b.get(t, "/open311/v2/nothing.xml"), true, 404, "no such Open311 endpoint: GET /open311/v2/nothing.xml")
	wantError(t, b.get(t, "/open311/v2/requests"), false, 404, "no such Open311 endpoint")
	res := b.postForm(t, "/open311/v2/services.json", b.validForm())
	wantError(t, res, false, 404, "no such Open311 endpoint: POST /open311/v2/services.json")
}
