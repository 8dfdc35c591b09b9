package stmtest

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// ArtifactsEnv names the environment variable that chooses the directory
// where Check and Replay save the history of a failing test, when go test
// was not given -artifacts.
const ArtifactsEnv = "STMTEST_ARTIFACTS"

// Check checks h with CheckHistory and, if it finds an anomaly, fails t
// with the explanation and saves h as JSON Lines for replay (see
// ReadJSONL). The file's path is logged right after the explanation. It
// goes, in order of preference:
//
//   - with "go test -artifacts [-outputdir DIR]", into t.ArtifactDir(),
//     under DIR/_artifacts (stmtest creates DIR when it is missing, which
//     go test itself does not);
//   - else into $STMTEST_ARTIFACTS/<test name>/, created if missing;
//   - else into os.TempDir()/stmtest-artifacts/<test name>/, which, unlike
//     t.TempDir(), is not removed when the test ends.
//
// Check returns the report either way.
func Check(t testing.TB, h *History) Report {
	t.Helper()
	r := CheckHistory(h)
	if !r.OK() {
		fail(t, r.String(), h)
	}
	return r
}

// fail reports msg first, so that the explanation is never lost to a
// failure to save, then saves h and says where.
func fail(t testing.TB, msg string, h *History) {
	t.Helper()
	t.Error(msg)
	path, err := saveHistory(t, h)
	if err != nil {
		t.Errorf("saving the history failed: %v (set %s to a writable directory)", err, ArtifactsEnv)
		return
	}
	t.Logf("history saved to %s (reload it with stmtest.ReadJSONL)", path)
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

// artifactDir finds where to save files for t (see Check) and creates it.
func artifactDir(t testing.TB) (string, error) {
	if artifactsFlag() {
		// The module's go directive may predate testing.TB.ArtifactDir
		// (Go 1.26), so it is looked up dynamically: go vet's stdversion
		// check rejects a static call.
		if a, ok := t.(interface{ ArtifactDir() string }); ok {
			return a.ArtifactDir(), nil
		}
	}
	base := os.Getenv(ArtifactsEnv)
	if base == "" {
		base = filepath.Join(os.TempDir(), "stmtest-artifacts")
	}
	dir := filepath.Join(base, safeName(t.Name()))
	return dir, os.MkdirAll(dir, 0o755)
}

// artifactsFlag reports whether the test binary runs with -test.artifacts:
// without it, t.ArtifactDir() is a temporary directory removed after the
// test, which would take the evidence with it.
func artifactsFlag() bool {
	f := flag.Lookup("test.artifacts")
	return f != nil && f.Value.String() == "true"
}

// safeName turns a test name into one directory name: subtests'
// slashes become "__", as go test does for its artifact directories, and
// anything but letters, digits and "-_.=+," becomes "_".
func safeName(name string) string {
	name = strings.ReplaceAll(name, "/", "__")
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("-_.=+,", r):
			return r
		}
		return '_'
	}, name)
}

// init creates the -outputdir of "go test -artifacts -outputdir DIR" when
// it is missing. The testing package makes only DIR/_artifacts, with
// os.Mkdir, before any test runs: a missing DIR makes the whole test binary
// exit with "mkdir DIR/_artifacts: no such file or directory" and no test
// (so no explanation of an anomaly) is ever printed. A package's init runs
// before the test binary's main, so this is the one place a library can
// fix that for the tests that import it. It does nothing unless both flags
// are on the command line, as go test passes them.
func init() {
	if dir := outputDirToCreate(os.Args[1:]); dir != "" {
		_ = os.MkdirAll(dir, 0o777) // if this fails, go test reports why
	}
}

// outputDirToCreate returns the -test.outputdir value when args also turn
// -test.artifacts on, else "".
func outputDirToCreate(args []string) string {
	artifacts, dir := false, ""
	for i := 0; i < len(args); i++ {
		if args[i] == "--" || !strings.HasPrefix(args[i], "-") {
			break // the flag package stops here too
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		switch name {
		case "test.artifacts":
			on, err := strconv.ParseBool(val)
			artifacts = !hasVal || (err == nil && on)
		case "test.outputdir":
			if !hasVal && i+1 < len(args) {
				i++
				val = args[i]
			}
			dir = val
		}
	}
	if !artifacts {
		return ""
	}
	return dir
}
