//go:build race

package main

// raceBuild is true when the tests run with the race detector: the
// ringproof command they build is built with it too, from the packages the
// test build compiled already.
const raceBuild = true
