package core_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"testing"

	"townline/core"
)

// testJPEG encodes a small photo and inserts an EXIF segment carrying a
// GPS-like marker and a comment, as a phone camera would.
func testJPEG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for x := range 32 {
		img.Set(x, x%24, color.RGBA{200, 30, 30, 255})
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	exif := append([]byte("Exif\x00\x00"), []byte("GPSLatitude 39.5138 SECRET-SERIAL-123")...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(exif)+2))
	seg = append(seg, exif...)
	com := []byte{0xFF, 0xFE, 0, 0}
	binary.BigEndian.PutUint16(com[2:], uint16(len("taken by Zelda")+2))
	com = append(com, "taken by Zelda"...)
	out := append([]byte{}, raw[:2]...)
	out = append(out, seg...)
	out = append(out, com...)
	// Every other application segment may name the photographer too:
	// XMP and ICC (APP1, APP2), IPTC's by-line in Photoshop's APP13, and
	// makers' own in the rest. Each carries a name the strip must remove.
	for marker := byte(0xE2); marker <= 0xEF; marker++ {
		if marker == 0xEE {
			continue // Adobe's colour transform: needed to show the image
		}
		data := fmt.Sprintf("APP%d By-line: Zelda Quartermain", marker-0xE0)
		app := []byte{0xFF, marker, 0, 0}
		binary.BigEndian.PutUint16(app[2:], uint16(len(data)+2))
		out = append(out, append(app, data...)...)
	}
	return append(out, raw[2:]...)
}

func testPNG(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	chunk := func(typ, data string) []byte {
		c := make([]byte, 4, 12+len(data))
		binary.BigEndian.PutUint32(c, uint32(len(data)))
		c = append(c, typ...)
		c = append(c, data...)
		return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	}
	// After the IHDR chunk (8 signature + 25 bytes).
	out := append([]byte{}, raw[:33]...)
	out = append(out, chunk("tEXt", "Author\x00Zelda Quartermain")...)
	out = append(out, chunk("eXIf", "MM\x00*GPS SECRET-SERIAL-123")...)
	out = append(out, chunk("iTXt", "XML:com.adobe.xmp\x00\x00\x00\x00\x00<dc:creator>Zelda</dc:creator>")...)
	out = append(out, chunk("zTXt", "Comment\x00\x00x\x9c Zelda")...)
	out = append(out, chunk("tIME", "\x07\xea\x0b\x1c\x0a\x00\x00")...)
	return append(out, raw[33:]...)
}

func TestStripMetadataJPEG(t *testing.T) {
	in := testJPEG(t)
	if !bytes.Contains(in, []byte("SECRET-SERIAL")) {
		t.Fatal("test photo lacks its metadata")
	}
	out, err := core.StripMetadata(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"SECRET-SERIAL", "GPSLatitude", "Zelda"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("stripped JPEG still contains %q", secret)
		}
	}
	for n := 1; n <= 15; n++ {
		if n != 14 && bytes.Contains(out, []byte{0xFF, 0xE0 + byte(n)}) && bytes.Contains(out, fmt.Appendf(nil, "APP%d By-line", n)) {
			t.Errorf("stripped JPEG still carries its APP%d segment", n)
		}
	}
	if _, err := jpeg.Decode(bytes.NewReader(out)); err != nil {
		t.Errorf("stripped JPEG does not decode: %v", err)
	}
}

func TestStripMetadataPNG(t *testing.T) {
	in := testPNG(t)
	if _, err := png.Decode(bytes.NewReader(in)); err != nil {
		t.Fatalf("test PNG is broken: %v", err)
	}
	out, err := core.StripMetadata(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"Zelda", "SECRET", "tEXt", "iTXt", "zTXt", "eXIf", "tIME"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("stripped PNG still carries %q", secret)
		}
	}
	if _, err := png.Decode(bytes.NewReader(out)); err != nil {
		t.Errorf("stripped PNG does not decode: %v", err)
	}
}

func TestStripMetadataRefusesOthers(t *testing.T) {
	for _, in := range [][]byte{[]byte("GIF89a..."), {0xFF, 0xD8, 0xFF}, []byte("\x89PNG\r\n\x1a\n\x00\x00"), nil} {
		if _, err := core.StripMetadata(in); err == nil {
			t.Errorf("StripMetadata(%q) succeeded", in)
		}
	}
}

