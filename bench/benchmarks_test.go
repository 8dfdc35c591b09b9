package bench

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
)

// The go test entry points run the same workloads and engines as
// stmbench, through the same runner, in operation-count mode with b.N
// operations. Sub-benchmark names are key=value, like stmbench -format
// bench, so benchstat can pivot on any of them:
//
//	go test -run '^$' -bench Bank -count 10 ./bench/ > bank.txt
//	benchstat -col /engine bank.txt
//	benchstat -col /goroutines bank.txt
//
// ns/op, allocs/op and B/op are overridden with the runner's figures for
// the measured phase only (not the setup of the shared state).

func BenchmarkCounter(b *testing.B)    { benchWorkload(b, "counter") }
func BenchmarkBank(b *testing.B)       { benchWorkload(b, "bank") }
func BenchmarkReadmostly(b *testing.B) { benchWorkload(b, "readmostly") }
func BenchmarkIntsetList(b *testing.B) { benchWorkload(b, "intset-list") }
func BenchmarkIntsetSkip(b *testing.B) { benchWorkload(b, "intset-skip") }
func BenchmarkLongshort(b *testing.B)  { benchWorkload(b, "longshort") }
func BenchmarkQueue(b *testing.B)      { benchWorkload(b, "queue") }
func BenchmarkPingpong(b *testing.B)   { benchWorkload(b, "pingpong") }

// benchGoroutines is 1, GOMAXPROCS and 4×GOMAXPROCS: alone, parallel, and
// oversubscribed.
func benchGoroutines() []int {
	p := runtime.GOMAXPROCS(0)
	return slices.Compact([]int{1, p, 4 * p})
}

func benchWorkload(b *testing.B, name string) {
	w, ok := Default().Workload(name)
	if !ok {
		b.Fatalf("no workload %s", name)
	}
	params, err := w.Resolve(nil, false)
	if err != nil {
		b.Fatal(err)
	}
	suffix := ""
	for _, pv := range ordered(w, params) {
		suffix += fmt.Sprintf("/%s=%d", pv.Name, pv.Value)
	}
	for _, e := range w.Engines {
		for _, g := range benchGoroutines() {
			b.Run(fmt.Sprintf("engine=%s%s/goroutines=%d", e.Name, suffix, g), func(b *testing.B) {
				b.ReportAllocs() // so that the overriding values below are printed
				rep, err := Default().RunOne(context.Background(), name, e.Name, g, Options{Ops: b.N, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				ops := float64(max(rep.Ops, 1))
				b.ReportMetric(float64(rep.ElapsedNS)/ops, "ns/op")
				b.ReportMetric(rep.TxPerSec, "tx/s")
				// Always-zero metrics break benchstat's geometric mean,
				// so abort and block rates appear only when non-zero.
				if rep.Counters.Aborts > 0 {
					b.ReportMetric(float64(rep.Counters.Aborts)/ops, "aborts/op")
				}
				if rep.Counters.Blocks > 0 {
					b.ReportMetric(float64(rep.Counters.Blocks)/ops, "blocks/op")
				}
				for _, a := range rep.Attempts {
					if a.Total() > 0 {
						b.ReportMetric(float64(a.Max()), "max-"+a.Name+"-attempts")
					}
				}
				b.ReportMetric(rep.AllocsPerOp, "allocs/op")
				b.ReportMetric(rep.BytesPerOp, "B/op")
				b.ReportMetric(float64(rep.P99NS), "p99-ns")
			})
		}
	}
}
