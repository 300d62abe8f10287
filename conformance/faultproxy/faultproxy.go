// Package faultproxy is a TCP proxy in front of a PostgreSQL server that
// breaks a client's request at an exact point of the wire protocol: it drops
// the request before the server sees it, cuts the connection after the
// server got it, cuts it after the statement's answer but before COMMIT's,
// or stops forwarding (a stalled network or backend). The conformance
// suite's fault tests (DB-FAULT-1) use it; it needs no privileges, unlike
// iptables or netem.
//
// The proxy reads the protocol's messages in both directions (it needs
// sslmode=disable, so the bytes are plain), and forwards the client's
// messages in batches: everything up to a message the client waits after
// (Sync, Flush, a simple Query, Terminate, a password or COPY message). A
// request is a batch that holds an Execute: a pipelined request (BEGIN, the
// preamble, the statement, COMMIT, Sync) is one batch, while the
// statement descriptions a client asks for first (Parse, Describe, Sync)
// are not requests.
package faultproxy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// Fault is what the proxy does to the next request once armed (Arm).
type Fault int

const (
	// None forwards everything.
	None Fault = iota
	// CutBeforeWrite drops the request and closes both sides: nothing of
	// it reaches the server.
	CutBeforeWrite
	// CutAfterWrite forwards the request and closes both sides at once,
	// before the client gets any answer: the server has the whole request
	// (COMMIT included) and may run it.
	CutAfterWrite
	// CutBeforeCommitAnswer forwards the request and the server's answers
	// up to COMMIT's CommandComplete, which it drops, and closes both sides:
	// the server committed, the client saw the statement's answer but not
	// COMMIT's. When the request fails before COMMIT (no CommandComplete
	// COMMIT comes) it cuts at ReadyForQuery instead.
	CutBeforeCommitAnswer
	// StallBeforeWrite holds the request and forwards nothing more on that
	// connection until Close.
	StallBeforeWrite
	// StallAfterWrite forwards the request and then nothing more on that
	// connection (the answers included) until Close.
	StallAfterWrite
	// Pass forwards the request unchanged: with ArmThen, it tells a test
	// the moment a request goes on the wire.
	Pass
)

func (f Fault) String() string {
	return [...]string{"none", "cut before the write", "cut after the write", "cut before COMMIT's answer", "stall before the write", "stall after the write", "pass"}[f]
}

// Proxy forwards connections to a server, breaking requests as armed.
type Proxy struct {
	l      net.Listener
	target string

	mu      sync.Mutex
	armed   Fault
	onFire  func()
	conns   map[*conn]struct{}
	stalled bool          // StallAll: forward nothing from now on
	unstall chan struct{} // closed by Close
	closed  bool

	fired atomic.Int64
	wg    sync.WaitGroup
}

// Start listens on a free loopback port and forwards to target (host:port).
func Start(target string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{l: l, target: target, conns: map[*conn]struct{}{}, unstall: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.l.Addr().String() }

// Arm makes the next request, on any connection, meet f (once). Arm(None)
// disarms.
func (p *Proxy) Arm(f Fault) { p.ArmThen(f, nil) }

// ArmThen is Arm, and calls fired (on the proxy's goroutine) when f meets
// the request, before the fault is applied: a test starts a request's
// deadline there, so the deadline runs from the moment the request is on
// the wire whatever the machine's load.
func (p *Proxy) ArmThen(f Fault, fired func()) {
	p.mu.Lock()
	p.armed = f
	p.onFire = fired
	p.mu.Unlock()
}

// Fired is how many armed faults have met a request so far.
func (p *Proxy) Fired() int64 { return p.fired.Load() }

// StallAll stops forwarding, from now on, on every connection and on any
// new one: what a client sees when the network or the server hangs. Only
// Close ends it.
func (p *Proxy) StallAll() {
	p.mu.Lock()
	p.stalled = true
	p.mu.Unlock()
}

// CutAll closes every connection now (both sides), as a network failure
// or a crashed server would; new connections are still forwarded.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	cs := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		cs = append(cs, c)
	}
	p.mu.Unlock()
	for _, c := range cs {
		c.cut()
	}
}

// Close stops accepting, ends every stall, closes every connection and
// waits for the forwarding goroutines.
func (p *Proxy) Close() error {
	err := p.l.Close()
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.unstall)
	}
	cs := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		cs = append(cs, c)
	}
	p.mu.Unlock()
	for _, c := range cs {
		c.cut()
	}
	p.wg.Wait()
	return err
}

