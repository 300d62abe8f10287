package conformance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/db/token"
)

// authServer is a Supabase project's auth endpoint as far as a Go service
// sees it: the JWKS of one ES256 signing key.
type authServer struct {
	URL string
	key *ecdsa.PrivateKey
}

func newAuthServer(t *testing.T) *authServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	jwk, err := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "k1", ALG: jwkset.AlgES256, USE: jwkset.UseSig}})
	require.NoError(t, err)
	set, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/auth/v1/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(set)
	}))
	t.Cleanup(srv.Close)
	return &authServer{URL: srv.URL, key: key}
}

// accessToken is what Supabase Auth issues to a signed-in user, signed with
// key (the project's, or an attacker's).
func (a *authServer) accessToken(t *testing.T, key *ecdsa.PrivateKey, sub, org uuid.UUID, edit func(jwt.MapClaims)) string {
	t.Helper()
	c := jwt.MapClaims{
		"iss": a.URL + "/auth/v1", "aud": "authenticated", "sub": sub.String(), "role": "authenticated",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		"user_metadata": map[string]any{db.OrgClaim: org.String()},
	}
	if edit != nil {
		edit(c)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["kid"] = "k1"
	raw, err := tok.SignedString(key)
	require.NoError(t, err)
	return raw
}

func testToken(t *testing.T) {
	t.Parallel()

	t.Run("DB-JWT-1 a verified token's claims run a real request through db as that user; a rejected token never reaches the database", func(t *testing.T) {
		t.Parallel()
		ctx := pgtest.Ctx(t)
		d := pgtest.New(t)
		org := d.NewOrg(t)
		coordinator := d.NewMember(t, org, "coordinator")
		mentor := d.NewMember(t, org, "peer_mentor")
		auth := newAuthServer(t)
		v, err := token.New(ctx, token.Config{ProjectURL: auth.URL, JWKS: true})
		require.NoError(t, err)

		// The service: token in, database request out.
		var reached atomic.Int32
		svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, err := v.FromRequest(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			reached.Add(1)
			a, err := d.App.ProxyActivities().Create(r.Context(), claims, db.NewProxyActivity{
				OrgID: org, AttributedMentorID: mentor, ActivityType: "visit",
				Date: time.Now().UTC().Truncate(24 * time.Hour), DurationMinutes: 30})
			if err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(a)
		}))
		t.Cleanup(svc.Close)
		post := func(bearer string) (int, string) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, svc.URL, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+bearer)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			return res.StatusCode, string(b)
		}
		rows := func() (n int) {
			d.QueryRow(t, `SELECT (SELECT count(*) FROM proxy_activities) + (SELECT count(*) FROM proxy_audit_log)`).Scan(t, &n)
			return n
		}

		attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		for name, bearer := range map[string]string{
			"forged service_role, attacker's key":  auth.accessToken(t, attacker, coordinator, org, func(c jwt.MapClaims) { c["role"] = "service_role" }),
			"coordinator's claims, attacker's key": auth.accessToken(t, attacker, coordinator, org, nil),
			"expired":                              auth.accessToken(t, auth.key, coordinator, org, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }),
			"wrong audience":                       auth.accessToken(t, auth.key, coordinator, org, func(c jwt.MapClaims) { c["aud"] = "anon" }),
		} {
			code, body := post(bearer)
			require.Equal(t, http.StatusUnauthorized, code, "%s: %s", name, body)
		}
		require.Zero(t, reached.Load(), "no rejected token got past the verifier")
		require.Zero(t, rows(), "nothing was written")

		code, body := post(auth.accessToken(t, auth.key, coordinator, org, nil))
		require.Equal(t, http.StatusCreated, code, body)
		var got db.ProxyActivity
		require.NoError(t, json.Unmarshal([]byte(body), &got))
		require.Equal(t, coordinator, got.CoordinatorID, "written as the token's user: the policy took auth.uid() from the verified sub")
		require.Equal(t, 2, rows(), "the activity and its audit row")

		// The claims reach PostgreSQL as PostgREST sets them.
		claims, err := v.Verify(ctx, auth.accessToken(t, auth.key, coordinator, org, nil))
		require.NoError(t, err)
		require.NoError(t, d.App.DoReadOnly(ctx, claims, func(r *db.Request) error {
			tx := r.Tx()
			var uid uuid.UUID
			var role, orgClaim string
			require.NoError(t, tx.QueryRow(ctx, `SELECT auth.uid(), current_user, auth.jwt() -> 'user_metadata' ->> 'organization_id'`).Scan(&uid, &role, &orgClaim))
			require.Equal(t, coordinator, uid)
			require.Equal(t, "authenticated", role)
			require.Equal(t, org.String(), orgClaim)
			return nil
		}))
	})

	t.Run("DB-JWT-1 a signed user token whose role is not authenticated is refused before the database: as service_role a coordinator of one org would read another org's activities", func(t *testing.T) {
		t.Parallel()
		ctx := pgtest.Ctx(t)
		d := pgtest.New(t)
		orgA, orgB := d.NewOrg(t), d.NewOrg(t)
		coordA := d.NewMember(t, orgA, "coordinator")
		coordB, mentorB := d.NewMember(t, orgB, "coordinator"), d.NewMember(t, orgB, "peer_mentor")
		today := time.Now().UTC().Truncate(24 * time.Hour)
		inB, err := d.App.ProxyActivities().Create(ctx, db.User(coordB, orgB), db.NewProxyActivity{
			OrgID: orgB, AttributedMentorID: mentorB, ActivityType: "visit", Date: today, DurationMinutes: 30})
		require.NoError(t, err)
		period := db.Period{From: today.AddDate(0, 0, -1), To: today.AddDate(0, 0, 1)}
		listB := func(claims db.Claims) []db.ProxyActivity {
			page, err := d.App.ProxyActivities().ListForOrg(ctx, claims, orgB, period, nil, 100)
			require.NoError(t, err)
			return page.Items
		}

		// The harm: coordinator A's token with role service_role used to
		// verify into these claims (its sub and org context, role
		// service_role). They read org B's activity; coordinator A's own
		// claims read nothing of org B.
		asServiceRole := db.Claims{Sub: coordA, Role: db.RoleServiceRole, UserMetadata: map[string]any{db.OrgClaim: orgA.String()}}
		require.Len(t, listB(asServiceRole), 1, "service_role claims bypass org B's policies")
		require.Equal(t, inB.ID, listB(asServiceRole)[0].ID)
		require.Empty(t, listB(db.User(coordA, orgA)), "coordinator A's user claims see nothing of org B")

		auth := newAuthServer(t)
		v, err := token.New(ctx, token.Config{ProjectURL: auth.URL, JWKS: true})
		require.NoError(t, err)
		// The service: token in, org B's activities out, as the token's
		// caller.
		var reached atomic.Int32
		svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, err := v.FromRequest(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			reached.Add(1)
			page, err := d.App.ProxyActivities().ListForOrg(r.Context(), claims, orgB, period, nil, 100)
			if err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
			_ = json.NewEncoder(w).Encode(page.Items)
		}))
		t.Cleanup(svc.Close)
		get := func(bearer string) (int, string) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, svc.URL, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+bearer)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			return res.StatusCode, string(b)
		}

		// Coordinator A's real token reaches the database and reads nothing
		// of org B.
		code, body := get(auth.accessToken(t, auth.key, coordA, orgA, nil))
		require.Equal(t, http.StatusOK, code, body)
		var items []db.ProxyActivity
		require.NoError(t, json.Unmarshal([]byte(body), &items))
		require.Empty(t, items, "coordinator A reads nothing of org B")
		require.EqualValues(t, 1, reached.Load())

		// The same token, signed by the project, with any role but
		// authenticated: refused with ErrRole, and the database never sees it.
		for _, role := range []any{db.RoleServiceRole, db.RoleAnon, "postgres", "supabase_admin", "authenticator", "", nil} {
			bearer := auth.accessToken(t, auth.key, coordA, orgA, func(c jwt.MapClaims) {
				if role == nil {
					delete(c, "role")
				} else {
					c["role"] = role
				}
			})
			code, body := get(bearer)
			require.Equal(t, http.StatusUnauthorized, code, "role %v: coordinator A's token got past the verifier; org B as it saw it: %s", role, body)
			claims, err := v.Verify(ctx, bearer)
			require.ErrorIs(t, err, token.ErrRole, "role %v", role)
			require.Equal(t, db.Claims{}, claims, "role %v: no claims come with a rejection", role)
		}
		require.EqualValues(t, 1, reached.Load(), "only coordinator A's authenticated token got past the verifier")
	})
}
