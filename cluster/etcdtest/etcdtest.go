// Package etcdtest runs a real multi-member etcd cluster inside a test
// process, on loopback ports, so that cluster tests need nothing installed.
// Members can be stopped, as a crash would stop them, and restarted to test
// failures.
package etcdtest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"

	"github.com/ringproof/ringproof/store/storetest"
)

// Cluster is an etcd cluster of in-process members.
type Cluster struct {
	t       testing.TB
	mu      sync.Mutex
	members []*member
	initial string
}

type member struct {
	name         string
	dir          string
	client, peer url.URL
	proxy        *proxy // what clients connect to
	etcd         *embed.Etcd
}

// Start starts an n-member cluster and waits until it has a leader. The
// members stop when the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	var initial []string
	for i := range n {
		m := &member{
			name:   fmt.Sprintf("m%d", i),
			dir:    filepath.Join(t.TempDir(), fmt.Sprintf("m%d", i)),
			client: url.URL{Scheme: "http", Host: freeAddr(t)},
			peer:   url.URL{Scheme: "http", Host: freeAddr(t)},
		}
		p, err := newProxy(m.client.Host)
		if err != nil {
			c.Close()
			t.Fatalf("etcdtest: %v", err)
		}
		m.proxy = p
		c.members = append(c.members, m)
		initial = append(initial, m.name+"="+m.peer.String())
	}
	c.initial = strings.Join(initial, ",")
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.startMember(i, "new")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.Close()
			t.Fatalf("etcdtest: %v", err)
		}
	}
	t.Cleanup(c.Close)
	return c
}

func (c *Cluster) startMember(i int, state string) error {
	m := c.members[i]
	cfg := embed.NewConfig()
	cfg.Name = m.name
	cfg.Dir = m.dir
	cfg.ListenClientUrls = []url.URL{m.client}
	cfg.AdvertiseClientUrls = []url.URL{{Scheme: "http", Host: m.proxy.Addr()}}
	cfg.ListenPeerUrls = []url.URL{m.peer}
	cfg.AdvertisePeerUrls = []url.URL{m.peer}
	cfg.InitialCluster = c.initial
	cfg.ClusterState = state
	cfg.InitialClusterToken = "ringproof-test"
	// Warnings and errors go to the test's output, shown if it fails:
	// stopping members on purpose makes their peers complain.
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(storetest.ZapLogger(c.t))
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("member %s: %w", m.name, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Close()
		return fmt.Errorf("member %s: not ready in 30 s", m.name)
	}
	c.mu.Lock()
	m.etcd = e
	c.mu.Unlock()
	m.proxy.resume()
	return nil
}

// Endpoints are the client URLs of every member, running or not.
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, m := range c.members {
		out = append(out, "http://"+m.proxy.Addr())
	}
	return out
}

// Stop stops member i as a crash would: its clients lose their connections
// at once and its peers lose it without a leadership hand-over. Its data
// stays.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	m := c.members[i]
	e := m.etcd
	m.etcd = nil
	c.mu.Unlock()
	m.proxy.cut()
	if e != nil {
		e.Server.HardStop()
		e.Close()
	}
}

// Restart starts a stopped member i again on its data.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if err := c.startMember(i, "existing"); err != nil {
		c.t.Fatalf("etcdtest: restart: %v", err)
	}
}

// Close stops every member.
func (c *Cluster) Close() {
	for i, m := range c.members {
		c.Stop(i)
		m.proxy.close()
	}
}

// freeAddr returns a loopback host:port free at the time of the call. A
// member's ports are bound again on every restart, so they are taken where
// nothing else on the machine takes ports by itself: a random address of
// 127.0.0.0/8 other than 127.0.0.1, and a port below the kernel's
// ephemeral range (32768 and up), which outgoing connections and ":0"
// listeners of other tests running at the same time draw from.
func freeAddr(t testing.TB) string {
	for range 100 {
		addr := fmt.Sprintf("127.%d.%d.%d:%d", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254), 20000+rand.IntN(12000))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		l.Close()
		return addr
	}
	t.Fatal("etcdtest: no free loopback address found")
	return ""
}
