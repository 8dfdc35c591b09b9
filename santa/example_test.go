package santa_test

import (
	"fmt"
	"slices"

	"gostm.dev/santa"
	"gostm.dev/stm"
)

// Two elves visit Santa together: they join a group, Santa takes the full
// group and operates its gates, and each gate holds everyone until all
// have passed.
func Example() {
	elves := santa.NewGroup(2)
	done := make(chan string)
	for _, name := range []string{"elf-1", "elf-2"} {
		go func() {
			t := elves.Join()
			t.In.Pass() // wait to be shown in
			t.Out.Pass()
			done <- fmt.Sprintf("%s (slot %d of generation %d)", name, t.Slot, t.Gen)
		}()
	}
	b := stm.Eval(func(tx *stm.Tx) santa.Batch { return elves.Await(tx) })
	fmt.Println("Santa takes generation", b.Gen)
	b.In.Operate() // returns once both are in
	fmt.Println("both elves are in")
	b.Out.Operate()
	fmt.Println("both elves are out")
	left := []string{<-done, <-done}
	slices.Sort(left)
	fmt.Println(left[0][:5], left[1][:5])
	// Output:
	// Santa takes generation 1
	// both elves are in
	// both elves are out
	// elf-1 elf-2
}

// Choose takes the reindeer when both groups are full, because they are
// OrElse's first alternative; the elves are still waiting afterwards.
func ExampleChoose() {
	reindeer, elves := santa.NewGroup(2), santa.NewGroup(1)
	elves.Join()
	reindeer.Join()
	reindeer.Join()
	next := func() string {
		return stm.Eval(func(tx *stm.Tx) string {
			i, b := santa.Choose(tx, reindeer, elves)
			return fmt.Sprintf("%s generation %d", []string{"reindeer", "elves"}[i], b.Gen)
		})
	}
	fmt.Println(next())
	fmt.Println(next())
	// Output:
	// reindeer generation 1
	// elves generation 1
}
