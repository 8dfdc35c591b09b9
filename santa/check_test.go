package santa

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readTraceFile(t *testing.T, path string) Trace {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := ReadTrace(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tr
}

// The hand-made traces: good.jsonl passes everything (so the bad ones are
// bad only where their name says), and each sN_*.jsonl fails exactly SN.
func TestHandMadeTraces(t *testing.T) {
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil || len(files) < 10 {
		t.Fatalf("testdata: %d traces, %v", len(files), err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			res := Check(readTraceFile(t, path), CheckOptions{})
			var want []string
			if id, _, ok := strings.Cut(name, "_"); ok && id[0] == 's' {
				want = []string{strings.ToUpper(id)}
			}
			if got := res.Failed(); !slices.Equal(got, want) {
				for _, p := range res.Properties {
					if p.Example != nil {
						t.Logf("%s: %v", p.ID, p.Example)
					}
				}
				t.Fatalf("failed %v, want %v", got, want)
			}
			for _, p := range res.Properties {
				if p.Skipped {
					t.Errorf("%s skipped on an ordered trace", p.ID)
				}
				if p.Violations > 0 && (p.Example == nil || p.Example.Detail == "") {
					t.Errorf("%s failed without a counterexample", p.ID)
				}
			}
		})
	}
}

func TestReadTraceErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "no meta header"},
		{`{"seq":1,"actor":"santa","ev":"choose"}`, "line 1: want the"},
		{"{\"ev\":\"meta\"}\n{\"seq\":1,\"ev\":\"dance\"}", `line 2: unknown event "dance"`},
		{"{\"ev\":\"meta\"}\n{\"seq\":1,\"ev\":\"join\",\"slott\":2}", `line 2: json: unknown field "slott"`},
		{"{\"ev\":\"meta\"}\nnot json", "line 2:"},
	} {
		_, err := ReadTrace(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadTrace(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

// Without seq, the ordering properties are skipped, not passed.
func TestUnorderedTraceSkipsOrderingProperties(t *testing.T) {
	tr := readTraceFile(t, "testdata/s7_elves_before_full_reindeer.jsonl")
	for i := range tr.Events {
		tr.Events[i].Seq = 0
	}
	res := Check(tr, CheckOptions{})
	for _, id := range []string{"S4", "S7"} {
		if p, _ := res.Property(id); !p.Skipped || p.Passed() {
			t.Errorf("%s: skipped %v passed %v, want skipped", id, p.Skipped, p.Passed())
		}
	}
	if !res.OK() {
		t.Errorf("unordered good-but-for-order trace failed %v", res.Failed())
	}
}
