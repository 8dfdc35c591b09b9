package bank

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkBank measures the correct modes on TinySTM's bank shape: 1024
// accounts, transfers between random accounts, with 0% and 20% whole-bank
// audits, one worker per P. An op is one transfer or audit; tx/s is the
// runner's own count of finished operations per second, which excludes
// building the bank.
func BenchmarkBank(b *testing.B) {
	for _, m := range Modes() {
		if !m.Correct() {
			continue
		}
		for _, audit := range []int{0, 20} {
			workers := runtime.GOMAXPROCS(0)
			b.Run(fmt.Sprintf("mode=%s/audit=%d/workers=%d", m, audit, workers), func(b *testing.B) {
				cfg := DefaultConfig()
				cfg.Mode, cfg.Accounts, cfg.Workers, cfg.AuditPercent = m, 1024, workers, audit
				cfg.Ops = int64(max(b.N, workers))
				rep, err := Run(cfg)
				if err != nil {
					b.Fatal(err)
				}
				if !rep.Passed() {
					b.Fatalf("a check failed: %+v", rep.Checks)
				}
				b.ReportMetric(rep.Throughput, "tx/s")
				if rep.STM != nil {
					b.ReportMetric(float64(rep.STM.Engine.Aborts)/float64(rep.Ops), "aborts/op")
				}
			})
		}
	}
}
