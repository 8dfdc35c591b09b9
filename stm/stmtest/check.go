package stmtest

import (
	"os"
	"path/filepath"
	"testing"
)

// CheckHistory runs every applicable check on h: the black-box check
// always, the white-box check when h is versioned.
func CheckHistory(h *History) Report {
	r := CheckBlackBox(h)
	if h.Versioned {
		r.merge(CheckWhiteBox(h))
	}
	return r
}

// Check checks h with CheckHistory and, if it finds an anomaly, fails t
// with the explanation and saves h as JSON Lines for replay (see
// ReadJSONL) in t's artifact directory: under the -outputdir of
// "go test -artifacts" on Go 1.26 and later; otherwise in the directory
// named by $STMTEST_ARTIFACTS, or a new temporary directory. The path is
// in the failure message. Check returns the report either way.
func Check(t testing.TB, h *History) Report {
	t.Helper()
	r := CheckHistory(h)
	if r.OK() {
		return r
	}
	path, err := saveHistory(t, h)
	if err != nil {
		t.Errorf("%s\n(saving the history failed: %v)", r, err)
	} else {
		t.Errorf("%s\nhistory saved to %s", r, path)
	}
	return r
}

// saveHistory writes h into the test's artifact directory.
func saveHistory(t testing.TB, h *History) (string, error) {
	dir, err := artifactDir(t)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "history-*.jsonl")
	if err != nil {
		return "", err
	}
	if err := h.WriteJSONL(f); err != nil {
		f.Close()
		return "", err
	}
	return f.Name(), f.Close()
}

// artifactDir finds where to save files for t. The module's go directive
// (1.25) predates testing.TB.ArtifactDir (Go 1.26), so it is looked up
// dynamically: go vet's stdversion check rejects a static call.
func artifactDir(t testing.TB) (string, error) {
	if a, ok := t.(interface{ ArtifactDir() string }); ok {
		return a.ArtifactDir(), nil
	}
	if d := os.Getenv("STMTEST_ARTIFACTS"); d != "" {
		return d, os.MkdirAll(d, 0o755)
	}
	return os.MkdirTemp("", "stmtest-"+filepath.Base(t.Name())+"-")
}
