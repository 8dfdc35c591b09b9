package etcdbank

import (
	"context"
	"fmt"

	"gostm.dev/bank"
	"gostm.dev/dstm"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Result is one run of a bank on etcd.
type Result struct {
	Report bank.Report `json:"report"`
	Audit  AuditStats  `json:"audit"`
	// DSTM is the dstm Client's counters over the run (ModeDSTM only).
	DSTM *dstm.Stats `json:"dstm,omitempty"`
}

// Prefix is the key prefix under which Run keeps a bank's accounts while it
// runs (it deletes them afterwards).
const Prefix = "stmbench/bank/"

// Run opens a fresh bank in mode (ModeDSTM or ModeEtcdSTM) on cli's
// cluster, drives it with bank.RunBank and returns the checked report with
// the audits' statistics. A dstm bank gets a Client of its own, made with
// opts. cfg.Mode is ignored.
func Run(ctx context.Context, cli *clientv3.Client, mode bank.Mode, cfg bank.Config, opts ...dstm.Option) (Result, error) {
	o := bank.Options{Accounts: cfg.Accounts, Initial: cfg.Initial, Overdraft: cfg.Overdraft}
	prefix := Prefix + string(mode) + "/"
	var b interface {
		bank.Bank
		AuditStats() AuditStats
	}
	var c *dstm.Client
	switch mode {
	case ModeDSTM:
		c = dstm.New(cli, opts...)
		defer c.Close(context.WithoutCancel(ctx))
		db, err := New(ctx, c, prefix, o)
		if err != nil {
			return Result{}, err
		}
		b = db
	case ModeEtcdSTM:
		eb, err := NewEtcdSTM(ctx, cli, prefix, o)
		if err != nil {
			return Result{}, err
		}
		b = eb
	default:
		return Result{}, fmt.Errorf("etcdbank: mode %q: want %s or %s", mode, ModeDSTM, ModeEtcdSTM)
	}
	rep, err := bank.RunBank(ctx, cfg, b)
	res := Result{Report: rep, Audit: b.AuditStats()}
	if c != nil {
		s := c.Stats()
		res.DSTM = &s
	}
	return res, err
}
