package core

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// isoBox is one box: its size, its type, its body.
func isoBox(typ string, body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	out := binary.BigEndian.AppendUint32(nil, uint32(8+len(b)))
	return append(append(out, typ...), b...)
}

// heifWithGPS builds a HEIF photo as an iPhone lays it out: ftyp, a meta
// box listing an image item and an EXIF item (iinf) and where their bytes
// are (iloc, of the given version), then mdat with the bytes.
func heifWithGPS(lat, lng float64, ilocVersion byte) []byte {
	app1 := ExifWithGPS(lat, lng)
	exif := append(binary.BigEndian.AppendUint32(nil, 6), app1[4:]...) // offset to TIFF, "Exif\0\0", TIFF
	image := bytes.Repeat([]byte{0xAB}, 4000)
	infe := func(id uint16, typ string) []byte {
		b := []byte{2, 0, 0, 0}
		b = binary.BigEndian.AppendUint16(b, id)
		b = binary.BigEndian.AppendUint16(b, 0)
		return isoBox("infe", b, []byte(typ), []byte{0})
	}
	iloc := func(imageAt, exifAt uint32) []byte {
		b := []byte{ilocVersion, 0, 0, 0, 0x44, 0x00}
		b = binary.BigEndian.AppendUint16(b, 2)
		for _, it := range []struct {
			id       uint16
			at, size uint32
		}{{1, imageAt, uint32(len(image))}, {2, exifAt, uint32(len(exif))}} {
			b = binary.BigEndian.AppendUint16(b, it.id)
			if ilocVersion == 1 {
				b = binary.BigEndian.AppendUint16(b, 0) // construction method: the file
			}
			b = binary.BigEndian.AppendUint16(b, 0) // data reference
			b = binary.BigEndian.AppendUint16(b, 1) // one extent
			b = binary.BigEndian.AppendUint32(b, it.at)
			b = binary.BigEndian.AppendUint32(b, it.size)
		}
		return isoBox("iloc", b)
	}
	ftyp := isoBox("ftyp", []byte("heic\x00\x00\x00\x00mif1heic"))
	meta := func(imageAt, exifAt uint32) []byte {
		hdlr := isoBox("hdlr", make([]byte, 8), []byte("pict"), make([]byte, 13))
		iinf := isoBox("iinf", []byte{0, 0, 0, 0, 0, 2}, infe(1, "hvc1"), infe(2, "Exif"))
		return isoBox("meta", []byte{0, 0, 0, 0}, hdlr, iinf, iloc(imageAt, exifAt))
	}
	start := uint32(len(ftyp) + len(meta(0, 0)) + 8) // mdat's bytes
	return bytes.Join([][]byte{ftyp, meta(start, start+uint32(len(image))), isoBox("mdat", image, exif)}, nil)
}

// An iPhone's HEIC photo gives its position like a JPEG; one without an
// EXIF item, or cut short, gives none and no panic.
func TestHEIFGPS(t *testing.T) {
	for _, v := range []byte{0, 1} {
		img := heifWithGPS(39.5138, -121.5564, v)
		lat, lng, ok := heifGPS(bytes.NewReader(img))
		if !ok || lat < 39.51379 || lat > 39.51381 || lng < -121.55641 || lng > -121.55639 {
			t.Errorf("iloc version %d: %v, %v, %v; want 39.5138, -121.5564", v, lat, lng, ok)
		}
		for cut := 0; cut < len(img); cut += 97 {
			heifGPS(bytes.NewReader(img[:cut])) // must not panic
		}
	}
	noExif := bytes.Replace(heifWithGPS(39.5, -121.5, 1), []byte("Exif\x00"), []byte("mime\x00"), 1)
	if _, _, ok := heifGPS(bytes.NewReader(noExif)); ok {
		t.Error("a position read without an EXIF item")
	}
}

// A HEIC photo stored as a report's file places the report, as a JPEG's
// does.
func TestHEICPlacesAReport(t *testing.T) {
	blobs, err := NewBlobs(t.TempDir(), 10<<20)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := blobs.Put(bytes.NewReader(heifWithGPS(39.5138, -121.5564, 1)))
	if err != nil || blob.ContentType != "image/heic" {
		t.Fatalf("stored as %q, %v", blob.ContentType, err)
	}
	c := &Core{blobs: blobs, city: cityOroville(t)}
	p := c.mediaPlace(Upload{Blob: blob, Filename: "IMG_2042.HEIC"})
	if p == nil || p.Lat == nil || *p.Lat < 39.51379 || *p.Lat > 39.51381 {
		t.Errorf("the HEIC photo placed the report at %+v", p)
	}
}
