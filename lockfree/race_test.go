//go:build race

package lockfree

const raceEnabled = true
