package db

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// Statements sent without a describe (exec mode) carry no parameter types:
// pgx must find the type from the Go value, which it cannot for a
// []uuid.UUID until registerWireTypes has run.
func TestRegisterWireTypes(t *testing.T) {
	t.Parallel()
	ids := []uuid.UUID{uuid.MustParse("00000000-0000-0000-0000-00000000000a"), uuid.MustParse("00000000-0000-0000-0000-00000000000b")}
	m := pgtype.NewMap()
	_, err := m.Encode(0, pgtype.TextFormatCode, ids, nil)
	require.Error(t, err, "precondition: pgx alone cannot encode []uuid.UUID without a type")
	registerWireTypes(m)
	registerWireTypes(m) // idempotent
	buf, err := m.Encode(0, pgtype.TextFormatCode, ids, nil)
	require.NoError(t, err)
	require.Equal(t, "{00000000-0000-0000-0000-00000000000a,00000000-0000-0000-0000-00000000000b}", string(buf))
	buf, err = m.Encode(0, pgtype.TextFormatCode, ids[0], nil)
	require.NoError(t, err)
	require.Equal(t, "00000000-0000-0000-0000-00000000000a", string(buf))
}

func TestPoolConfig(t *testing.T) {
	t.Parallel()
	const url = "postgres://u@h:6543/postgres"
	direct, err := PoolConfig(url)
	require.NoError(t, err)
	require.Equal(t, pgx.QueryExecModeCacheStatement, direct.ConnConfig.DefaultQueryExecMode)
	pooled, err := PoolConfig(url, TransactionPooler())
	require.NoError(t, err)
	require.Equal(t, pgx.QueryExecModeExec, pooled.ConnConfig.DefaultQueryExecMode)
	require.Zero(t, pooled.ConnConfig.StatementCacheCapacity)

	ping := func(cfg *pgxpool.Config, idle time.Duration) bool {
		return cfg.ShouldPing(context.Background(), pgxpool.ShouldPingParams{IdleDuration: idle})
	}
	require.False(t, ping(direct, 2*time.Second), "pgxpool's one-second ping would cost a quiet service a round trip")
	require.True(t, ping(direct, DefaultPingIdleAfter+time.Second))
	never, err := PoolConfig(url, PingIdleAfter(0))
	require.NoError(t, err)
	require.False(t, ping(never, time.Hour))

	_, err = PoolConfig("postgres://u@h:notaport/x")
	require.ErrorContains(t, err, "db: parse database url")
}

func TestPoolerErrorsAreTyped(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"26000", "42P05"} {
		err := interpretError(&pgconn.PgError{Code: code, Message: `prepared statement "stmtcache_1" does not exist`})
		require.ErrorIs(t, err, ErrPooler, code)
		var e *Error
		require.True(t, errors.As(err, &e))
		require.Equal(t, code, e.Code)
	}
}
