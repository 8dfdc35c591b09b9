package lockfree

import (
	"math/bits"
	"math/rand/v2"
	"testing"
	"time"
)

// TestMixDifferentialBias checks that mix64's low 8 bits (the bucket index
// of a 256-bucket table, and the low part of every larger one) do not let
// two keys, or two seeds, that differ in a few bits share a bucket more
// often than chance. For each of several seeds and each difference d of 1,
// 2 or 3 set bits (all single bits, then pairs and triples sampled at
// random positions, plus differences that defeated the earlier one-round
// mixer), it counts how many of n random x have
// mix64(x, seed) and mix64(x^d, seed) equal in their low 8 bits; and the
// same for mix64(x, seed) against mix64(x, seed^d).
//
// The threshold. If the low bytes behaved as independent uniform values,
// the count would be Binomial(n, 1/256): with n = 2^14, mean μ = 64 and
// standard deviation about 8. The test fails at 2μ = 128 or more, 8
// standard deviations up. By the Chernoff bound, P(X ≥ 2μ) ≤ (e/4)^μ =
// e^(-0.386·64) < 2·10^-11 for one count; this test makes at most about
// 25,000 counts, so a correct mixer fails it with probability below 10^-6.
// A difference that collides at 3× the expected rate (μ' = 192) stays below
// 128 with probability at most e^(-μ'·(1/3)²/2) < 3·10^-5, so a real bias
// of that size is found. The one-round mixer (hi^lo of (x^seed)·C) that
// mix64 replaced failed with hundreds of differences at over 3×, the worst
// above 100× (0x130000: 12% of keys, 32×, for any seed).
func TestMixDifferentialBias(t *testing.T) {
	t.Parallel()
	checkDifferentialBias(t, false)
}

// oneRoundMix is the mixer mix64 replaced; TestOneRoundMixIsBiased keeps
// the differential test honest by showing that it catches it.
func oneRoundMix(x, seed uint64) uint64 {
	hi, lo := bits.Mul64(x^seed, 0xa0761d6478bd642f)
	return hi ^ lo
}

func TestOneRoundMixIsBiased(t *testing.T) {
	t.Parallel()
	r := &recorder{name: t.Name()}
	checkDifferentialBias(r, true)
	if !r.Failed() {
		t.Fatal("the differential-bias test passes the one-round mixer, which it must reject")
	}
	t.Logf("rejected as expected: %s %s", r.errs[0], r.errs[len(r.errs)-1])
	for _, l := range r.logs {
		t.Logf("%s", l)
	}
}

// checkDifferentialBias runs the check on mix64, or with oneRound on
// oneRoundMix.
func checkDifferentialBias(t tester, oneRound bool) {
	t.Helper()
	const (
		n         = 1 << 14
		threshold = 2 * n / 256
		seeds     = 4
	)
	rng := rand.New(rand.NewPCG(uint64(testSeed(t)), 0))
	pairs, triples := 128, 128
	if longMode {
		pairs, triples = 2016, 1024 // every pair of bit positions
	}
	deltas := []uint64{0x130000, 0x8000008000000}
	for i := range 64 {
		deltas = append(deltas, 1<<i)
	}
	if pairs >= 2016 {
		for i := range 64 {
			for j := i + 1; j < 64; j++ {
				deltas = append(deltas, 1<<i|1<<j)
			}
		}
	} else {
		for range pairs {
			deltas = append(deltas, randomBits(rng, 2))
		}
	}
	for range triples {
		deltas = append(deltas, randomBits(rng, 3))
	}
	bad, worst, worstWhat := 0, 0, ""
	report := func(what string, seed, d uint64, same int) {
		if same > worst {
			worst, worstWhat = same, what
		}
		if same >= threshold {
			if bad++; bad <= 5 {
				t.Errorf("seed %#x, %s difference %#x: %d of %d pairs share their low 8 bits (%.1f× the %d expected; limit %d)",
					seed, what, d, same, n, float64(same)/(n/256), n/256, threshold)
			}
		}
	}
	x := xorshift(rng.Uint64() | 1)
	for range seeds {
		seed := rng.Uint64() | 1 // as newKeyHasher makes them
		for _, d := range deltas {
			report("key", seed, d, countShared(&x, n, seed, d, 0, oneRound))
			if d&1 == 0 { // a seed's low bit is always set
				report("seed", seed, d, countShared(&x, n, seed, 0, d, oneRound))
			}
		}
	}
	if bad > 5 {
		t.Errorf("... %d differences over the limit in all", bad)
	}
	t.Logf("%d differences × %d seeds, %d samples each; worst: %d shared (%.2f× expected, %s difference)",
		len(deltas), seeds, n, worst, float64(worst)/(n/256), worstWhat)
}

// countShared counts how many of n random x give mix(x, seed) and
// mix(x^dx, seed^ds) the same low 8 bits. It is pure arithmetic, so it is
// not compiled for the race detector, which would make the test 15 times
// slower and find nothing: CI runs every test under -race.
//
//go:norace
func countShared(x *xorshift, n int, seed, dx, ds uint64, oneRound bool) int {
	same := 0
	for range n {
		v := x.next()
		var a, b uint64
		if oneRound {
			a, b = oneRoundMix(v, seed), oneRoundMix(v^dx, seed^ds)
		} else {
			a, b = mix64(v, seed), mix64(v^dx, seed^ds)
		}
		if (a^b)&0xff == 0 {
			same++
		}
	}
	return same
}

// randomBits returns a word with k distinct random bits set.
func randomBits(rng *rand.Rand, k int) uint64 {
	var d uint64
	for bits.OnesCount64(d) < k {
		d |= 1 << rng.IntN(64)
	}
	return d
}

// BenchmarkMix measures mix64 against the one-round mixer it replaced, in
// alternating rounds of 1<<20 hashes of consecutive keys in one process (a
// shared machine disturbs both alike): new-ns/op and old-ns/op are the
// medians of the rounds' times per hash, new/old their ratio. The extra
// round is on every integer-keyed operation's path; BenchmarkPaired and
// BenchmarkLoad show what it costs a Load.
func BenchmarkMix(b *testing.B) {
	const n = 1 << 20
	var ns [2][]float64
	sink := uint64(0)
	seed := uint64(0x2545f4914f6cdd1d)
	for round := 0; b.Loop(); round++ {
		for j := range 2 {
			i := (round + j) % 2
			t0 := time.Now()
			if i == 0 {
				for x := range uint64(n) {
					sink += mix64(x, seed)
				}
			} else {
				for x := range uint64(n) {
					sink += oneRoundMix(x, seed)
				}
			}
			ns[i] = append(ns[i], float64(time.Since(t0).Nanoseconds())/n)
		}
	}
	mixSink = sink
	b.ReportMetric(median(ns[0]), "new-ns/op")
	b.ReportMetric(median(ns[1]), "old-ns/op")
	b.ReportMetric(median(ns[0])/median(ns[1]), "new/old")
}

var mixSink uint64
