package etcdbank

import (
	"context"
	"errors"
	"testing"
	"time"

	"gostm.dev/bank"
	"gostm.dev/dstm/internal/dstmtest"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestBothBanksOnEmbeddedEtcd(t *testing.T) {
	e, ctx := dstmtest.Embedded(t)
	cfg := bank.Config{Accounts: 64, Workers: 4, Ops: 300, AuditPercent: 20, Initial: 100, MaxAmount: 30, Seed: 1, Stall: 30 * time.Second}
	for _, mode := range []bank.Mode{ModeDSTM, ModeEtcdSTM} {
		res, err := Run(ctx, e.Client(), mode, cfg, e.Options()...)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		r := res.Report
		t.Logf("%s: %.0f ops/s, %d transfers, %d declined, %d audits, audit attempts %d (max %d), p50 %v; checks %v",
			mode, r.Throughput, r.Transfers, r.Declined, r.Audits, res.Audit.Attempts, res.Audit.MaxAttempts, res.Audit.P50, r.Checks)
		if r.Config.Mode != mode || r.Ops != cfg.Ops || r.Audits == 0 || r.Transfers == 0 {
			t.Fatalf("%s: report %+v does not describe the run", mode, r)
		}
		if mode == ModeDSTM {
			if !r.Passed() {
				t.Fatalf("dstm bank failed a check: %+v", r.Checks)
			}
			if res.Audit.MaxAttempts != 1 {
				t.Errorf("a dstm audit took %d attempts: read-only transactions at one snapshot never conflict", res.Audit.MaxAttempts)
			}
		} else if r.Check("B1").Status != bank.Pass || r.Check("B4").Status != bank.Pass {
			t.Fatalf("etcd STM bank lost money: %+v", r.Checks)
		}
	}
	// The accounts were removed from etcd after each run.
	resp, err := e.Client().Get(ctx, Prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 0 {
		t.Fatalf("%d keys left under %s", resp.Count, Prefix)
	}
}

func TestRunBankChecksTheBank(t *testing.T) {
	b, err := bank.NewSTM(bank.Options{Accounts: 4, Initial: 10})
	if err != nil {
		t.Fatal(err)
	}
	var ce *bank.ConfigError
	_, err = bank.RunBank(context.Background(), bank.Config{Accounts: 5, Workers: 1, Ops: 1, Initial: 10, MaxAmount: 1}, b)
	if !errors.As(err, &ce) || ce.Field != "Accounts" {
		t.Fatalf("RunBank with a bank of 4 accounts and Config.Accounts 5: %v, want a ConfigError on Accounts", err)
	}
}
