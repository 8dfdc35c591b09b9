package txcheck_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"gostm.dev/cmd/stmvet/txcheck"
)

func TestBodies(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), txcheck.Analyzer, "example.com/bodies")
}

// TestFacts checks the facts a package exports and that a body in another
// package is judged by them.
func TestFacts(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), txcheck.Analyzer, "example.com/effects", "example.com/useeffects")
}
