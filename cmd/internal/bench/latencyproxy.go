package bench

import (
	"net"
	"sync"
	"time"
)

// latencyProxy forwards TCP connections to a server and delays every byte
// by half a round-trip time in each direction, so a client on this machine
// sees a server rtt away (another zone or region). It is written here
// because this machine's kernel has no netem (tc qdisc ... netem delay),
// the usual tool, and a proxy needs no privileges.
//
// Each direction is a reader that timestamps every chunk it reads and a
// writer that sends the chunk once its time has come, so delays overlap
// as they do on a network: a pipeline of many messages pays the delay once,
// not once per message. Bandwidth is not limited.
type latencyProxy struct {
	l      net.Listener
	target string
	oneWay time.Duration

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// startLatencyProxy listens on a free loopback port and forwards to target
// (host:port) with rtt of round-trip latency added.
func startLatencyProxy(target string, rtt time.Duration) (*latencyProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &latencyProxy{l: l, target: target, oneWay: rtt / 2, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *latencyProxy) Addr() string { return p.l.Addr().String() }

// Close stops accepting, closes every forwarded connection and waits for
// the forwarding goroutines.
func (p *latencyProxy) Close() error {
	err := p.l.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *latencyProxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns[c] = struct{}{}
	p.mu.Unlock()
}

func (p *latencyProxy) accept() {
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
		p.track(client)
		p.track(server)
		p.wg.Add(2)
		go p.pipe(server, client)
		go p.pipe(client, server)
	}
}

// chunk is bytes read at a moment, due for delivery oneWay later.
type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst, each chunk delayed by oneWay. When either side
// ends, both are closed (PostgreSQL's protocol has no half-close).
func (p *latencyProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	q := make(chan chunk, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range q {
			if d := time.Until(c.due); d > 0 {
				time.Sleep(d)
			}
			if _, err := dst.Write(c.b); err != nil {
				break
			}
		}
		for range q { // drain after a write error so the reader never blocks
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			q <- chunk{b: append([]byte(nil), buf[:n]...), due: time.Now().Add(p.oneWay)}
		}
		if err != nil { // EOF, a reset, or Close: the connection is over
			break
		}
	}
	close(q)
	<-done
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}
