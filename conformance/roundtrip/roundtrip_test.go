package roundtrip

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// echo answers every chunk it reads with one byte per chunk.
func echo(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					// Answer "ab" as two writes when asked for 2 bytes.
					for i := 0; i < n; i++ {
						if _, err := c.Write([]byte{buf[i]}); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

func TestCounter(t *testing.T) {
	t.Parallel()
	var c Counter
	conn, err := c.Dial(nil)(context.Background(), "tcp", echo(t))
	require.NoError(t, err)
	defer conn.Close()
	read := func(n int) {
		buf := make([]byte, n)
		for got := 0; got < n; {
			k, err := conn.Read(buf[got:])
			require.NoError(t, err)
			got += k
		}
	}
	require.Zero(t, c.Trips())

	// Two writes then reads: one turn.
	_, err = conn.Write([]byte("a"))
	require.NoError(t, err)
	_, err = conn.Write([]byte("b"))
	require.NoError(t, err)
	read(2)
	require.EqualValues(t, 1, c.Trips())

	// Write, read, write, read: two turns.
	for range 2 {
		_, err = conn.Write([]byte("c"))
		require.NoError(t, err)
		read(1)
	}
	require.EqualValues(t, 3, c.Trips())

	// A write with no read after it is not a turn (yet).
	_, err = conn.Write([]byte("d"))
	require.NoError(t, err)
	require.EqualValues(t, 3, c.Trips())
}
