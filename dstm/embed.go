package dstm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// EmbedConfig configures StartEmbedded. The zero value starts a member in a
// fresh temporary directory, removed by Close.
type EmbedConfig struct {
	// Dir is the data directory. Empty means a new temporary directory that
	// Close removes; a given directory is kept, and a member started on it
	// again finds its data.
	Dir string
	// MaxTxnOps is the server's --max-txn-ops (default 4096: a commit that
	// read all of a 1024-account bank, and room to spare).
	MaxTxnOps int
	// KeepRevisions is how many revisions automatic compaction keeps
	// (default 100000). A transaction whose snapshot falls out of them
	// restarts on a fresh one.
	KeepRevisions int
	// NoFsync turns off fsync: faster, and fine for tests, but a crash of
	// the machine may lose commits that were reported.
	NoFsync bool
	// Logger receives the server's log (default: none).
	Logger *zap.Logger
}

// Embedded is a single-member etcd running inside the process.
type Embedded struct {
	etcd      *embed.Etcd
	client    *clientv3.Client
	endpoints []string
	dir       string
	removeDir bool
	maxTxnOps int
}

// StartEmbedded starts a single-member etcd in the process, listening on
// 127.0.0.1 on free ports, with short election timings (10ms heartbeat,
// 100ms election timeout: a single member elects itself at once) and
// automatic compaction, and returns once it serves requests. Close stops it.
func StartEmbedded(ctx context.Context, cfg EmbedConfig) (*Embedded, error) {
	if cfg.MaxTxnOps < 0 || cfg.KeepRevisions < 0 {
		return nil, fmt.Errorf("dstm: EmbedConfig{MaxTxnOps: %d, KeepRevisions: %d}: must not be negative", cfg.MaxTxnOps, cfg.KeepRevisions)
	}
	if cfg.MaxTxnOps == 0 {
		cfg.MaxTxnOps = 4096
	}
	if cfg.KeepRevisions == 0 {
		cfg.KeepRevisions = 100_000
	}
	e := &Embedded{dir: cfg.Dir, maxTxnOps: cfg.MaxTxnOps}
	if e.dir == "" {
		d, err := os.MkdirTemp("", "dstm-etcd-*")
		if err != nil {
			return nil, fmt.Errorf("dstm: making a data directory for the embedded etcd: %w", err)
		}
		e.dir, e.removeDir = d, true
	}
	// A free port can be taken by someone else between our probe and the
	// server's listen: try again with new ports a few times.
	var err error
	for range 3 {
		var ports []int
		if ports, err = FreePorts(2); err != nil {
			break
		}
		m := MemberConfig{Name: "dstm", Dir: e.dir, ClientPort: ports[0], PeerPort: ports[1],
			MaxTxnOps: cfg.MaxTxnOps, KeepRevisions: cfg.KeepRevisions, NoFsync: cfg.NoFsync, Logger: cfg.Logger}
		m.InitialCluster = m.Name + "=" + m.PeerURL()
		e.etcd, err = StartMember(ctx, m)
		if err == nil {
			e.endpoints = []string{m.ClientURL()}
			break
		}
	}
	if err != nil {
		e.removeData()
		return nil, err
	}
	e.client, err = Dial(ctx, e.endpoints)
	if err != nil {
		e.etcd.Close()
		e.removeData()
		return nil, err
	}
	return e, nil
}

// Client returns a client connected to the member; Close closes it.
func (e *Embedded) Client() *clientv3.Client { return e.client }

// Endpoints returns the member's client URL, for other processes to Dial.
func (e *Embedded) Endpoints() []string { return e.endpoints }

// Dir returns the member's data directory.
func (e *Embedded) Dir() string { return e.dir }

// Options returns the Client options that match the member's settings
// (its max-txn-ops).
func (e *Embedded) Options() []Option { return []Option{WithMaxTxnOps(e.maxTxnOps)} }

// Close closes the client, stops the member and removes a temporary data
// directory.
func (e *Embedded) Close() error {
	err := e.client.Close()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	e.etcd.Close()
	if rerr := e.removeData(); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

func (e *Embedded) removeData() error {
	if !e.removeDir {
		return nil
	}
	return os.RemoveAll(e.dir)
}

// MemberConfig describes one member of an in-process cluster, for
// StartMember: tests and demos start multi-member clusters with it.
type MemberConfig struct {
	Name                 string
	Dir                  string
	ClientPort, PeerPort int // on 127.0.0.1
	// InitialCluster lists every member as name=peerURL, comma-separated.
	InitialCluster string
	// Existing joins (or rejoins) a cluster instead of bootstrapping one.
	Existing      bool
	MaxTxnOps     int // default 4096
	KeepRevisions int // default 100000
	NoFsync       bool
	Logger        *zap.Logger // default: none
}

// ClientURL returns the member's client URL.
func (m MemberConfig) ClientURL() string { return "http://127.0.0.1:" + strconv.Itoa(m.ClientPort) }

// PeerURL returns the member's peer URL.
func (m MemberConfig) PeerURL() string { return "http://127.0.0.1:" + strconv.Itoa(m.PeerPort) }

// StartMember starts one etcd member in the process and waits until it is
// ready to serve (for a member of a new multi-member cluster: until a
// leader is elected, which needs a quorum of members started) or ctx ends.
func StartMember(ctx context.Context, m MemberConfig) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = m.Name
	cfg.Dir = m.Dir
	cu, _ := url.Parse(m.ClientURL())
	pu, _ := url.Parse(m.PeerURL())
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = m.InitialCluster
	cfg.InitialClusterToken = "dstm"
	if m.Existing {
		cfg.ClusterState = embed.ClusterStateFlagExisting
	}
	cfg.TickMs, cfg.ElectionMs = 10, 100
	cfg.MaxTxnOps = uint(orDefault(m.MaxTxnOps, 4096))
	cfg.AutoCompactionMode = "revision"
	cfg.AutoCompactionRetention = strconv.Itoa(orDefault(m.KeepRevisions, 100_000))
	cfg.UnsafeNoFsync = m.NoFsync
	lg := m.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("dstm: starting etcd member %q (client %s, peer %s, data %s): %w", m.Name, m.ClientURL(), m.PeerURL(), m.Dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("dstm: etcd member %q failed while starting: %w", m.Name, err)
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("dstm: etcd member %q not ready: %w", m.Name, ctx.Err())
	}
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// FreePorts returns n TCP ports on 127.0.0.1 that were free a moment ago.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("dstm: finding a free port on 127.0.0.1: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Dial connects to an etcd cluster's client endpoints (URLs such as
// http://10.0.0.1:2379) with the client's log turned off, and checks that
// the cluster answers before ctx ends.
func Dial(ctx context.Context, endpoints []string) (*clientv3.Client, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("dstm: Dial needs at least one endpoint (an etcd client URL such as http://127.0.0.1:2379)")
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		DialKeepAliveTime: 5 * time.Second, DialKeepAliveTimeout: 2 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("dstm: connecting to etcd at %v: %w", endpoints, err)
	}
	if _, err := cli.Get(ctx, "dstm/ping"); err != nil {
		cli.Close()
		return nil, fmt.Errorf("dstm: etcd at %v does not answer: %w", endpoints, err)
	}
	return cli, nil
}
