package core

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// PhotoGPS reads the GPS position a phone camera wrote into a JPEG's EXIF
// block. It returns ok=false when there is none or the block is malformed:
// a photo without a position is normal.
func PhotoGPS(img []byte) (lat, lng float64, ok bool) {
	tiff, err := exifBlock(img)
	if err != nil {
		return 0, 0, false
	}
	return tiffGPS(tiff)
}

// tiffGPS reads the GPS position in an EXIF block's TIFF structure, from
// a JPEG or a HEIF photo.
func tiffGPS(tiff []byte) (lat, lng float64, ok bool) {
	// Eight bytes are the header alone, with no directory: "<= 8" (a
	// mutant) gives no position either.
	if len(tiff) < 8 {
		return 0, 0, false
	}
	var order binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 0, 0, false
	}
	ifd0 := order.Uint32(tiff[4:8])
	gpsOff, found := ifdValue(tiff, order, ifd0, 0x8825)
	if !found {
		return 0, 0, false
	}
	tags := map[uint16]uint32{} // tag -> value or offset
	counts := map[uint16]uint32{}
	n, ok := entries(tiff, order, gpsOff)
	if !ok {
		return 0, 0, false
	}
	for i := range n {
		e := int(gpsOff) + 2 + i*12
		tag := order.Uint16(tiff[e:])
		counts[tag] = order.Uint32(tiff[e+4:])
		tags[tag] = order.Uint32(tiff[e+8:])
		if tag == 1 || tag == 3 { // ASCII refs fit in the value field
			tags[tag] = uint32(tiff[e+8])
		}
	}
	latV, ok1 := degrees(tiff, order, tags[2], counts[2])
	lngV, ok2 := degrees(tiff, order, tags[4], counts[4])
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	if tags[1] == 'S' {
		latV = -latV
	}
	if tags[3] == 'W' {
		lngV = -lngV
	}
	if latV < -90 || latV > 90 || lngV < -180 || lngV > 180 || (latV == 0 && lngV == 0) {
		return 0, 0, false
	}
	return latV, lngV, true
}

// exifBlock finds the TIFF structure inside a JPEG's APP1 "Exif" segment.
func exifBlock(img []byte) ([]byte, error) {
	if !bytes.HasPrefix(img, []byte{0xFF, 0xD8}) {
		return nil, errNotPhoto
	}
	// With four bytes left only an empty segment fits, never an EXIF
	// block: i+4 < len(img) would find the same.
	for i := 2; i+4 <= len(img) && img[i] == 0xFF; {
		marker := img[i+1]
		if marker == 0xFF { // a fill byte before the marker
			i++
			continue
		}
		if marker == 0xDA || marker == 0xD9 {
			break
		}
		n := int(binary.BigEndian.Uint16(img[i+2:]))
		if n < 2 || i+2+n > len(img) {
			break
		}
		seg := img[i+4 : i+2+n]
		// 14 bytes hold the TIFF header and no directory: with > 14 such a
		// block is skipped instead, and gives no position either (unless a
		// second EXIF block follows, which no camera writes).
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) && len(seg) >= 14 {
			return seg[6:], nil
		}
		i += 2 + n
	}
	return nil, errors.New("no EXIF block")
}

// entries reads the number of entries of the directory at off. A
// directory of two bytes at the very end holds none: refusing it (>=
// below) or reading it as empty finds no value either way. One whose
// entries end exactly at the end lacks the next directory's offset every
// TIFF directory ends with: malformed, and never written so by a camera.
func entries(tiff []byte, order binary.ByteOrder, off uint32) (int, bool) {
	if int(off)+2 > len(tiff) {
		return 0, false
	}
	n := int(order.Uint16(tiff[off:]))
	if int(off)+2+n*12 > len(tiff) {
		return 0, false
	}
	return n, true
}

func ifdValue(tiff []byte, order binary.ByteOrder, off uint32, want uint16) (uint32, bool) {
	n, ok := entries(tiff, order, off)
	if !ok {
		return 0, false
	}
	for i := range n {
		e := int(off) + 2 + i*12
		if order.Uint16(tiff[e:]) == want {
			return order.Uint32(tiff[e+8:]), true
		}
	}
	return 0, false
}

// degrees reads three RATIONALs (degrees, minutes, seconds).
func degrees(tiff []byte, order binary.ByteOrder, off, count uint32) (float64, bool) {
	if count != 3 || int(off)+24 > len(tiff) {
		return 0, false
	}
	var v [3]float64
	for i := range 3 {
		num := order.Uint32(tiff[int(off)+i*8:])
		den := order.Uint32(tiff[int(off)+i*8+4:])
		if den == 0 {
			return 0, false
		}
		v[i] = float64(num) / float64(den)
	}
	return v[0] + v[1]/60 + v[2]/3600, true
}

// ExifWithGPS builds an APP1 EXIF segment holding a GPS position, as a
// phone camera writes it. Tests and the demo phone use it to make photos.
func ExifWithGPS(lat, lng float64) []byte {
	order := binary.BigEndian // big-endian, as most cameras write it
	t := []byte("MM\x00\x2a\x00\x00\x00\x08")
	// IFD0: one entry, the GPS IFD pointer.
	t = order.AppendUint16(t, 1)
	t = append(t, entry(order, 0x8825, 4, 1, 26)...)
	t = order.AppendUint32(t, 0)
	// GPS IFD at 26: four entries, then the rationals at 26+2+48+4 = 80.
	latRef, lngRef := byte('N'), byte('E')
	if lat < 0 { // 0° reads the same north or south, east or west
		latRef, lat = 'S', -lat
	}
	if lng < 0 {
		lngRef, lng = 'W', -lng
	}
	t = order.AppendUint16(t, 4)
	t = append(t, entry(order, 1, 2, 2, uint32(latRef)<<24)...)
	t = append(t, entry(order, 2, 5, 3, 80)...)
	t = append(t, entry(order, 3, 2, 2, uint32(lngRef)<<24)...)
	t = append(t, entry(order, 4, 5, 3, 104)...)
	t = order.AppendUint32(t, 0)
	for _, v := range []float64{lat, lng} {
		d := int(v)
		// Minutes of 0 (v-d / 60) would move them into the seconds: the
		// same position read back.
		m := int((v - float64(d)) * 60)
		s := ((v-float64(d))*60 - float64(m)) * 60 * 10000
		for _, r := range [][2]uint32{{uint32(d), 1}, {uint32(m), 1}, {uint32(s), 10000}} {
			t = order.AppendUint32(t, r[0])
			t = order.AppendUint32(t, r[1])
		}
	}
	seg := append([]byte("Exif\x00\x00"), t...)
	// Its length, 136, is under 256: the high byte is 0 however it is
	// computed.
	return append([]byte{0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}, seg...)
}

func entry(order binary.AppendByteOrder, tag, typ uint16, count, value uint32) []byte {
	e := order.AppendUint16(nil, tag)
	e = order.AppendUint16(e, typ)
	e = order.AppendUint32(e, count)
	return order.AppendUint32(e, value)
}
