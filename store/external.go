package store

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/ringproof/ringproof/conf"
)

// connect dials the external cluster at c.Endpoints, over TLS when c says
// so, and checks, with a read bounded by ctx, that it answers.
func (s *Store) connect(ctx context.Context, c conf.Store, zl *zap.Logger) error {
	timeout := defaultDialTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	tlsCfg, err := clientTLS(c)
	if err != nil {
		return err
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   c.Endpoints,
		Username:    c.Username,
		Password:    c.Password,
		TLS:         tlsCfg,
		DialOptions: serverName(c),
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

// clientTLS is the TLS configuration for the external cluster, or nil when
// c sets none (https:// endpoints then use the system's roots). The
// certificate and key are read again at every handshake, so renewing the
// files needs no restart.
func clientTLS(c conf.Store) (*tls.Config, error) {
	if !c.TLS() {
		return nil, nil
	}
	cfg, err := transport.TLSInfo{
		TrustedCAFile: c.TLSCAFile,
		CertFile:      c.TLSCertFile,
		KeyFile:       c.TLSKeyFile,
		ServerName:    c.TLSServerName,
	}.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("store: etcd TLS (tls_ca_file %q, tls_cert_file %q, tls_key_file %q): %w",
			c.TLSCAFile, c.TLSCertFile, c.TLSKeyFile, err)
	}
	return cfg, nil
}

// serverName makes gRPC check the members' certificates against
// c.TLSServerName: gRPC's TLS handshake takes the name from the
// connection's authority, never from tls.Config.ServerName.
func serverName(c conf.Store) []grpc.DialOption {
	if c.TLSServerName == "" {
		return nil
	}
	return []grpc.DialOption{grpc.WithAuthority(c.TLSServerName)}
}
