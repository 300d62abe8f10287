// Command service is what a team that adopts mentordb writes: an HTTP
// service that opens a pool, migrates, turns each caller's bearer token into
// db.Claims and registers activities and pauses as that caller. It is its
// own module, so what it compiles is what a consumer of db compiles
// (`make consumer` checks that list).
//
//	DATABASE_URL=postgres://... SUPABASE_URL=https://<ref>.supabase.co \
//	  [SUPABASE_JWT_SECRET=<legacy secret>] service [-plain-postgres] [-addr :8080]
//
// Tokens signed with the project's asymmetric keys are verified against its
// JWKS; set SUPABASE_JWT_SECRET too to accept tokens signed with the legacy
// shared secret.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/db/migrate"
	"github.com/mentordb/mentordb/db/platform"
	"github.com/mentordb/mentordb/db/token"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	plain := flag.Bool("plain-postgres", false, "the database is plain PostgreSQL, not a Supabase project: apply the platform SQL first")
	flag.Parse()
	if err := run(context.Background(), os.Getenv("DATABASE_URL"), *addr, *plain); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, url, addr string, plain bool) error {
	pool, err := db.Open(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()

	// A Supabase project has the platform's roles and auth schema; plain
	// PostgreSQL gets them from mentordb's platform SQL, before migrating.
	sqlDB := stdlib.OpenDBFromPool(pool)
	defer sqlDB.Close()
	if plain {
		if err := platform.Apply(ctx, sqlDB); err != nil {
			return err
		}
	}
	if _, err := migrate.New(sqlDB, migrate.Default()).Up(ctx); err != nil {
		return err
	}

	var secret []byte
	if s := os.Getenv("SUPABASE_JWT_SECRET"); s != "" {
		secret = []byte(s)
	}
	verifier, err := token.New(ctx, token.Config{ProjectURL: os.Getenv("SUPABASE_URL"), JWKS: true, Secret: secret})
	if err != nil {
		return err
	}

	s := &server{db: db.New(pool), tokens: verifier}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orgs/{org}/activities", s.registerActivity)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Printf("listening on %s", addr)
	return srv.ListenAndServe()
}

type server struct {
	db     *db.DB
	tokens *token.Verifier
}

// activityRequest is the body of POST /orgs/{org}/activities: an activity a
// coordinator registers for a peer mentor, who may go on pause with it.
type activityRequest struct {
	MentorID        uuid.UUID `json:"mentor_id"`
	Type            string    `json:"type"`
	Date            time.Time `json:"date"`
	DurationMinutes int       `json:"duration_minutes"`
	PauseMentor     bool      `json:"pause_mentor"`
	PauseReason     string    `json:"pause_reason"`
}

func (s *server) registerActivity(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	// The caller is whoever the verified token says; an unverified one
	// never reaches the database.
	claims, err := s.tokens.FromRequest(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	org, err := uuid.Parse(req.PathValue("org"))
	if err != nil {
		http.Error(w, "bad org id", http.StatusBadRequest)
		return
	}
	var in activityRequest
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// One request: the activity and the pause commit together or not at all.
	var out db.ProxyActivity
	err = s.db.Do(ctx, claims, func(r *db.Request) error {
		var err error
		out, err = r.Activities().Create(ctx, db.NewProxyActivity{
			OrgID: org, AttributedMentorID: in.MentorID, ActivityType: in.Type,
			Date: in.Date, DurationMinutes: in.DurationMinutes,
		})
		if err != nil || !in.PauseMentor {
			return err
		}
		_, err = r.Pauses().Pause(ctx, in.MentorID, db.PauseOptions{Reason: in.PauseReason})
		return err
	})
	if err != nil {
		http.Error(w, err.Error(), status(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// status maps db's typed errors to HTTP statuses.
func status(err error) int {
	switch {
	case errors.Is(err, db.ErrNotPermitted):
		return http.StatusForbidden
	case errors.Is(err, db.ErrInvalidClaims):
		return http.StatusUnauthorized
	case errors.Is(err, db.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, db.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, db.ErrCheck), errors.Is(err, db.ErrForeignKey), errors.Is(err, db.ErrUnique),
		errors.Is(err, db.ErrNotNull), errors.Is(err, db.ErrInvalidInput):
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}
