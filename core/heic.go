package core

// The GPS position of a HEIF photo (an iPhone's HEIC). Its EXIF block is
// an item of the file: the 'meta' box's item list (iinf) names it, its
// location list (iloc) says where its bytes lie, often far into the file.

import (
	"encoding/binary"
	"errors"
	"io"
)

var errNoHEIFExif = errors.New("no EXIF item in the HEIF file")

// heifHead is how much of a HEIF file is read for its boxes: the 'meta'
// box comes first and, even with many tiles listed, holds within it.
const heifHead = 256 << 10

// heifGPS reads the GPS position of the HEIF photo r.
func heifGPS(r io.ReaderAt) (lat, lng float64, ok bool) {
	tiff, err := heifExif(r)
	if err != nil {
		return 0, 0, false
	}
	return tiffGPS(tiff)
}

// heifExif returns the TIFF structure of the EXIF item of r.
func heifExif(r io.ReaderAt) ([]byte, error) {
	head := make([]byte, heifHead)
	n, err := r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	top, err := isoBoxes(head[:n])
	if err != nil {
		return nil, err
	}
	meta, ok := top["meta"]
	if !ok || len(meta) < 4 { // <= 4 the same: a meta of 4 bytes holds no iinf
		return nil, errNoHEIFExif
	}
	inside, err := isoBoxes(meta[4:]) // meta is a full box: version and flags first
	if err != nil {
		return nil, err
	}
	id, err := exifItem(inside["iinf"])
	if err != nil {
		return nil, err
	}
	off, length, err := itemExtent(inside["iloc"], id)
	if err != nil {
		return nil, err
	}
	// length < 8 or <= 8: an item of 8 bytes fails the TIFF check below.
	if length < 8 || length > 1<<20 {
		return nil, errNoHEIFExif
	}
	item := make([]byte, length)
	if _, err := r.ReadAt(item, int64(off)); err != nil {
		return nil, err
	}
	// The item starts with the offset of the TIFF header after its own
	// four bytes ("Exif\0\0" between, as in a JPEG).
	start := 4 + uint64(binary.BigEndian.Uint32(item))
	if start+8 > uint64(len(item)) { // >= the same: an 8-byte TIFF has no GPS
		return nil, errNoHEIFExif
	}
	return item[start:], nil
}

// isoBoxes reads the boxes of an ISO base media file laid one after the
// other in b, by type (the first of each type); a box cut short by the end
// of b is left out.
func isoBoxes(b []byte) (map[string][]byte, error) {
	out := map[string][]byte{}
	for len(b) >= 8 {
		size, typ, hdr := uint64(binary.BigEndian.Uint32(b)), string(b[4:8]), uint64(8)
		switch size {
		case 0: // to the end
			size = uint64(len(b))
		case 1: // a 64-bit size follows
			if len(b) < 16 {
				return out, nil
			}
			size, hdr = binary.BigEndian.Uint64(b[8:]), 16
		}
		if size < hdr {
			return nil, errors.New("a malformed box in the HEIF file")
		}
		if size > uint64(len(b)) {
			return out, nil
		}
		if _, seen := out[typ]; !seen {
			out[typ] = b[hdr:size]
		}
		b = b[size:]
	}
	return out, nil
}

// exifItem finds the id of the item of type "Exif" in an iinf box.
func exifItem(iinf []byte) (uint32, error) {
	if len(iinf) < 6 { // <= 6 the same: 6 bytes hold no entry
		return 0, errNoHEIFExif
	}
	rest := iinf[6:] // version, flags, and a 16-bit entry count
	if iinf[0] != 0 {
		if len(iinf) < 8 {
			return 0, errNoHEIFExif
		}
		rest = iinf[8:] // a 32-bit count
	}
	for len(rest) >= 8 { // > 8 the same: an 8-byte entry has no body
		size := binary.BigEndian.Uint32(rest)
		if size < 8 || uint64(size) > uint64(len(rest)) {
			break
		}
		// len(infe) > 4 the same: the cases below need 12 or 14 bytes.
		if infe := rest[8:size]; string(rest[4:8]) == "infe" && len(infe) >= 4 {
			switch v := infe[0]; {
			case v == 2 && len(infe) >= 12 && string(infe[8:12]) == "Exif":
				return uint32(binary.BigEndian.Uint16(infe[4:])), nil
			case v == 3 && len(infe) >= 14 && string(infe[10:14]) == "Exif":
				return binary.BigEndian.Uint32(infe[4:]), nil
			}
		}
		rest = rest[size:]
	}
	return 0, errNoHEIFExif
}

// itemExtent finds where item id lies in the file, from an iloc box: its
// first extent, read from the file itself (construction method 0).
func itemExtent(iloc []byte, id uint32) (off, length uint64, err error) {
	if len(iloc) < 6 { // <= 6 the same: 6 bytes hold no count, none read
		return 0, 0, errNoHEIFExif
	}
	v := iloc[0]
	offSize, lenSize := int(iloc[4]>>4), int(iloc[4]&15)
	baseSize, indexSize := int(iloc[5]>>4), 0
	if v == 1 || v == 2 {
		indexSize = int(iloc[5] & 15)
	}
	p, bad := 6, false
	// num reads a big-endian number of n bytes (0, 2, 4 or 8) at p.
	num := func(n int) uint64 {
		if n != 0 && n != 2 && n != 4 && n != 8 || p+n > len(iloc) {
			bad = true
			return 0
		}
		var x uint64
		for _, c := range iloc[p : p+n] {
			x = x<<8 | uint64(c)
		}
		p += n
		return x
	}
	idSize := 2 // item ids and their count
	if v == 2 {
		idSize = 4
	}
	count := num(idSize)
	for i := uint64(0); i < count && !bad; i++ {
		item := num(idSize)
		method := uint64(0)
		if v == 1 || v == 2 {
			method = num(2)
		}
		num(2) // data reference index
		base := num(baseSize)
		extents := num(2)
		for e := uint64(0); e < extents && !bad; e++ {
			num(indexSize)
			eo, el := num(offSize), num(lenSize)
			if !bad && item == uint64(id) && e == 0 {
				if method&15 != 0 {
					return 0, 0, errors.New("the HEIF EXIF item is not in the file's data")
				}
				return base + eo, el, nil
			}
		}
	}
	return 0, 0, errNoHEIFExif
}
