// Package cities holds the bundled city files. It is plain data: the core
// package parses and validates them (core.ReadCity, core.LoadCity).
package cities

import _ "embed"

// OrovilleName is the bundled Oroville file's name, used in error messages.
const OrovilleName = "oroville.json"

// Oroville is the city file for Oroville, California: the default city when
// TOWNLINE_CITY is not set, and a worked example for other cities.
//
//go:embed oroville.json
var Oroville []byte

// OrovillePlacesName is the sample places' file name: their source when loaded.
const OrovillePlacesName = "oroville-places.geojson"

// OrovillePlaces is a small synthetic sample of GIS layers for the
// Oroville example (a downtown grid's address points and centerlines, two
// arterials): what `townline places load` takes from a real city.
//
//go:embed oroville-places.geojson
var OrovillePlaces []byte
