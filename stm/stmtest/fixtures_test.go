package stmtest

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Hand-written histories, one per anomaly class, each starting with a
// line "# expect: CLASS..." (or "clean"): the checkers must report
// exactly the expected classes.
func TestFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	seen := map[Class]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want := expectation(t, f)
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			h, err := ReadJSONL(fh)
			if err != nil {
				t.Fatal(err)
			}
			r := CheckHistory(h)
			got := r.Classes()
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("classes %v, want %v\n%s", got, want, r)
			}
			for _, c := range got {
				seen[c] = true
			}
			t.Log(r)
		})
	}
	for _, c := range []Class{G0, G1a, G1b, G1c, GSingle, G2, GSingle.Realtime(), Opacity, Snapshot, Serializability, StrictSerializability} {
		if !seen[c] {
			t.Errorf("no fixture shows %s", c)
		}
	}
}

func expectation(t *testing.T, path string) []Class {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "# expect:") {
		t.Fatalf("%s: the first line must be \"# expect: ...\"", path)
	}
	var cs []Class
	for _, w := range strings.Fields(strings.TrimPrefix(sc.Text(), "# expect:")) {
		if w != "clean" {
			cs = append(cs, Class(w))
		}
	}
	return cs
}