func FuzzStripMetadata(f *testing.F) {
	f.Add(testJPEG(f))
	f.Add(testPNG(f))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := core.StripMetadata(in)
		if err == nil && len(out) > len(in) {
			t.Errorf("output grew from %d to %d bytes", len(in), len(out))
		}
	})
}

func BenchmarkStripMetadataJPEG(b *testing.B) {
	in := testJPEG(b)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := core.StripMetadata(in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPhotoGPS(t *testing.T) {
	img := testJPEG(t)
	withGPS := append(append(append([]byte{}, img[:2]...), core.ExifWithGPS(39.5138, -121.5564)...), img[2:]...)
	lat, lng, ok := core.PhotoGPS(withGPS)
	if !ok || lat < 39.51379 || lat > 39.51381 || lng > -121.55639 || lng < -121.55641 {
		t.Errorf("PhotoGPS = %v, %v, %v", lat, lng, ok)
	}
	if _, _, ok := core.PhotoGPS(img); ok {
		t.Error("a photo without GPS gave a position")
	}
	// Fill bytes may come before any marker.
	filled := append(append(append([]byte{}, img[:2]...), 0xFF, 0xFF), withGPS[2:]...)
	if lat, _, ok := core.PhotoGPS(filled); !ok || lat < 39.51379 || lat > 39.51381 {
		t.Errorf("after fill bytes: PhotoGPS = %v, %v", lat, ok)
	}
	stripped, err := core.StripMetadata(withGPS)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := core.PhotoGPS(stripped); ok {
		t.Error("the stripped photo still gives its position")
	}
}

func FuzzPhotoGPS(f *testing.F) {
	img := testJPEG(f)
	f.Add(append(append(append([]byte{}, img[:2]...), core.ExifWithGPS(39.5, -121.5)...), img[2:]...))
	f.Fuzz(func(t *testing.T, in []byte) {
		if lat, lng, ok := core.PhotoGPS(in); ok && (lat < -90 || lat > 90 || lng < -180 || lng > 180) {
			t.Errorf("out of range: %v, %v", lat, lng)
		}
	})
}

// A camera's position is read in every quarter of the world, up to the
// poles and the date line; a position off the globe, or the 0, 0 a camera
// writes before it has a fix, is none.
func TestPhotoGPSPlaces(t *testing.T) {
	img := testJPEG(t)
	for _, tc := range []struct {
		lat, lng float64
		ok       bool
	}{
		{-33.8688, 151.2093, true}, // south and east
		{0, 10.5, true},            // on the equator
		{10.5, 0, true},            // on the prime meridian
		{90, 180, true},
		{-90, -180, true},
		{0, 0, false},
		{90.5, 10, false},
		{-90.5, 10, false},
		{10, 180.5, false},
		{10, -180.5, false},
	} {
		in := append(append(append([]byte{}, img[:2]...), core.ExifWithGPS(tc.lat, tc.lng)...), img[2:]...)
		lat, lng, ok := core.PhotoGPS(in)
		if ok != tc.ok || ok && (math.Abs(lat-tc.lat) > 1e-4 || math.Abs(lng-tc.lng) > 1e-4) {
			t.Errorf("PhotoGPS at %v, %v = %v, %v, %v; want ok %v", tc.lat, tc.lng, lat, lng, ok, tc.ok)
		}
	}
}

// Segments a JPEG writer may add do not stop the strip: fill bytes before
// a marker and an empty segment.
func TestStripMetadataJPEGFillAndEmptySegments(t *testing.T) {
	img := testJPEG(t)
	exif := core.ExifWithGPS(39.5138, -121.5564)
	in := append([]byte{}, img[:2]...)
	in = append(in, 0xFF, 0xFF, 0xFF) // fill bytes
	in = append(in, exif...)
	in = append(in, 0xFF, 0xE5, 0x00, 0x02) // an empty APP5
	in = append(in, img[2:]...)
	out, err := core.StripMetadata(in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("Exif")) || bytes.Contains(out, []byte("Zelda")) {
		t.Error("the stripped photo keeps its metadata")
	}
	if _, err := jpeg.Decode(bytes.NewReader(out)); err != nil {
		t.Errorf("stripped JPEG does not decode: %v", err)
	}
}

// withExif puts an EXIF segment into a JPEG right after its start.
func withExif(img, exif []byte) []byte {
	return append(append(append([]byte{}, img[:2]...), exif...), img[2:]...)
}

// Cut short anywhere, a photo is stripped or refused, never a crash, and
// what comes out names nobody; a PNG without its end is refused. Each cut
// ends the slice's capacity too: a read past the end fails, as it would
// on a file read to its end.
func TestStripMetadataCutShort(t *testing.T) {
	jpg := testJPEG(t)
	sos := bytes.Index(jpg, []byte{0xFF, 0xDA})
	for n := range len(jpg) {
		out, err := core.StripMetadata(jpg[:n:n])
		switch {
		case n > 2 && n <= sos+1 && err == nil:
			t.Errorf("a JPEG cut at %d, before its image data, was stripped", n)
		case n >= sos+16 && err != nil:
			t.Errorf("a JPEG cut at %d, in its image data: %v", n, err)
		case bytes.Contains(out, []byte("Zelda")) || bytes.Contains(out, []byte("SECRET")):
			t.Errorf("a JPEG cut at %d keeps its metadata", n)
		}
	}
	png := testPNG(t)
	for n := range len(png) {
		if _, err := core.StripMetadata(png[:n:n]); err == nil {
			t.Errorf("a PNG cut at %d of %d bytes was stripped", n, len(png))
		}
	}
}

// A photo's position is read once its EXIF block is whole, wherever the
// file is cut after it, and an empty segment before the block hides
// nothing; a block cut short gives none, never a crash.
func TestPhotoGPSCutShort(t *testing.T) {
	exif := core.ExifWithGPS(39.5138, -121.5564)
	in := withExif(testJPEG(t), exif)
	for n := range len(in) + 1 {
		_, _, ok := core.PhotoGPS(in[:n])
		if whole := n >= 2+len(exif); ok != whole {
			t.Errorf("cut at %d (the block ends at %d): position %v", n, 2+len(exif), ok)
		}
	}
	empty := append([]byte{0xFF, 0xE5, 0x00, 0x02}, exif...)
	if lat, _, ok := core.PhotoGPS(withExif(testJPEG(t), empty)); !ok || math.Abs(lat-39.5138) > 1e-4 {
		t.Errorf("after an empty segment: %v, %v", lat, ok)
	}
}

// A camera's first directory holds many entries, the GPS pointer among
// the last, and may sit anywhere in the block.
func TestPhotoGPSPointerAfterOtherEntries(t *testing.T) {
	seg := core.ExifWithGPS(39.5138, -121.5564)
	tiff := append([]byte{}, seg[10:]...)
	ifd0 := uint32(len(tiff))
	binary.BigEndian.PutUint32(tiff[4:8], ifd0)
	gps := binary.BigEndian.Uint32(tiff[18:22]) // the old directory's one entry: the GPS pointer
	tiff = binary.BigEndian.AppendUint16(tiff, 3)
	for _, e := range [][3]uint32{{0x010F, 2, 0}, {0x0110, 2, 0}, {0x8825, 4, gps}} { // Make, Model, GPS
		tiff = binary.BigEndian.AppendUint16(tiff, uint16(e[0]))
		tiff = binary.BigEndian.AppendUint16(tiff, uint16(e[1]))
		tiff = binary.BigEndian.AppendUint32(tiff, 1)
		tiff = binary.BigEndian.AppendUint32(tiff, e[2])
	}
	tiff = binary.BigEndian.AppendUint32(tiff, 0)
	body := append([]byte("Exif\x00\x00"), tiff...)
	exif := append([]byte{0xFF, 0xE1, 0, 0}, body...)
	binary.BigEndian.PutUint16(exif[2:], uint16(len(body)+2))
	lat, lng, ok := core.PhotoGPS(withExif(testJPEG(t), exif))
	if !ok || math.Abs(lat-39.5138) > 1e-4 || math.Abs(lng+121.5564) > 1e-4 {
		t.Errorf("PhotoGPS = %v, %v, %v", lat, lng, ok)
	}
}

// An EXIF block whose offsets or counts point past its end gives no
// position, never a crash.
func TestPhotoGPSMalformedBlock(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   int    // offset in the TIFF structure
		put  uint32 // written there, big-endian, in size bytes
		size int
	}{
		{"first directory at the last byte", 4, 127, 4},
		{"first directory of ten entries, past the end", 8, 10, 2},
		{"GPS directory of a hundred entries", 26, 100, 2},
		{"latitude at the last bytes", 46, 120, 4},
	} {
		seg := core.ExifWithGPS(39.5138, -121.5564)
		tiff := seg[10:]
		if len(tiff) != 128 {
			t.Fatalf("the EXIF block is %d bytes; the cases assume 128", len(tiff))
		}
		if tc.size == 2 {
			binary.BigEndian.PutUint16(tiff[tc.at:], uint16(tc.put))
		} else {
			binary.BigEndian.PutUint32(tiff[tc.at:], tc.put)
		}
		if lat, lng, ok := core.PhotoGPS(withExif(testJPEG(t), seg)); ok {
			t.Errorf("%s: a position %v, %v", tc.name, lat, lng)
		}
	}
}

// Many phones write EXIF little-endian ("II"): its position reads as well.
func TestPhotoGPSLittleEndian(t *testing.T) {
	le := binary.LittleEndian
	tiff := []byte("II\x2a\x00\x08\x00\x00\x00")
	entry := func(tag, typ uint16, count, value uint32) {
		tiff = le.AppendUint16(tiff, tag)
		tiff = le.AppendUint16(tiff, typ)
		tiff = le.AppendUint32(tiff, count)
		tiff = le.AppendUint32(tiff, value)
	}
	tiff = le.AppendUint16(tiff, 1)
	entry(0x8825, 4, 1, 26)
	tiff = le.AppendUint32(tiff, 0)
	tiff = le.AppendUint16(tiff, 4)
	entry(1, 2, 2, 'S')
	entry(2, 5, 3, 80)
	entry(3, 2, 2, 'E')
	entry(4, 5, 3, 104)
	tiff = le.AppendUint32(tiff, 0)
	for _, r := range []uint32{33, 1, 52, 1, 76, 10, 151, 1, 12, 1, 335, 10} { // 33°52'7.6" S, 151°12'33.5" E
		tiff = le.AppendUint32(tiff, r)
	}
	body := append([]byte("Exif\x00\x00"), tiff...)
	exif := append([]byte{0xFF, 0xE1, 0, byte(len(body) + 2)}, body...)
	lat, lng, ok := core.PhotoGPS(withExif(testJPEG(t), exif))
	wantLat, wantLng := -(33 + 52.0/60 + 7.6/3600), 151+12.0/60+33.5/3600
	if !ok || math.Abs(lat-wantLat) > 1e-6 || math.Abs(lng-wantLng) > 1e-6 {
		t.Errorf("PhotoGPS = %v, %v, %v; want %v, %v", lat, lng, ok, wantLat, wantLng)
	}
}

// A PNG chunk whose checksum is wrong is refused, not published.
func TestStripMetadataPNGBadChecksum(t *testing.T) {
	in := testPNG(t)
	in[20]++ // in the IHDR chunk's data
	if _, err := core.StripMetadata(in); err == nil {
		t.Error("a PNG with a bad checksum was stripped")
	}
}

// An EXIF block whose TIFF structure is cut short anywhere, in a segment
// that says so, gives no position (and no panic): every offset it holds
// is checked against what is there.
func TestPhotoGPSTIFFCutShort(t *testing.T) {
	tiff := core.ExifWithGPS(39.5138, -121.5564)[10:]
	img := testJPEG(t)
	for n := range len(tiff) + 1 {
		body := append([]byte("Exif\x00\x00"), tiff[:n]...)
		seg := append([]byte{0xFF, 0xE1, byte((len(body) + 2) >> 8), byte(len(body) + 2)}, body...)
		if _, _, ok := core.PhotoGPS(withExif(img, seg)); ok != (n == len(tiff)) {
			t.Errorf("the TIFF structure cut at %d of %d: position %v", n, len(tiff), ok)
		}
	}
}
