package store

import (
	"context"
	"fmt"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/ringproof/ringproof/conf"
)

// connect dials the external cluster at c.Endpoints and checks, with a read
// bounded by ctx, that it answers.
func (s *Store) connect(ctx context.Context, c conf.Store, zl *zap.Logger) error {
	timeout := defaultDialTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   c.Endpoints,
		Username:    c.Username,
		Password:    c.Password,
		DialTimeout: timeout,
		Logger:      zl,
	})
	if err != nil {
		return s.unreachable(c.Endpoints, err)
	}
	s.cli = cli
	// A raw gRPC call, not cli.Get: clientv3 turns a deadline into a bare
	// "context deadline exceeded", dropping the dial error that says why.
	// WaitForReady: a cluster still starting gets until the deadline.
	_, err = pb.NewKVClient(cli.ActiveConnection()).Range(ctx,
		&pb.RangeRequest{Key: []byte(s.prefix), CountOnly: true}, grpc.WaitForReady(true))
	if err != nil {
		return s.unreachable(c.Endpoints, rpctypes.Error(err))
	}
	return nil
}

// unreachable explains a failed first contact with the cluster.
func (s *Store) unreachable(eps []string, err error) error {
	if isUnavailable(err) {
		return unavailablef(err, "store: no etcd endpoint reachable at %v", eps)
	}
	return fmt.Errorf("store: etcd at %v: %w", eps, err)
}
