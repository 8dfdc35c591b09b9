package lockfree_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"gostm.dev/lockfree"
)

func ExampleBucketMap() {
	m := lockfree.NewBucketMap[string, int]()
	m.Store("apples", 3)
	m.Store("pears", 5)

	v, ok := m.Load("apples")
	fmt.Println(v, ok)

	actual, loaded := m.LoadOrStore("pears", 100)
	fmt.Println(actual, loaded)

	prev, loaded := m.Swap("apples", 4)
	fmt.Println(prev, loaded)

	fmt.Println(m.CompareAndSwap("apples", 4, 10), m.CompareAndDelete("pears", 6))
	m.Delete("pears")
	fmt.Println(m.Len())
	// Output:
	// 3 true
	// 5 true
	// 3 true
	// true false
	// 1
}

func ExampleBucketMap_Compute() {
	m := lockfree.NewBucketMap[string, int]()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				m.Compute("hits", func(old int, loaded bool) (int, lockfree.ComputeOp) {
					return old + 1, lockfree.UpdateOp
				})
			}
		}()
	}
	wg.Wait()
	v, _ := m.Load("hits")
	fmt.Println(v)

	// DeleteOp removes the key; CancelOp leaves the map alone.
	_, ok := m.Compute("hits", func(int, bool) (int, lockfree.ComputeOp) { return 0, lockfree.DeleteOp })
	fmt.Println(ok, m.Len())
	// Output:
	// 4000
	// false 0
}

func ExampleBucketMap_LoadOrCompute() {
	m := lockfree.NewBucketMap[int, string]()
	v, loaded := m.LoadOrCompute(7, func() (string, bool) { return strings.Repeat("x", 3), false })
	fmt.Println(v, loaded)
	v, loaded = m.LoadOrCompute(7, func() (string, bool) { panic("not called: 7 is present") })
	fmt.Println(v, loaded)
	// Output:
	// xxx false
	// xxx true
}

func ExampleBucketMap_All() {
	m := lockfree.NewBucketMap[int, int]()
	for i := range 5 {
		m.Store(i, i*i)
	}
	var lines []string
	for k, v := range m.All() {
		lines = append(lines, fmt.Sprintf("%d=%d", k, v))
	}
	sort.Strings(lines) // iteration order is unspecified
	fmt.Println(lines)
	// Output: [0=0 1=1 2=4 3=9 4=16]
}

func ExampleCtrie_Snapshot() {
	m := lockfree.NewCtrie[string, int]()
	m.Store("a", 1)
	m.Store("b", 2)

	snap := m.Snapshot() // O(1), and independent of m from now on
	m.Store("a", 100)
	m.Delete("b")
	snap.Store("c", 3)

	show := func(c *lockfree.Ctrie[string, int]) []string {
		var s []string
		for k, v := range c.All() {
			s = append(s, fmt.Sprintf("%s=%d", k, v))
		}
		slices.Sort(s)
		return s
	}
	fmt.Println(show(m), m.Len())
	fmt.Println(show(snap), snap.Len())
	// Output:
	// [a=100] 1
	// [a=1 b=2 c=3] 3
}

func ExampleWithEqual() {
	// []byte is not comparable: CompareAndSwap needs an equality function.
	m := lockfree.NewSOList[string, []byte](lockfree.WithEqual(func(a, b []byte) bool {
		return string(a) == string(b)
	}))
	m.Store("k", []byte("old"))
	fmt.Println(m.CompareAndSwap("k", []byte("old"), []byte("new")))
	v, _ := m.Load("k")
	fmt.Println(string(v))
	// Output:
	// true
	// new
}

func ExampleMap() {
	// Every variant has the same method set, so code can take the interface.
	for _, m := range []lockfree.Map[string, int]{
		lockfree.NewBucketMap[string, int](),
		lockfree.NewCtrie[string, int](),
		lockfree.NewSOList[string, int](),
		lockfree.NewStripedMap[string, int](),
	} {
		m.Store("x", 1)
		v, _ := m.LoadOrStore("x", 2)
		fmt.Print(v, " ")
	}
	fmt.Println()
	// Output: 1 1 1 1
}
