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
	return heifLayout{ilocVersion: ilocVersion}.build(lat, lng)
}

// heifLayout is how a HEIF photo lays out its boxes and items; its zero
// value is as an iPhone writes it. With iloc version 2 the item ids are
// 32-bit, the EXIF item's over 65535 (iinf version 1, infe version 3).
type heifLayout struct {
	ilocVersion  byte
	offSize      int    // bytes of an extent's offset: 4 (when 0) or 8
	indexSize    int    // bytes of an extent's index (iloc versions 1, 2)
	imageSize    int    // bytes of the image: 4000 when 0
	imageExtents int    // the image's extents: 1 when 0
	exif         []byte // the EXIF item: when nil, TIFF offset 6, "Exif\0\0", TIFF
	iinfBefore   []byte // boxes in iinf before its entries
	ilocCount    int    // when not 0, the item count iloc gives
	ilocCut      int    // bytes cut from the end of iloc
	metaEndsAt   int    // when not 0, a free box before meta ends it there
	tail         []byte // bytes after mdat
}

// tiffWithGPS is the TIFF structure of an EXIF block holding a position.
func tiffWithGPS(lat, lng float64) []byte {
	return ExifWithGPS(lat, lng)[10:] // after APP1's marker, length, "Exif\0\0"
}

func (h heifLayout) build(lat, lng float64) []byte {
	exif := h.exif
	if exif == nil {
		exif = append(binary.BigEndian.AppendUint32(nil, 6), append([]byte("Exif\x00\x00"), tiffWithGPS(lat, lng)...)...)
	}
	imageSize := h.imageSize
	if imageSize == 0 {
		imageSize = 4000
	}
	image := bytes.Repeat([]byte{0xAB}, imageSize)
	offSize, extents := max(h.offSize, 4), max(h.imageExtents, 1)
	idSize, exifID := 2, uint64(2)
	if h.ilocVersion == 2 {
		idSize, exifID = 4, 70000
	}
	// n appends x as a big-endian number of size bytes.
	n := func(b []byte, size int, x uint64) []byte {
		for i := size - 1; i >= 0; i-- {
			b = append(b, byte(x>>(8*i)))
		}
		return b
	}
	infe := func(id uint64, typ string) []byte {
		if h.ilocVersion == 2 {
			return isoBox("infe", n([]byte{3, 0, 0, 0}, 4, id), []byte{0, 0}, []byte(typ), []byte{0})
		}
		return isoBox("infe", n([]byte{2, 0, 0, 0}, 2, id), []byte{0, 0}, []byte(typ), []byte{0})
	}
	iloc := func(imageAt, exifAt uint64) []byte {
		b := []byte{h.ilocVersion, 0, 0, 0, byte(offSize<<4 | 4), byte(h.indexSize)}
		var pieces [][2]uint64 // the image's extents: offset, length
		for i, at := 0, imageAt; i < extents; i++ {
			size := uint64(len(image) / extents)
			if i == extents-1 {
				size = imageAt + uint64(len(image)) - at
			}
			pieces = append(pieces, [2]uint64{at, size})
			at += size
		}
		items := []struct {
			id      uint64
			extents [][2]uint64
		}{{1, pieces}, {exifID, [][2]uint64{{exifAt, uint64(len(exif))}}}}
		count := uint64(len(items))
		if h.ilocCount != 0 {
			count = uint64(h.ilocCount)
		}
		b = n(b, idSize, count)
		for _, it := range items {
			b = n(b, idSize, it.id)
			if h.ilocVersion != 0 {
				b = n(b, 2, 0) // construction method: the file
			}
			b = n(b, 2, 0) // data reference
			b = n(b, 2, uint64(len(it.extents)))
			for _, e := range it.extents {
				b = n(b, h.indexSize, 1)
				b = n(b, offSize, e[0])
				b = n(b, 4, e[1])
			}
		}
		return isoBox("iloc", b[:len(b)-h.ilocCut])
	}
	ftyp := isoBox("ftyp", []byte("heic\x00\x00\x00\x00mif1heic"))
	meta := func(imageAt, exifAt uint64) []byte {
		hdlr := isoBox("hdlr", make([]byte, 8), []byte("pict"), make([]byte, 13))
		iinfHead := []byte{0, 0, 0, 0, 0, 2}
		if h.ilocVersion == 2 {
			iinfHead = []byte{1, 0, 0, 0, 0, 0, 0, 2}
		}
		iinf := isoBox("iinf", iinfHead, h.iinfBefore, infe(1, "hvc1"), infe(exifID, "Exif"))
		return isoBox("meta", []byte{0, 0, 0, 0}, hdlr, iinf, iloc(imageAt, exifAt))
	}
	var free []byte
	if h.metaEndsAt != 0 {
		free = isoBox("free", make([]byte, h.metaEndsAt-len(ftyp)-len(meta(0, 0))-8))
	}
	start := uint64(len(ftyp) + len(free) + len(meta(0, 0)) + 8) // mdat's bytes
	m := meta(start, start+uint64(len(image)))
	return bytes.Join([][]byte{ftyp, free, m, isoBox("mdat", image, exif), h.tail}, nil)
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

// Every way the HEIF format lets a photo lay out its items, and that
// phones and editors write, gives the photo's position.
func TestHEIFGPSLayouts(t *testing.T) {
	tiff := tiffWithGPS(39.5138, -121.5564)
	exif := append(binary.BigEndian.AppendUint32(nil, 6), append([]byte("Exif\x00\x00"), tiff...)...)
	for name, h := range map[string]heifLayout{
		"iloc version 1 with extent indexes":                        {ilocVersion: 1, indexSize: 4},
		"iloc version 2: 32-bit item ids, extent indexes":           {ilocVersion: 2, indexSize: 4},
		"64-bit extent offsets":                                     {offSize: 8},
		"the image in two extents, before the EXIF item":            {imageExtents: 2},
		"a full-size photo, longer than what is read for its boxes": {imageSize: 3 << 20},
		"an EXIF item of 1 MiB, the most read":                      {exif: append(exif, make([]byte, 1<<20-len(exif))...)},
		"the TIFF header right after its offset (0)":                {exif: append(make([]byte, 4), tiff...)},
		"an empty entry in the item list":                           {iinfBefore: isoBox("infe")},
		"the meta box ending where the read for boxes ends":         {metaEndsAt: heifHead},
		"an empty free box at the end of the file":                  {tail: isoBox("free")},
	} {
		img := h.build(39.5138, -121.5564)
		lat, lng, ok := heifGPS(bytes.NewReader(img))
		if !ok || lat < 39.51379 || lat > 39.51381 || lng < -121.55641 || lng > -121.55639 {
			t.Errorf("%s: %v, %v, %v; want 39.5138, -121.5564", name, lat, lng, ok)
		}
		if len(img) < 1<<16 {
			for cut := 0; cut < len(img); cut += 7 {
				heifGPS(bytes.NewReader(img[:cut])) // must not panic
			}
		}
	}
}

// A malformed HEIF file gives no position, and no panic, even where the
// bytes around what is wrong would make one.
func TestHEIFGPSMalformed(t *testing.T) {
	tiff := tiffWithGPS(39.5138, -121.5564)
	for name, h := range map[string]heifLayout{
		"a box shorter than its own header, at the end":                              {tail: []byte{0, 0, 0, 4, 'f', 'r', 'e', 'e'}},
		"the TIFF header said to lie past the EXIF item":                             {exif: append(binary.BigEndian.AppendUint32(nil, uint32(4+len(tiff))), tiff...)},
		"iloc's count ending before the EXIF item":                                   {ilocCount: 1},
		"iloc cut short in the EXIF item's extent, at the end of the read for boxes": {metaEndsAt: heifHead, ilocCut: 4},
		"iloc cut short in the EXIF item's extent":                                   {ilocCut: 4},
	} {
		if lat, lng, ok := heifGPS(bytes.NewReader(h.build(39.5138, -121.5564))); ok {
			t.Errorf("%s: a position read, %v, %v", name, lat, lng)
		}
	}
}

// A HEIC photo stored as a report's file places the report, as a JPEG's
// does.
func TestHEICPlacesAReport(t *testing.T) {
	blobs := &Blobs{store: memBlobs{}, max: 10 << 20}
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
