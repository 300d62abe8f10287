package bench

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The proxy adds its round-trip time once per turn, and a burst of writes
// (a pipeline) pays it once, not once per write.
func TestLatencyProxy(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c) // echo
	}()
	const rtt = 40 * time.Millisecond
	p, err := startLatencyProxy(l.Addr().String(), rtt)
	require.NoError(t, err)
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()

	turn := func(writes int) time.Duration {
		t0 := time.Now()
		for range writes {
			_, err := c.Write([]byte("x"))
			require.NoError(t, err)
		}
		buf := make([]byte, writes)
		_, err := io.ReadFull(c, buf)
		require.NoError(t, err)
		return time.Since(t0)
	}
	one := turn(1)
	require.GreaterOrEqual(t, one, rtt, "one turn waits at least the round-trip time")
	burst := turn(20)
	require.GreaterOrEqual(t, burst, rtt)
	require.Less(t, burst, 3*rtt, "twenty pipelined writes pay the delay about once, not twenty times")
	require.NoError(t, p.Close())
}
