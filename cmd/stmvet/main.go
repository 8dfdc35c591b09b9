// Command stmvet checks gostm transaction bodies (skeleton).
package main

import (
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/singlechecker"
)

// Analyzer is a placeholder while the checks are written.
var Analyzer = &analysis.Analyzer{
	Name: "stmvet",
	Doc:  "checks gostm transaction bodies",
	Run:  func(*analysis.Pass) (any, error) { return nil, nil },
}

func main() { singlechecker.Main(Analyzer) }
