// Package roundtrip counts the network round trips a PostgreSQL client makes,
// on the connection itself, so a test can say "this call costs one round
// trip" without timing anything.
//
// A round trip is one turn of the conversation: the client sends (one or
// more writes) and then waits for the server's answer. It is counted when
// the client reads data after having written since its previous read.
// Several writes in a row (a pipeline flushed in pieces) are one turn, and
// so are several reads in a row (a long result read in chunks); a write that
// is never followed by a read (the Terminate message on close) is not a
// turn. This is exactly what latency multiplies: at a round-trip time of
// 10 ms a call of n turns waits at least n × 10 ms, whatever it sends.
//
// The count is taken on a net.Conn wrapped through pgconn's DialFunc, under
// TLS if any, so it sees the bytes as the network does.
package roundtrip

import (
	"context"
	"net"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgconn"
)

// Counter counts round trips on every connection dialled through Dial.
type Counter struct {
	trips atomic.Int64
}

// Trips is the number of round trips so far, over all connections.
func (c *Counter) Trips() int64 { return c.trips.Load() }

// Dial wraps next (nil: a plain net.Dialer) so its connections are counted.
// Set it as pgconn.Config.DialFunc (pgx.ConnConfig.DialFunc,
// pgxpool.Config.ConnConfig.DialFunc).
func (c *Counter) Dial(next pgconn.DialFunc) pgconn.DialFunc {
	if next == nil {
		var d net.Dialer
		next = d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: conn, c: c}, nil
	}
}

type countingConn struct {
	net.Conn
	c *Counter
	// wrote is set by a write and cleared by the read that ends the turn.
	// pgconn may read from a background goroutine while it writes, hence
	// atomic.
	wrote atomic.Bool
}

func (cc *countingConn) Write(p []byte) (int, error) {
	// Marked before the bytes go: pgconn's background reader may receive
	// the answer before Write returns, and a mark set after it would miss
	// that turn (and count a later read instead).
	if len(p) > 0 {
		cc.wrote.Store(true)
	}
	return cc.Conn.Write(p)
}

func (cc *countingConn) Read(p []byte) (int, error) {
	n, err := cc.Conn.Read(p)
	if n > 0 && cc.wrote.CompareAndSwap(true, false) {
		cc.c.trips.Add(1)
	}
	return n, err
}
