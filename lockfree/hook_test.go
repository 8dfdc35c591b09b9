package lockfree

import (
	"math/rand/v2"
	"runtime"
)

// Yield now and then at the algorithms' in-between points (see testHook),
// so that the concurrent tests see interleavings that two cores rarely
// produce on their own. Set before any test starts, so it is never raced.
func init() {
	testHook = func() {
		if rand.Uint32()%8 == 0 {
			runtime.Gosched()
		}
	}
}
