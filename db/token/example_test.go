package token_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/db/token"
)

// From an HTTP request to a database request acting as its caller: verify
// the bearer token, then run the work with its claims. A rejected token
// never reaches the database.
func Example() {
	ctx := context.Background()
	v, err := token.New(ctx, token.Config{ProjectURL: "https://abcd.supabase.co", JWKS: true})
	if err != nil {
		panic(err)
	}
	var d *db.DB // db.New(pool)
	http.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		claims, err := v.FromRequest(r)
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		err = d.DoReadOnly(r.Context(), claims, func(req *db.Request) error {
			var email string
			if err := req.Tx().QueryRow(r.Context(), `SELECT auth.email()`).Scan(&email); err != nil {
				return err
			}
			_, err := fmt.Fprintln(w, email)
			return err
		})
		if err != nil {
			http.Error(w, "error", http.StatusInternalServerError)
		}
	})
}

// A token signed with the project's legacy secret, verified from a request.
func ExampleVerifier_FromRequest() {
	secret := []byte("the project's legacy JWT secret, at least 32 bytes")
	v, err := token.New(context.Background(), token.Config{ProjectURL: "https://abcd.supabase.co", Secret: secret})
	if err != nil {
		panic(err)
	}
	raw, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "https://abcd.supabase.co/auth/v1", "aud": "authenticated", "role": "authenticated",
		"sub": "3f1c6a2e-8a8e-4c57-9d3e-6f2b9a1d0c7b", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(secret)

	r := httptest.NewRequest(http.MethodGet, "/whoami", nil)
	r.Header.Set("Authorization", "Bearer "+raw)
	claims, err := v.FromRequest(r)
	fmt.Println(claims.Sub, claims.Role, err)

	r.Header.Set("Authorization", "Bearer sb_secret_c2VjcmV0")
	_, err = v.FromRequest(r)
	fmt.Println(err)
	// Output:
	// 3f1c6a2e-8a8e-4c57-9d3e-6f2b9a1d0c7b authenticated <nil>
	// token: a secret API key is never accepted from a request: a secret key
}
