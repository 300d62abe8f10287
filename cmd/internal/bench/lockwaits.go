package bench

import (
	"context"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// LockWaits is what was seen of heavyweight-lock waits during the pause
// figure, per variant.
type LockWaits struct {
	// Samples is the number of pg_stat_activity samples taken.
	Samples int
	// Waits counts, per variant and per "wait_event on relation", the
	// waiting backends seen by the sampler (one backend in one sample is
	// one count; a long wait is counted in several samples).
	Waits map[string]map[string]int
	// Blocked counts per variant the (waiter, blocker) pairs of those
	// samples, from pg_blocking_pids.
	Blocked map[string]int
	// LogLines counts per variant and per kind ("extension" or "other") the
	// log_lock_waits lines ("still waiting for") the server wrote while the
	// variant ran; nil when the log is not readable (Docker, a URL).
	LogLines map[string]map[string]int
}

// Logical returns, for a variant, the waits on anything but relation
// extension (advisory, tuple, transactionid, relation locks): waits between
// transactions for different mentors. Extension returns the relation
// extension waits (any two backends appending to one table).
func (lw LockWaits) Logical(variant string) (sampled, logged int) {
	for k, n := range lw.Waits[variant] {
		if !strings.HasPrefix(k, "extend") {
			sampled += n
		}
	}
	return sampled, lw.LogLines[variant]["other"]
}

func (lw LockWaits) Extension(variant string) (sampled, logged int) {
	for k, n := range lw.Waits[variant] {
		if strings.HasPrefix(k, "extend") {
			sampled += n
		}
	}
	return sampled, lw.LogLines[variant]["extension"]
}

type sampler struct {
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	current string
	logAt   map[string]int
	readLog func() (map[string]int, bool)
	res     LockWaits
}

func startSampler(ctx context.Context, pool *pgxpool.Pool, readLog func() (map[string]int, bool)) *sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &sampler{cancel: cancel, done: make(chan struct{}), readLog: readLog,
		res: LockWaits{Waits: map[string]map[string]int{}, Blocked: map[string]int{}}}
	if _, ok := readLog(); ok {
		s.res.LogLines = map[string]map[string]int{}
	}
	go func() {
		defer close(s.done)
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return
		}
		defer conn.Release()
		for ctx.Err() == nil {
			rows, err := conn.Query(ctx, `SELECT a.wait_event, coalesce(l.relation::regclass::text, l.locktype, '(released before pg_locks was read)'),
				cardinality(pg_blocking_pids(a.pid))
				FROM pg_stat_activity AS a
				LEFT JOIN pg_locks AS l ON l.pid = a.pid AND NOT l.granted
				WHERE a.wait_event_type = 'Lock' AND a.datname = current_database()`)
			if err != nil {
				return
			}
			s.mu.Lock()
			cur := s.current
			if cur == "" {
				cur = "between runs"
			}
			s.res.Samples++
			for rows.Next() {
				var ev, rel string
				var blockers int
				if rows.Scan(&ev, &rel, &blockers) == nil {
					if s.res.Waits[cur] == nil {
						s.res.Waits[cur] = map[string]int{}
					}
					s.res.Waits[cur][ev+" on "+rel]++
					s.res.Blocked[cur] += blockers
				}
			}
			s.mu.Unlock()
			rows.Close()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return s
}

// enter and leave bracket one timed run of a variant.
func (s *sampler) enter(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current = name
	s.logAt, _ = s.readLog()
}

func (s *sampler) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now, ok := s.readLog(); ok && s.res.LogLines != nil {
		if s.res.LogLines[s.current] == nil {
			s.res.LogLines[s.current] = map[string]int{}
		}
		for k, n := range now {
			s.res.LogLines[s.current][k] += n - s.logAt[k]
		}
	}
	s.current = ""
}

func (s *sampler) stop() LockWaits {
	s.cancel()
	<-s.done
	return s.res
}

// lockWaitLog counts the log_lock_waits lines in a local server's log, by
// kind: "extension" (relation extension) and "other".
func (b *bench) lockWaitLog() (map[string]int, bool) {
	if b.srv.Dir == "" {
		return nil, false
	}
	raw, err := os.ReadFile(b.srv.Dir + "/postgres.log")
	if err != nil {
		return nil, false
	}
	m := map[string]int{"extension": 0, "other": 0}
	for _, l := range strings.Split(string(raw), "\n") {
		if !strings.Contains(l, "still waiting for") {
			continue
		}
		if strings.Contains(l, "extension of relation") {
			m["extension"]++
		} else {
			m["other"]++
		}
	}
	return m, true
}
