package demo

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"

	"townline/core"
)

// Downtown Oroville, where the demo's photos are taken.
const photoLat, photoLng = 39.5138, -121.5564

// takePhoto draws a pothole in asphalt and tags it, as a phone camera
// does, with where it was taken.
func takePhoto() []byte {
	img := image.NewGray(image.Rect(0, 0, 480, 360))
	for y := range 360 {
		for x := range 480 {
			v := 110 + uint8((x*7+y*13)%23) // grainy asphalt
			dx, dy := float64(x-240)/150, float64(y-190)/80
			if d := dx*dx + dy*dy; d < 1 {
				v = uint8(30 + 50*d) // the hole, darker at its heart
			}
			img.SetGray(x, y, color.Gray{Y: v})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		panic(err) // encoding to memory cannot fail
	}
	raw := b.Bytes()
	out := append([]byte{}, raw[:2]...) // SOI, then APP1 where cameras put it
	out = append(out, core.ExifWithGPS(photoLat, photoLng)...)
	return append(out, raw[2:]...)
}
