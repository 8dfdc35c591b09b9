package bench

import (
	"testing"

	"go.uber.org/goleak"
)

// Every engine's Stop must end the goroutines it started (owners, partners);
// goleak fails the package if any is left after the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
