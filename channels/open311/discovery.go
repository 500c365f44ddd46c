package open311

import (
	"encoding/xml"
	"net/http"
)

// changeset is when this API last changed in a way clients may care about;
// the spec's discovery file carries it so that clients can refresh.
const changeset = "2026-11-29T00:00:00Z"

// specURL names the specification the endpoint implements, as clients
// compare it literally.
const specURL = "http://wiki.open311.org/GeoReport_v2"

// updatesSpecURL names mySociety's extension for following requests and
// sending comments (servicerequestupdates), served at the same endpoint.
const updatesSpecURL = "https://github.com/mysociety/fixmystreet/wiki/Open311-FMS---Proposed-differences-to-Open311"

type discovery struct {
	XMLName    xml.Name   `json:"-" xml:"discovery"`
	Changeset  string     `json:"changeset" xml:"changeset"`
	Contact    string     `json:"contact" xml:"contact"`
	KeyService string     `json:"key_service" xml:"key_service"`
	Endpoints  []endpoint `json:"endpoints" xml:"endpoints>endpoint"`
}

type endpoint struct {
	Specification string   `json:"specification" xml:"specification"`
	URL           string   `json:"url" xml:"url"`
	Changeset     string   `json:"changeset" xml:"changeset"`
	Type          string   `json:"type" xml:"type"`
	Formats       []string `json:"formats" xml:"formats>format"`
}

// discovery answers GET /open311/discovery.{json,xml}: where the API is and
// whom to ask for a key.
func (h *Handler) discovery(r *http.Request, _ string) (any, error) {
	city := h.core.City()
	keys := "Ask the city for an API key."
	if city.Contact != "" {
		keys = "Ask the city for an API key: " + city.Contact
	}
	// One endpoint per specification, as the discovery format has it:
	// a GeoReport client looks for its own and passes over the other.
	var endpoints []endpoint
	for _, spec := range []string{specURL, updatesSpecURL} {
		endpoints = append(endpoints, endpoint{
			Specification: spec,
			URL:           h.core.PublicURL("open311", "v2"),
			Changeset:     changeset,
			Type:          "production",
			Formats:       []string{"text/xml", "application/json"},
		})
	}
	return discovery{
		Changeset:  changeset,
		Contact:    city.Contact,
		KeyService: keys,
		Endpoints:  endpoints,
	}, nil
}