// conn is one forwarded connection.
type conn struct {
	p              *Proxy
	client, server net.Conn
	once           sync.Once

	// cutAtCommit: drop the server's answer from COMMIT's CommandComplete
	// (or, failing that, ReadyForQuery) on and cut (CutBeforeCommitAnswer).
	cutAtCommit atomic.Bool
	// stalled: forward nothing more (StallBeforeWrite, StallAfterWrite).
	stalled atomic.Bool
}

func (c *conn) cut() {
	c.once.Do(func() {
		c.client.Close()
		c.server.Close()
	})
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.l.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		c := &conn{p: p, client: client, server: server}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.cut()
			continue
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go c.fromClient()
		go c.fromServer()
	}
}

// hold blocks while the connection or the whole proxy is stalled; false
// once the proxy is closed (the caller stops forwarding).
func (c *conn) hold() bool {
	c.p.mu.Lock()
	stalled := c.p.stalled || c.stalled.Load()
	c.p.mu.Unlock()
	if !stalled {
		return true
	}
	<-c.p.unstall
	return false
}

func (c *conn) done() {
	c.cut()
	c.p.mu.Lock()
	delete(c.p.conns, c)
	c.p.mu.Unlock()
	c.p.wg.Done()
}

// batchEnd are the frontend messages a client waits after: the proxy
// forwards what it has buffered when one arrives.
var batchEnd = map[byte]bool{'S': true, 'H': true, 'Q': true, 'X': true, 'p': true, 'd': true, 'c': true, 'f': true}

// fromClient forwards the client's messages in batches, applying an armed
// fault to the first batch that holds an Execute.
func (c *conn) fromClient() {
	defer c.done()
	r := &reader{src: c.client}
	// The startup message has no type byte; a CancelRequest is one too,
	// on a connection of its own.
	startup, err := r.untyped()
	if err != nil || !c.hold() {
		return
	}
	if _, err := c.server.Write(startup); err != nil {
		return
	}
	var batch bytes.Buffer
	execute := false
	for {
		typ, msg, err := r.typed()
		if err != nil {
			return
		}
		batch.Write(msg)
		execute = execute || typ == 'E'
		if !batchEnd[typ] {
			continue
		}
		f := None
		if execute {
			f = c.p.take()
		}
		switch f {
		case CutBeforeWrite:
			return
		case StallBeforeWrite:
			c.stalled.Store(true)
		case CutBeforeCommitAnswer:
			c.cutAtCommit.Store(true)
		}
		if !c.hold() {
			return
		}
		if _, err := c.server.Write(batch.Bytes()); err != nil {
			return
		}
		batch.Reset()
		execute = false
		switch f {
		case CutAfterWrite:
			return
		case StallAfterWrite:
			c.stalled.Store(true)
		}
	}
}

// take returns the armed fault and disarms it, counting it as fired.
func (p *Proxy) take() Fault {
	p.mu.Lock()
	f, fired := p.armed, p.onFire
	p.armed, p.onFire = None, nil
	p.mu.Unlock()
	if f != None {
		p.fired.Add(1)
		if fired != nil {
			fired()
		}
	}
	return f
}

// fromServer forwards the server's messages one by one.
func (c *conn) fromServer() {
	defer c.done()
	r := &reader{src: c.server}
	for {
		typ, msg, err := r.typed()
		if err != nil {
			return
		}
		if c.cutAtCommit.Load() && (typ == 'Z' || typ == 'C' && bytes.HasPrefix(msg[5:], []byte("COMMIT\x00"))) {
			return
		}
		if !c.hold() {
			return
		}
		if _, err := c.client.Write(msg); err != nil {
			return
		}
	}
}

// reader reads whole protocol messages.
type reader struct{ src io.Reader }

// typed reads a message with a type byte and returns its type and bytes.
func (r *reader) typed() (byte, []byte, error) {
	head := make([]byte, 5)
	if _, err := io.ReadFull(r.src, head); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(head[1:]))
	if n < 4 || n > 1<<30 {
		return 0, nil, errors.New("faultproxy: bad message length")
	}
	msg := make([]byte, 1+n)
	copy(msg, head)
	if _, err := io.ReadFull(r.src, msg[5:]); err != nil {
		return 0, nil, err
	}
	return head[0], msg, nil
}

// untyped reads a message without a type byte (startup, cancel).
func (r *reader) untyped() ([]byte, error) {
	head := make([]byte, 4)
	if _, err := io.ReadFull(r.src, head); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(head))
	if n < 4 || n > 1<<20 {
		return nil, errors.New("faultproxy: bad startup length")
	}
	msg := make([]byte, n)
	copy(msg, head)
	if _, err := io.ReadFull(r.src, msg[4:]); err != nil {
		return nil, err
	}
	return msg, nil
}
