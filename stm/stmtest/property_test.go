package stmtest

import (
	"encoding/json"
	"testing"

	"github.com/leanovate/gopter"
)

func TestPropertyCleanEngine(t *testing.T) {
	cases := 200
	if testing.Short() {
		cases = 50
	}
	RunProperty(t, PropertyOptions{}, cases)
}

func gopterParams(t *testing.T) *gopter.GenParameters {
	p := gopter.DefaultGenParameters()
	p.Rng.Seed(Seed(t))
	return p
}

func mustJSON(w Workload) string {
	b, err := json.Marshal(w)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Replay reruns one workload from its printed form.
func TestReplay(t *testing.T) {
	res := Replay(t, MustParseWorkload(`{"vars":2,"goroutines":[[[{"op":"modify","arg":3},{"op":"set","var":1,"arg":7}]],[[{"op":"get"},{"op":"get","var":1}]]]}`))
	if payload(res.Final[0]) != 3 || payload(res.Final[1]) != 7 {
		t.Fatalf("final %v", res.Final)
	}
}
