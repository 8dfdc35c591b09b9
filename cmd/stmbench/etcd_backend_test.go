package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"gostm.dev/dstm/etcdbank"
)

func TestEtcdBackendUsageErrors(t *testing.T) {
	for _, c := range []struct {
		cmd  func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) int
		args []string
		want string
	}{
		{bankCmd, []string{"-backend", "disk"}, `-backend "disk"`},
		{bankCmd, []string{"-etcd-endpoints", "http://x:1"}, "-etcd-endpoints needs -backend etcd"},
		{bankCmd, []string{"-backend", "etcd", "-etcd-runs", "0"}, "-etcd-runs 0"},
		{santaCmd, []string{"-backend", "disk"}, `-backend "disk"`},
	} {
		var out, errOut bytes.Buffer
		if code := c.cmd(context.Background(), c.args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %q", c.args, code, errOut.String(), c.want)
		}
	}
}

func bankCmd(ctx context.Context, args []string, out, errOut *bytes.Buffer) int {
	return bankCommand(ctx, args, out, errOut)
}

func santaCmd(ctx context.Context, args []string, out, errOut *bytes.Buffer) int {
	return santaCommand(ctx, args, out, errOut)
}

// TestEtcdBank runs the bank on the embedded etcd with both engines and
// checks the JSON report: every check passed for dstm, its audits took one
// attempt each.
func TestEtcdBank(t *testing.T) {
	var out, errOut bytes.Buffer
	code := bankCommand(context.Background(), []string{"-backend", "etcd", "-ops", "200", "-accounts", "32", "-workers", "4", "-seed", "1", "-format", "json"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out.String(), errOut.String())
	}
	var results []etcdbank.Result
	if err := json.Unmarshal(out.Bytes(), &results); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	if len(results) != 2 || results[0].Report.Config.Mode != etcdbank.ModeDSTM || results[1].Report.Config.Mode != etcdbank.ModeEtcdSTM {
		t.Fatalf("want a dstm run then an etcd-stm run, got %d results", len(results))
	}
	if r := results[0]; !r.Report.Passed() || r.Report.Ops != 200 || r.Audit.MaxAttempts > 1 {
		t.Fatalf("dstm run: %+v, audits %+v", r.Report.Checks, r.Audit)
	}
	if !strings.Contains(errOut.String(), "etcd: embedded single member") {
		t.Fatalf("stderr does not say which server ran: %q", errOut.String())
	}
}

func TestEtcdSanta(t *testing.T) {
	var out, errOut bytes.Buffer
	code := santaCommand(context.Background(), []string{"-backend", "etcd", "-rounds", "4", "-seed", "1"}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "variant=etcd-dstm") || !strings.Contains(out.String(), "PASS  S9") ||
		!strings.Contains(out.String(), "INFO  stm: not used: the state lived in etcd") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out.String(), errOut.String())
	}
}
