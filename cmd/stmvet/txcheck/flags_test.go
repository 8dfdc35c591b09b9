package txcheck

import (
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"
)

func TestDenyAndAllowFlags(t *testing.T) {
	defer func() { denyFlag, allowFlag = nil, nil }()
	for name, value := range map[string]string{
		"deny":  "example.com/flags.Send*, example.com/flags.Mailer.*",
		"allow": "time.Sleep",
	} {
		if err := Analyzer.Flags.Set(name, value); err != nil {
			t.Fatal(err)
		}
	}
	analysistest.Run(t, analysistest.TestData(), Analyzer, "example.com/flags")
}

func TestBadPattern(t *testing.T) {
	defer func() { denyFlag = nil }()
	for _, p := range []string{"(*os.File).Write", "net.Dial[", "fmt. Print"} {
		err := Analyzer.Flags.Set("deny", p)
		if err == nil || !strings.Contains(err.Error(), "bad pattern") {
			t.Errorf("-deny=%s: got error %v, want one saying the pattern is bad", p, err)
		}
	}
	if len(denyFlag) != 0 {
		t.Errorf("bad patterns were kept: %q", denyFlag)
	}
}
