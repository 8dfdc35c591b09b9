//go:build race

package tvar_test

const raceEnabled = true
