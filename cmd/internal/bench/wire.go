package bench

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mentordb/mentordb/conformance/roundtrip"
	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/gen"
)

// WireRTT is the round-trip latency the wire figure injects between client
// and server (latencyProxy): a service in another zone than its database.
const WireRTT = 10 * time.Millisecond

// WireTrips is the round trips one call of a wire variant cost, counted on
// the connection (package roundtrip) over the timed rounds.
type WireTrips map[string]float64

// measureWire: a one-statement request at WireRTT, read and write, against
// the same statement sent alone as the owner with no request setup (one
// round trip: the floor). Each side has its own pool of one warm connection
// through the proxy, opened as db.Open opens one.
func (b *bench) measureWire(ctx context.Context) error {
	cfg, err := pgx.ParseConfig(b.pool.Config().ConnConfig.ConnString())
	if err != nil {
		return err
	}
	proxy, err := startLatencyProxy(net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), WireRTT)
	if err != nil {
		return fmt.Errorf("bench: latency proxy: %w", err)
	}
	defer proxy.Close()
	host, port, _ := net.SplitHostPort(proxy.Addr())
	url := fmt.Sprintf("postgres://%s:%s@%s:%s/%s?sslmode=disable", cfg.User, cfg.Password, host, port, cfg.Database)

	open := func(c *roundtrip.Counter) (*pgxpool.Pool, error) {
		pc, err := db.PoolConfig(url)
		if err != nil {
			return nil, err
		}
		pc.MaxConns, pc.MinConns = 1, 1
		pc.ConnConfig.DialFunc = c.Dial(nil)
		return pgxpool.NewWithConfig(ctx, pc)
	}
	counters := map[string]*roundtrip.Counter{}
	pools := map[string]*pgxpool.Pool{}
	for _, name := range []string{VarWireRead, VarWireReadAlone, VarWireWrite, VarWireWriteAlone} {
		counters[name] = &roundtrip.Counter{}
		if pools[name], err = open(counters[name]); err != nil {
			return fmt.Errorf("bench: wire pool: %w", err)
		}
		defer pools[name].Close()
	}

	o := b.orgs[0]
	var id uuid.UUID
	if err := b.pool.QueryRow(ctx, `SELECT id FROM proxy_activities WHERE org_id = $1 LIMIT 1`, o.ID).Scan(&id); err != nil {
		return err
	}
	q := gen.New()
	var get, ins captured
	_, _ = q.GetProxyActivity(ctx, &get, id)
	n := 0
	newActivity := func() db.NewProxyActivity {
		n++
		return db.NewProxyActivity{
			AttributedMentorID: o.Mentors[n%len(o.Mentors)], OrgID: o.ID, ActivityType: "phone_call",
			Date: reportFrom.AddDate(0, 0, n%365), DurationMinutes: 30,
		}
	}
	insertParams := func(a db.NewProxyActivity) gen.CreateProxyActivityParams {
		return gen.CreateProxyActivityParams{
			CoordinatorID: o.Coordinators[0], AttributedMentorID: a.AttributedMentorID, OrgID: a.OrgID,
			ActivityType: a.ActivityType, Date: a.Date, DurationMinutes: int32(a.DurationMinutes),
		}
	}
	_, _ = q.CreateProxyActivity(ctx, &ins, insertParams(newActivity()))

	app := map[string]*db.DB{VarWireRead: db.New(pools[VarWireRead]), VarWireWrite: db.New(pools[VarWireWrite])}
	vs := []variant{
		{VarWireRead, func(ctx context.Context) error {
			_, err := app[VarWireRead].ProxyActivities().Get(ctx, b.coord, id)
			return err
		}},
		{VarWireReadAlone, func(ctx context.Context) error {
			row, err := q.GetProxyActivity(ctx, pools[VarWireReadAlone], id)
			if err == nil && row.ID != id {
				err = fmt.Errorf("read %s, want %s", row.ID, id)
			}
			return err
		}},
		{VarWireWrite, func(ctx context.Context) error {
			_, err := app[VarWireWrite].ProxyActivities().Create(ctx, b.coord, newActivity())
			return err
		}},
		{VarWireWriteAlone, func(ctx context.Context) error {
			_, err := q.CreateProxyActivity(ctx, pools[VarWireWriteAlone], insertParams(newActivity()))
			return err
		}},
	}
	rounds := b.opts.WireRounds
	b.opts.logf("measuring one-statement requests at %s round-trip latency: %d variants × %d rounds", WireRTT, len(vs), rounds)
	// Warm-up outside the counts (first use prepares statements).
	if _, err := interleave(ctx, 3, 0, nil, vs...); err != nil {
		return fmt.Errorf("bench: wire: %w", err)
	}
	before := map[string]int64{}
	for name, c := range counters {
		before[name] = c.Trips()
	}
	samples, err := interleave(ctx, 0, rounds, nil, vs...)
	if err != nil {
		return fmt.Errorf("bench: wire: %w", err)
	}
	b.res.WireTrips = WireTrips{}
	for name, c := range counters {
		b.res.WireTrips[name] = float64(c.Trips()-before[name]) / float64(rounds)
	}
	b.res.Samples = append(b.res.Samples, samples...)
	return nil
}
