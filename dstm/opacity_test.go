package dstm

import (
	"strconv"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// TestOpacityAgainstEtcdSTM replays, on both etcd's concurrency.NewSTM and
// dstm, the interleaving that makes etcd's STM show a state that never
// existed. A and X always sum to 100. The transaction reads A on its first
// attempt; a transfer of 10 from X to A then commits, so the first attempt
// fails to commit; a transfer back commits as the second attempt starts,
// and the second attempt reads X and then A. etcd's STM serves A from its
// conflict prefetch (the revision after the first transfer) and X from the
// latest revision (after the second): 60 + 50 = 110. dstm reads both at one
// revision: every attempt sees 100.
func TestOpacityAgainstEtcdSTM(t *testing.T) {
	c, key := testClient(t)
	ctx := testCtx(t)
	cli := shared.Client()
	keyA, keyX, keyW := key("A"), key("X"), key("W")
	reset := func() {
		_, err := cli.Txn(ctx).Then(clientv3.OpPut(keyA, "50"), clientv3.OpPut(keyX, "50"), clientv3.OpDelete(keyW)).Commit()
		must(t, err)
	}
	transfer := func(from, to string) { // 10 from one key to the other, outside any STM
		r, err := cli.Txn(ctx).Then(clientv3.OpGet(from), clientv3.OpGet(to)).Commit()
		must(t, err)
		f, _ := strconv.Atoi(string(r.Responses[0].GetResponseRange().Kvs[0].Value))
		g, _ := strconv.Atoi(string(r.Responses[1].GetResponseRange().Kvs[0].Value))
		_, err = cli.Txn(ctx).Then(clientv3.OpPut(from, strconv.Itoa(f-10)), clientv3.OpPut(to, strconv.Itoa(g+10))).Commit()
		must(t, err)
	}

	// etcd's STM.
	reset()
	var etcdSums []int
	attempt := 0
	_, err := concurrency.NewSTM(cli, func(s concurrency.STM) error {
		attempt++
		switch attempt {
		case 1:
			a, _ := strconv.Atoi(s.Get(keyA))
			transfer(keyX, keyA) // commits before this attempt's commit
			s.Put(keyW, strconv.Itoa(a))
		case 2:
			transfer(keyA, keyX) // commits as the second attempt starts
			fallthrough
		default:
			x, _ := strconv.Atoi(s.Get(keyX))
			a, _ := strconv.Atoi(s.Get(keyA))
			etcdSums = append(etcdSums, a+x)
			s.Put(keyW, strconv.Itoa(a+x))
		}
		return nil
	}, concurrency.WithAbortContext(ctx))
	must(t, err)
	t.Logf("etcd concurrency.NewSTM: sums seen by attempts 2..%d: %v", attempt, etcdSums)
	if len(etcdSums) == 0 || etcdSums[0] != 110 {
		t.Errorf("etcd's STM saw %v, not the 110 this interleaving used to show: the control no longer demonstrates the defect", etcdSums)
	}

	// dstm, same interleaving.
	reset()
	A, X, W := NewVar(keyA, 0), NewVar(keyX, 0), NewVar(keyW, 0)
	var sums []int
	attempt = 0
	must(t, Atomically(ctx, c, func(tx *Tx) error {
		attempt++
		switch attempt {
		case 1:
			a := A.Get(tx)
			transfer(keyX, keyA)
			W.Set(tx, a)
		case 2:
			transfer(keyA, keyX)
			fallthrough
		default:
			x, a := X.Get(tx), A.Get(tx)
			sums = append(sums, a+x)
			W.Set(tx, a+x)
		}
		return nil
	}))
	t.Logf("dstm: sums seen by attempts 2..%d: %v", attempt, sums)
	for _, s := range sums {
		if s != 100 {
			t.Fatalf("dstm: an attempt saw A+X = %d, a state that never existed (sums %v)", s, sums)
		}
	}
	if len(sums) < 2 {
		t.Fatalf("dstm ran %d attempts; the interleaving needs the second to conflict too", attempt)
	}
}
