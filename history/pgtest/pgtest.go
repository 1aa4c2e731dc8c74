// Package pgtest runs a real PostgreSQL server for tests: Debian's
// postgresql package (installed by .ci/run), started on a temporary
// directory and a loopback port, as an unprivileged user when the tests run
// as root, since initdb and postgres refuse root. Tests get a database of
// their own in it.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Server is a running PostgreSQL server.
type Server struct {
	dir  string
	port int
	cmd  *exec.Cmd
	done chan error

	mu sync.Mutex
	n  int // databases made
}

// bin finds the directory of PostgreSQL's server programs, newest version
// first: Debian keeps them off PATH, in /usr/lib/postgresql/<v>/bin.
func bin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL's initdb not found (Debian package postgresql)")
}

func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// New starts a server for the test and stops it when the test ends. Without
// PostgreSQL installed it skips the test, or fails it when the environment
// variable CI is "true".
func New(t testing.TB) *Server {
	t.Helper()
	s, err := Start()
	if err != nil {
		if errors.Is(err, errMissing) && os.Getenv("CI") != "true" {
			t.Skipf("pgtest: %v", err)
		}
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

var errMissing = errors.New("PostgreSQL is not installed")

// Start starts a server; Close stops it and removes its files.
func Start() (*Server, error) {
	dir, err := bin()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errMissing, err)
	}
	base, err := os.MkdirTemp("", "ringproof-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: base, done: make(chan error, 1)}
	cred, err := credential(base)
	if err != nil {
		os.RemoveAll(base)
		return nil, err
	}
	data := filepath.Join(base, "data")
	initdb := exec.Command(filepath.Join(dir, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(base)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	for try := 0; try < 20; try++ {
		s.port = 20000 + rand.IntN(8000)
		if l, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))); err == nil {
			l.Close()
			break
		}
	}
	logf, err := os.Create(filepath.Join(base, "postgres.log"))
	if err != nil {
		os.RemoveAll(base)
		return nil, err
	}
	s.cmd = exec.Command(filepath.Join(dir, "postgres"), "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(s.port), "-k", base,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB")
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(base)
		return nil, fmt.Errorf("postgres: %w", err)
	}
	go func() { s.done <- s.cmd.Wait(); logf.Close() }()
	if err := s.waitReady(30 * time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(base, "postgres.log"))
		s.Close()
		return nil, fmt.Errorf("postgres did not start: %v\n%s", err, log)
	}
	return s, nil
}

// credential is the user to run PostgreSQL as: this process's own, or the
// postgres user (made by Debian's package) when running as root, in which
// case dir is handed to it.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the postgres user to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// waitReady waits until the server takes a connection.
func (s *Server) waitReady(limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	db, err := sql.Open("pgx", s.url("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	for {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		err = db.PingContext(pctx)
		pcancel()
		if err == nil {
			return nil
		}
		select {
		case exit := <-s.done:
			s.done <- exit
			return fmt.Errorf("exited: %v", exit)
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// Database makes a new, empty database and returns its URL.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	s.mu.Lock()
	s.n++
	name := fmt.Sprintf("t%d_%d", s.n, rand.IntN(1_000_000))
	s.mu.Unlock()
	db, err := sql.Open("pgx", s.url("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	return s.url(name)
}

// Close stops the server (fast shutdown, then SIGKILL after 10 s) and
// removes its files.
func (s *Server) Close() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	}
	os.RemoveAll(s.dir)
}

// URLFor returns the URL of database name on s (for tests that make their
// own).
func (s *Server) URLFor(name string) string { return s.url(strings.ToLower(name)) }
