package dstm

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// thirdParty lists the packages outside the standard library and gostm.dev
// that importing pkgs pulls in.
func thirdParty(t *testing.T, pkgs ...string) []string {
	t.Helper()
	gocmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	args := append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, pkgs...)
	out, err := exec.Command(gocmd, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var third []string
	for _, p := range strings.Fields(string(out)) {
		if p != "gostm.dev" && !strings.HasPrefix(p, "gostm.dev/") {
			third = append(third, p)
		}
	}
	return third
}

// TestCoreImportsNoThirdParty: dstm brought etcd into the module, but
// importing the in-memory packages must still pull in nothing outside the
// standard library. dstm itself is the control: it must show up as
// pulling etcd in, or the check sees nothing.
func TestCoreImportsNoThirdParty(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	if third := thirdParty(t, "gostm.dev/stm", "gostm.dev/tvar", "gostm.dev/lockfree"); len(third) > 0 {
		t.Fatalf("importing gostm.dev/stm, tvar or lockfree pulls in %d third-party packages: %v", len(third), third)
	}
	third := thirdParty(t, "gostm.dev/dstm")
	if !strings.Contains(strings.Join(third, " "), "go.etcd.io/etcd/client/v3") {
		t.Fatalf("the control failed: go list -deps gostm.dev/dstm shows no etcd client, only %v", third)
	}
}
