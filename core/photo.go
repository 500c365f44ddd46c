package core

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
)

var errNotPhoto = errors.New("not a JPEG or PNG")

// StripMetadata returns a copy of a JPEG or PNG with the metadata that can
// identify a reporter removed: EXIF (GPS position, camera serial, time),
// XMP, comments and textual chunks. Pixels are untouched. Other formats
// are refused so that nothing unstripped is ever published.
func StripMetadata(img []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(img, []byte{0xFF, 0xD8}):
		return stripJPEG(img)
	case bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n")):
		return stripPNG(img)
	}
	return nil, errNotPhoto
}

// stripJPEG drops APPn segments other than JFIF (APP0) and Adobe colour
// (APP14), and COM segments, up to the start of scan.
func stripJPEG(img []byte) ([]byte, error) {
	out := bytes.NewBuffer(make([]byte, 0, len(img)))
	out.Write(img[:2])
	i := 2
	for {
		// i+4 >= len(img) differs only for a JPEG cut two bytes into its
		// start of scan, which holds no image either way.
		if i+4 > len(img) || img[i] != 0xFF {
			return nil, errors.New("malformed JPEG")
		}
		marker := img[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xDA { // start of scan: the rest is image data
			out.Write(img[i:])
			return out.Bytes(), nil
		}
		n := int(binary.BigEndian.Uint16(img[i+2 : i+4]))
		// A segment ending at the very end (>= instead of >) leaves no start
		// of scan: the next turn refuses it with the same error.
		if n < 2 || i+2+n > len(img) {
			return nil, errors.New("malformed JPEG")
		}
		seg := img[i : i+2+n]
		drop := marker == 0xFE || (marker >= 0xE1 && marker <= 0xEF && marker != 0xEE)
		if !drop {
			out.Write(seg)
		}
		i += 2 + n
	}
}

// stripPNG keeps only the chunks needed to show the image.
func stripPNG(img []byte) ([]byte, error) {
	out := bytes.NewBuffer(make([]byte, 0, len(img)))
	out.Write(img[:8])
	i := 8
	for i+12 <= len(img) {
		n := int(binary.BigEndian.Uint32(img[i : i+4]))
		if n < 0 || i+12+n > len(img) {
			return nil, errors.New("malformed PNG")
		}
		typ := string(img[i+4 : i+8])
		chunk := img[i : i+12+n]
		if crc32.ChecksumIEEE(chunk[4:8+n]) != binary.BigEndian.Uint32(chunk[8+n:]) {
			return nil, errors.New("malformed PNG: bad checksum")
		}
		switch typ {
		case "eXIf", "tEXt", "zTXt", "iTXt", "tIME":
		default:
			out.Write(chunk)
		}
		i += 12 + n
		if typ == "IEND" {
			return out.Bytes(), nil
		}
	}
	return nil, errors.New("malformed PNG: no end")
}
