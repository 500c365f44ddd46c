// Package reportform reads a report from an HTML form, the residents'
// (/report) and the front desk's (/staff/requests/new) alike: the service
// and its answers, the words, the place (a pin on the map, or an address
// the city's layers place), the photos, whether it repeats an open
// request nearby, and what is wrong with it, field by field.
package reportform

import (
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"townline/core"
)

// MaxBytes bounds a form with its photos.
const MaxBytes = 64 << 20

// Form is a report as a form gave it.
type Form struct {
	Values url.Values
	// Request is the report, but for its channel, reporter and actor: the
	// caller's to say.
	Request core.NewRequest
	// Problems are what is wrong, by form field ("service", "address",
	// "photos", "attribute[size]" beside a question…).
	Problems map[string]string
	// Maybe are the open requests nearby it may repeat, when neither the
	// resident nor staff said whether it does: asked before anything is
	// stored.
	Maybe []core.Nearby
}

// Read reads a posted report form. The answers to the service's questions
// are the fields "attr:SERVICE:CODE" of the service picked; the place is
// lat and lng (a pin) or else address; same_as names the open request it
// repeats, not_same says it repeats none. Photos are stored only when
// nothing is wrong and nothing is asked. An error is the server's.
func Read(w http.ResponseWriter, r *http.Request, c *core.Core) (*Form, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBytes)
	f := &Form{Problems: map[string]string{}}
	if err := r.ParseMultipartForm(8 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		f.Values = r.PostForm
		if f.Values == nil {
			f.Values = url.Values{}
		}
		f.Problems["photos"] = fmt.Sprintf("The photos are too large together: at most %d MB.", MaxBytes>>20)
		return f, nil
	}
	form := r.PostForm
	f.Values = form
	in := &f.Request
	in.ServiceCode, in.Description = form.Get("service"), form.Get("description")
	in.Address = strings.TrimSpace(form.Get("address"))
	prefix := "attr:" + in.ServiceCode + ":"
	for name, vals := range form {
		if code, ok := strings.CutPrefix(name, prefix); ok {
			for _, v := range vals {
				if v = strings.TrimSpace(v); v != "" {
					if in.Attributes == nil {
						in.Attributes = map[string][]string{}
					}
					in.Attributes[code] = append(in.Attributes[code], v)
				}
			}
		}
	}
	if in.ServiceCode == "" {
		f.Problems["service"] = "Pick the kind of problem."
	}
	// The pin on the map, or else the address through the city's places.
	if lat, lng := form.Get("lat"), form.Get("lng"); lat != "" && lng != "" {
		y, err1 := strconv.ParseFloat(lat, 64)
		x, err2 := strconv.ParseFloat(lng, 64)
		if err1 != nil || err2 != nil {
			f.Problems["address"] = "The pin on the map is not a position: put it again."
		} else {
			in.Lat, in.Lng = &y, &x
		}
	} else if in.Address != "" {
		loc, ok, err := c.Geocode(r.Context(), in.Address)
		switch {
		case err != nil:
			return nil, err
		case !ok:
			f.Problems["address"] = "Not an address we can place: check it, or put a pin on the map."
		default:
			in.Lat, in.Lng, in.Address = &loc.Lat, &loc.Lng, loc.Address
		}
	} else {
		f.Problems["address"] = "Say where it is: an address, cross streets or a landmark, or a pin on the map."
	}
	if len(f.Problems) > 0 {
		return f, nil
	}
	in.SameAs, _ = strconv.ParseInt(form.Get("same_as"), 10, 64)
	in.NotSame = form.Get("not_same") != ""
	if in.SameAs == 0 && !in.NotSame {
		maybe, err := c.MayRepeat(r.Context(), in.ServiceCode, *in.Lat, *in.Lng)
		if err != nil {
			return nil, err
		}
		if f.Maybe = maybe; len(maybe) > 0 {
			// The place found is kept for the answer.
			form.Set("lat", strconv.FormatFloat(*in.Lat, 'f', 6, 64))
			form.Set("lng", strconv.FormatFloat(*in.Lng, 'f', 6, 64))
			form.Set("address", in.Address)
			return f, nil
		}
	}
	photos, err := storePhotos(c, r.MultipartForm)
	var tooBig *tooLarge
	if errors.As(err, &tooBig) {
		f.Problems["photos"] = err.Error()
		return f, nil
	}
	in.Photos = photos
	return f, err
}

// Refused sets the problem a filing was refused for beside its field,
// and reports whether it was refused for the input (err is core's).
func (f *Form) Refused(err error) bool {
	var bad *core.ValidationError
	if !errors.As(err, &bad) {
		return false
	}
	field, ok := fields[bad.Field]
	switch {
	case strings.HasPrefix(bad.Field, "attribute["):
		field = bad.Field // beside the question
	case !ok:
		field = "service"
	}
	f.Problems[field] = bad.Problem
	return true
}

// fields are the form fields core's names for the input are in.
var fields = map[string]string{
	"service_code": "service", "description": "description", "address_string": "address",
	"lat": "address", "long": "address", "phone": "phone", "email": "email", "name": "name",
	"reply_by": "reply_by", "media": "photos", "photos": "photos", "same_as": "same_as",
}

type tooLarge struct {
	name string
	max  int64
}

func (e *tooLarge) Error() string {
	return fmt.Sprintf("%s is larger than the limit of %d MB.", e.name, e.max>>20)
}

// storePhotos stores the form's photos; core checks that they are photos.
func storePhotos(c *core.Core, mf *multipart.Form) ([]core.Upload, error) {
	if mf == nil {
		return nil, nil
	}
	var out []core.Upload
	for _, fh := range mf.File["photos"] {
		if fh.Size == 0 && fh.Filename == "" {
			continue // the empty file input of a form sent without a photo
		}
		file, err := fh.Open()
		if err != nil {
			return nil, err
		}
		blob, err := c.Blobs().Put(file)
		file.Close()
		if errors.Is(err, core.ErrTooLarge) {
			return nil, &tooLarge{core.CleanFilename(fh.Filename), c.Blobs().Max()}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, core.Upload{Blob: blob, Filename: core.CleanFilename(fh.Filename), Field: "photos"})
	}
	return out, nil
}
