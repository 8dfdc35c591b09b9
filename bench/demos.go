package bench

import (
	"context"
	"fmt"
	"strings"

	"gostm.dev/bank"
	"gostm.dev/santa"
)

// The demos' packages sit below bench in the import order, so they cannot
// register themselves; bench adapts their tour entry points here.
func init() {
	RegisterDemo(Demo{
		Name: "bank",
		Doc:  "the bank-account race: STM against lock-ordered and global-lock banks, checks B1–B5",
		Run:  bankDemo,
	})
	RegisterDemo(Demo{
		Name: "santa",
		Doc:  "the Santa Claus problem on STM, its trace checked against S1–S9",
		Run:  santaDemo,
	})
}

func bankDemo(ctx context.Context, seed uint64) (DemoReport, error) {
	reports, err := bank.Tour(ctx, seed)
	if err != nil {
		return DemoReport{}, err
	}
	out := DemoReport{Baseline: string(bank.GlobalLock)}
	for _, r := range reports {
		o := Outcome{Mode: string(r.Config.Mode), TxPerSec: r.Throughput}
		for _, c := range r.Checks {
			detail := c.Counterexample
			if detail == "" {
				detail = c.Detail
			}
			o.Checks = append(o.Checks, Check{Name: c.ID, OK: c.Status != bank.Fail, Detail: detail})
		}
		// A negative control is a mode whose expected verdict is to fail:
		// then passing and being as expected disagree.
		o.ExpectFail = r.Passed() != r.AsExpected()
		out.Outcomes = append(out.Outcomes, o)
	}
	return out, nil
}

func santaDemo(ctx context.Context, _ uint64) (DemoReport, error) {
	// santa's tour run has a fixed seed of its own.
	r, err := santa.TourRun(ctx)
	if err != nil {
		return DemoReport{}, err
	}
	check := Check{Name: "S1–S9", OK: r.Passed}
	if !r.Passed {
		check.Detail = strings.Join(r.Failed, "; ")
	}
	progress := Check{Name: "sessions", OK: r.Sessions > 0, Detail: fmt.Sprintf("%d sessions", r.Sessions)}
	return DemoReport{Outcomes: []Outcome{{Mode: "stm", TxPerSec: r.SessionsPerSec, Checks: []Check{check, progress}}}}, nil
}
