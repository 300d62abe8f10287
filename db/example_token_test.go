package db_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/db/token"
)

// From an HTTP request to a database request acting as its caller: the
// bearer token is verified (package db/token) and becomes the request's
// claims; a token that does not verify never reaches the database. Here the
// project signs with the legacy shared secret; with asymmetric keys, set
// token.Config.JWKS instead.
func ExampleDB_Do_token() {
	ctx := context.Background()
	d := db.New(pool)
	org, coordinator, mentor := exampleOrg(ctx, d)

	secret := []byte("the project's legacy JWT secret, at least 32 bytes")
	v, err := token.New(ctx, token.Config{ProjectURL: "https://abcd.supabase.co", Secret: secret})
	if err != nil {
		panic(err)
	}
	handler := func(w http.ResponseWriter, req *http.Request) {
		claims, err := v.FromRequest(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		err = d.Do(req.Context(), claims, func(r *db.Request) error {
			_, err := r.Activities().Create(req.Context(), db.NewProxyActivity{
				OrgID: org, AttributedMentorID: mentor, ActivityType: "visit",
				Date: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), DurationMinutes: 60,
			})
			return err
		})
		switch {
		case errors.Is(err, db.ErrNotPermitted):
			http.Error(w, err.Error(), http.StatusForbidden)
		case err != nil:
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		default:
			w.WriteHeader(http.StatusCreated)
		}
	}

	// What Supabase Auth issues to the coordinator signed in to the app.
	signed := func(key []byte) string {
		raw, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"iss": "https://abcd.supabase.co/auth/v1", "aud": "authenticated", "role": "authenticated",
			"sub": coordinator.String(), "exp": time.Now().Add(time.Hour).Unix(),
			"user_metadata": map[string]any{db.OrgClaim: org.String()},
		}).SignedString(key)
		if err != nil {
			panic(err)
		}
		return raw
	}
	for _, key := range [][]byte{secret, []byte("an attacker's secret, also 32 bytes long")} {
		req := httptest.NewRequest(http.MethodPost, "/activities", nil)
		req.Header.Set("Authorization", "Bearer "+signed(key))
		w := httptest.NewRecorder()
		handler(w, req)
		fmt.Println(w.Code)
	}
	// Output:
	// 201
	// 401
}
