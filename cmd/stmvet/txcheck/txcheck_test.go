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

// TestCommute checks the functions passed to Var.Commute: literals where
// they are written, named functions, method values and variables at the
// call, and functions of other packages by their facts.
func TestCommute(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), txcheck.Analyzer, "example.com/commute")
}

// TestView checks that writes and waits inside stm.View are reported, and
// that View and Catch bodies are checked as transaction bodies.
func TestView(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), txcheck.Analyzer, "example.com/views")
}
