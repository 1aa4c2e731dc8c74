package cluster

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ringproof/ringproof/cluster/etcdtest"
	"github.com/ringproof/ringproof/store/storetest"
)

func client(t *testing.T, endpoints []string) *clientv3.Client {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: storetest.ZapLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// waitCount waits until the registry counts n live nodes.
func waitCount(t *testing.T, counts <-chan int, n int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case c := <-counts:
			if c == n {
				return
			}
		case <-deadline:
			t.Fatalf("never saw %d nodes", n)
		}
	}
}

func TestNodesSeeEachOtherComeAndGo(t *testing.T) {
	t.Parallel()
	etcd := etcdtest.Start(t, 3)
	ctx := context.Background()
	a, err := Join(ctx, client(t, etcd.Endpoints()), "/t/", Node{ID: "a"}, 2*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	counts := make(chan int, 16)
	a.OnCount(func(n int) { counts <- n })
	left := make(chan string, 4)
	a.OnLeave(func(id string) { left <- id })

	bcli := client(t, etcd.Endpoints()[1:])
	b, err := Join(ctx, bcli, "/t/", Node{ID: "b"}, 2*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitCount(t, counts, 2)
	if got := a.Nodes(); len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" {
		t.Fatalf("nodes %v", got)
	}
	// b dies without leaving: its lease runs out and a hears of it.
	b.stop()
	<-b.done
	select {
	case id := <-left:
		if id != "b" {
			t.Fatalf("left %q", id)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a never noticed b's death")
	}
	waitCount(t, counts, 1)
}

func TestRegistrationSurvivesAMemberLoss(t *testing.T) {
	t.Parallel()
	etcd := etcdtest.Start(t, 3)
	a, err := Join(context.Background(), client(t, etcd.Endpoints()), "/t/", Node{ID: "a"}, 2*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	cli := client(t, etcd.Endpoints()[1:])
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	deleted := cli.Watch(ctx, "/t/nodes/a")
	etcd.Stop(0)
	// For three lease periods, a's registration must not lapse: its
	// keepalives reach the members still up.
	select {
	case wr := <-deleted:
		for _, ev := range wr.Events {
			if ev.Type == clientv3.EventTypeDelete {
				t.Fatal("a's registration lapsed with one member of three down")
			}
		}
	case <-time.After(6 * time.Second):
	}
	etcd.Restart(0)
	if len(a.Nodes()) != 1 {
		t.Fatalf("nodes %v", a.Nodes())
	}
}
