package etcdtest

import (
	"io"
	"net"
	"sync"
)

// proxy stands between a member and its clients, so that Stop can drop
// every client connection at once, as the death of the member's process
// would. (etcd's own Close ends them gracefully: it waits up to its request
// timeout, 7 s, for watch and keep-alive streams that never end by
// themselves.)
type proxy struct {
	ln     net.Listener
	target string // the member's client address

	mu    sync.Mutex
	up    bool
	conns map[net.Conn]struct{}
}

// newProxy listens on a free loopback port and forwards to target once
// resumed.
func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	return p, nil
}

// Addr is where clients connect.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

// forward joins a client to the member, or hangs up on it while the member
// is down.
func (p *proxy) forward(c net.Conn) {
	if !p.track(c) {
		return
	}
	m, err := net.Dial("tcp", p.target)
	if err != nil {
		p.drop(c)
		return
	}
	if !p.track(m) {
		p.drop(c)
		return
	}
	go func() {
		io.Copy(m, c)
		p.drop(m)
	}()
	io.Copy(c, m)
	p.drop(c)
}

// track records c, or closes it and returns false if the member is down.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.up {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) drop(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// resume forwards new connections again.
func (p *proxy) resume() {
	p.mu.Lock()
	p.up = true
	p.mu.Unlock()
}

// cut closes every connection and refuses new ones until resume.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = false
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// close stops the proxy for good.
func (p *proxy) close() {
	p.ln.Close()
	p.cut()
}
