package txcheck

import (
	"fmt"
	"go/ast"
	"go/types"
	"path"
	"strings"
)

// category says how far a denied operation is followed through calls.
type category uint8

const (
	// catIO is I/O, sleeping, goroutines and channel operations: effects
	// that are visible outside the process or to other goroutines. They
	// are followed through calls in every package (by analysis facts).
	catIO category = iota
	// catSync is locking and the other sync primitives. They are reported
	// in bodies and through calls of this package's functions, but not
	// through other packages, where a mutex is usually an implementation
	// detail held for a moment (math/rand, time.LoadLocation, ...).
	catSync
)

type denyEntry struct {
	pattern string
	cat     category
}

// defaultDeny is the built-in deny-list. Patterns name a package (every
// function and method in it), PKG.Func or PKG.Type.Method; * matches any
// run of characters. Interface methods count: net.Conn.* is any call of a
// net.Conn method.
var defaultDeny = []denyEntry{
	{"os", catIO},
	{"os/exec.Cmd.*", catIO},
	{"os/exec.LookPath", catIO},
	{"net.Dial*", catIO},
	{"net.Listen*", catIO},
	{"net.Lookup*", catIO},
	{"net.Conn.*", catIO},
	{"net.*Conn.*", catIO},
	{"net.Listener.*", catIO},
	{"net.*Listener.*", catIO},
	{"net.Resolver.*", catIO},
	{"net/http.Get", catIO},
	{"net/http.Head", catIO},
	{"net/http.Post*", catIO},
	{"net/http.Client.*", catIO},
	{"net/http.ResponseWriter.*", catIO},
	{"net/http.RoundTripper.*", catIO},
	{"net/http.Transport.RoundTrip", catIO},
	{"net/http.ListenAndServe*", catIO},
	{"net/http.Serve*", catIO},
	{"net/http.Server.*", catIO},
	{"net/http.Error", catIO},
	{"net/http.NotFound", catIO},
	{"net/http.Redirect", catIO},
	{"fmt.Print*", catIO},
	{"fmt.Scan*", catIO},
	{"log", catIO},
	{"log/slog.Debug*", catIO},
	{"log/slog.Info*", catIO},
	{"log/slog.Warn*", catIO},
	{"log/slog.Error*", catIO},
	{"log/slog.Log*", catIO},
	{"log/slog.Logger.Debug*", catIO},
	{"log/slog.Logger.Info*", catIO},
	{"log/slog.Logger.Warn*", catIO},
	{"log/slog.Logger.Error*", catIO},
	{"log/slog.Logger.Log*", catIO},
	{"log/slog.Handler.Handle", catIO},
	{"time.Sleep", catIO},
	{"sync.Mutex.*", catSync},
	{"sync.RWMutex.*", catSync},
	{"sync.WaitGroup.*", catSync},
	{"sync.Once.*", catSync},
	{"sync.Cond.*", catSync},
	{"sync.Locker.*", catSync},
}

// defaultAllow holds functions of denied packages that do no I/O.
var defaultAllow = []string{
	"os.Getenv", "os.LookupEnv", "os.Environ", "os.Expand*",
	"os.Is*", "os.Getpid", "os.Getppid", "os.Getuid", "os.Geteuid",
	"os.Getgid", "os.Getegid", "os.Getpagesize", "os.NewSyscallError",
	"os.SameFile", "os.File.Name", "os.File.Fd", "os.Signal.*",
	"os.ProcessState.*", "os.Err*",
	"log.New", "log.Default", "log.Flags", "log.Prefix", "log.Writer",
	"log.Logger.Flags", "log.Logger.Prefix", "log.Logger.Writer",
	"log.Logger.SetPrefix", "log.Logger.SetFlags",
}

// streamFuncs do I/O when one of the listed arguments (a writer or a
// reader) is a file, a connection or an HTTP response: a static type from
// one of ioTypePackages. Writing into a bytes.Buffer or strings.Builder is
// fine, and an io.Writer of unknown dynamic type is given the benefit of
// the doubt.
var streamFuncs = map[string][]int{
	"fmt.Fprint": {0}, "fmt.Fprintf": {0}, "fmt.Fprintln": {0},
	"fmt.Fscan": {0}, "fmt.Fscanf": {0}, "fmt.Fscanln": {0},
	"io.WriteString": {0}, "io.Copy": {0, 1}, "io.CopyN": {0, 1}, "io.CopyBuffer": {0, 1},
	"io.ReadAll": {0}, "io.ReadFull": {0}, "io.ReadAtLeast": {0},
}

var ioTypePackages = map[string]bool{"os": true, "net": true, "net/http": true}

// denyList decides which calls a body must not make.
type denyList struct {
	deny  []denyEntry
	allow []string
}

func newDenyList(deny, allow []string) *denyList {
	d := &denyList{deny: append([]denyEntry(nil), defaultDeny...), allow: append(append([]string(nil), defaultAllow...), allow...)}
	for _, p := range deny {
		d.deny = append(d.deny, denyEntry{p, catIO})
	}
	return d
}

// checkPattern says what is wrong with a -deny or -allow pattern.
func checkPattern(p string) error {
	if strings.ContainsAny(p, " \t()") {
		return fmt.Errorf("bad pattern %q: write PKG, PKG.Func or PKG.Type.Method (an import path, then names; no spaces, parentheses or *T receivers)", p)
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("bad pattern %q: %v", p, err)
	}
	return nil
}

// qualified splits fn into its package path and its name within the
// package: Func or Type.Method.
func qualified(fn *types.Func) (pkg, name string) {
	if fn.Pkg() == nil {
		return "", fn.Name()
	}
	name = fn.Name()
	if recv := fn.Signature().Recv(); recv != nil {
		t := recv.Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := types.Unalias(t).(*types.Named); ok {
			name = n.Obj().Name() + "." + name
		}
	}
	return fn.Pkg().Path(), name
}

func patternMatches(p, pkg, name string) bool {
	if p == pkg {
		return true
	}
	rest, ok := strings.CutPrefix(p, pkg+".")
	if !ok {
		return false
	}
	m, _ := path.Match(rest, name)
	return m
}

// allowed reports whether fn is on the allow-list.
func (d *denyList) allowed(fn *types.Func) bool {
	pkg, name := qualified(fn)
	for _, p := range d.allow {
		if patternMatches(p, pkg, name) {
			return true
		}
	}
	return false
}

// denied reports whether calling fn is denied in a body, and in which
// category. Stream functions are judged by their arguments (see
// streamFuncs), so the call is needed too.
func (c *checker) denied(fn *types.Func, call *ast.CallExpr) (category, bool) {
	if c.deny.allowed(fn) {
		return 0, false
	}
	pkg, name := qualified(fn)
	if args, ok := streamFuncs[pkg+"."+name]; ok {
		for _, i := range args {
			if i < len(call.Args) && isIOType(c.pass.TypesInfo.TypeOf(call.Args[i])) {
				return catIO, true
			}
		}
		return 0, false
	}
	for _, e := range c.deny.deny {
		if patternMatches(e.pattern, pkg, name) {
			return e.cat, true
		}
	}
	return 0, false
}

// isIOType reports whether t (or what it points to) is a named type of a
// package whose types are files, connections or HTTP responses.
func isIOType(t types.Type) bool {
	if t == nil {
		return false
	}
	if p, ok := types.Unalias(t).(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && ioTypePackages[n.Obj().Pkg().Path()]
}
