package hook

import (
	"testing"
	"unsafe"
)

type nopObserver struct{ name string }

func (nopObserver) Read(any, unsafe.Pointer, uint64, bool, any)    {}
func (nopObserver) Write(any, unsafe.Pointer, any)                 {}
func (nopObserver) Rollback(any, int)                              {}
func (nopObserver) Commuted(any, unsafe.Pointer, uint64, any, any) {}
func (nopObserver) Commit(any, uint64, uint64)                     {}
func (nopObserver) End(any, string)                                {}

func TestSetObserverReturnsPrevious(t *testing.T) {
	a, b := nopObserver{"a"}, nopObserver{"b"}
	if Current() != nil {
		t.Fatal("an observer is installed at start")
	}
	if old := SetObserver(a); old != nil {
		t.Fatalf("SetObserver returned %v, want nil", old)
	}
	if old := SetObserver(b); old != a {
		t.Fatalf("SetObserver returned %v, want a", old)
	}
	if Current() != b {
		t.Fatal("Current is not b")
	}
	if old := SetObserver(nil); old != b || Current() != nil {
		t.Fatal("removing the observer failed")
	}
}

func TestMutations(t *testing.T) {
	if prev := SetMutations(AcceptNewerReads | SkipRetryRevalidation); prev != 0 {
		t.Fatalf("mutations on at start: %b", prev)
	}
	if !On(AcceptNewerReads) || !On(SkipRetryRevalidation) || On(SkipReadValidation) || On(PublishBeforeLock) {
		t.Fatal("On disagrees with SetMutations")
	}
	if prev := SetMutations(0); prev != AcceptNewerReads|SkipRetryRevalidation {
		t.Fatalf("SetMutations returned %b", prev)
	}
	if On(AcceptNewerReads) {
		t.Fatal("mutation still on")
	}
}
