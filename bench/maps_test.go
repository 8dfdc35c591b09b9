package bench

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// swappedMap is a broken map: it stores each value under the next key, as
// a bucket index mix-up would.
type swappedMap struct{ lockedMapAdapter }

func (m *swappedMap) store(k, v int) { m.lockedMapAdapter.store(k+1, v) }

// miscountedMap reports one entry more than it holds.
type miscountedMap struct{ lockedMapAdapter }

func (m *miscountedMap) entries(f func(k, v int)) int { return m.lockedMapAdapter.entries(f) + 1 }

func runMapInstance(t *testing.T, m kvMap) error {
	t.Helper()
	inst, err := newMapInstance(Setup{Goroutines: 1, Params: Params{"keys": 64, "loads": 50}, Seed: 1}, m)
	if err != nil {
		t.Fatal(err)
	}
	op := inst.Worker(0, rand.New(rand.NewPCG(3, 4)))
	for range 2000 {
		op()
	}
	inst.Stop()
	return inst.Check()
}

func TestMapChecksCatchBrokenMaps(t *testing.T) {
	if err := runMapInstance(t, &lockedMapAdapter{m: map[int]int{}}); err != nil {
		t.Fatalf("a correct map failed its check: %v", err)
	}
	if err := runMapInstance(t, &swappedMap{lockedMapAdapter{m: map[int]int{}}}); err == nil || !strings.Contains(err.Error(), "another key") {
		t.Errorf("values stored under the wrong key: got %v", err)
	}
	if err := runMapInstance(t, &miscountedMap{lockedMapAdapter{m: map[int]int{}}}); err == nil || !strings.Contains(err.Error(), "Len") {
		t.Errorf("a wrong Len: got %v", err)
	}
}
