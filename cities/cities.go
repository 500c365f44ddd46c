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
