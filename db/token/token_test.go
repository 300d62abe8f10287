package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/db/token"
)

// project is a fake Supabase project: its signing keys, its JWKS endpoint
// (which counts fetches and can rotate), and its legacy secret.
type project struct {
	URL     string
	srv     *httptest.Server
	mu      sync.Mutex
	keys    []jwkset.JWK
	fetches atomic.Int32
	secret  []byte
}

type signer struct {
	kid string
	alg jwt.SigningMethod
	key any // private key
}

func newECKey(t *testing.T, kid string) signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return signer{kid: kid, alg: jwt.SigningMethodES256, key: k}
}

func newRSAKey(t *testing.T, kid string) signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return signer{kid: kid, alg: jwt.SigningMethodRS256, key: k}
}

func publicJWK(t *testing.T, s signer) jwkset.JWK {
	t.Helper()
	var pub any
	alg := jwkset.AlgES256
	switch k := s.key.(type) {
	case *ecdsa.PrivateKey:
		pub = &k.PublicKey
	case *rsa.PrivateKey:
		pub, alg = &k.PublicKey, jwkset.AlgRS256
	}
	j, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: s.kid, ALG: alg, USE: jwkset.UseSig}})
	require.NoError(t, err)
	return j
}

func newProject(t *testing.T, published ...signer) *project {
	t.Helper()
	p := &project{secret: []byte("legacy-jwt-secret-at-least-32-bytes-long")}
	p.publish(t, published...)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/auth/v1/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		p.fetches.Add(1)
		p.mu.Lock()
		set := jwkset.JWKSMarshal{}
		for _, k := range p.keys {
			set.Keys = append(set.Keys, k.Marshal())
		}
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(p.srv.Close)
	p.URL = p.srv.URL
	return p
}

// publish replaces the JWKS with the public keys of ss (a rotation).
func (p *project) publish(t *testing.T, ss ...signer) {
	t.Helper()
	var keys []jwkset.JWK
	for _, s := range ss {
		keys = append(keys, publicJWK(t, s))
	}
	p.mu.Lock()
	p.keys = keys
	p.mu.Unlock()
}

func (p *project) verifier(t *testing.T, cfg token.Config) *token.Verifier {
	t.Helper()
	cfg.ProjectURL = p.URL
	v, err := token.New(t.Context(), cfg)
	require.NoError(t, err)
	return v
}

// claims of a signed-in user of p, valid for an hour.
func (p *project) claims(sub uuid.UUID) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": p.URL + "/auth/v1", "aud": "authenticated", "sub": sub.String(), "role": "authenticated",
		"email": "mentor@example.org", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"user_metadata": map[string]any{"organization_id": "7d0c4a36-2f55-4bd8-a6a8-0e0d3f3b8c11"},
		"app_metadata":  map[string]any{"provider": "email"},
	}
}

func sign(t *testing.T, s signer, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(s.alg, c)
	if s.kid != "" {
		tok.Header["kid"] = s.kid
	}
	raw, err := tok.SignedString(s.key)
	require.NoError(t, err)
	return raw
}

func hs256(t *testing.T, secret []byte, c jwt.MapClaims) string {
	t.Helper()
	raw, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	require.NoError(t, err)
	return raw
}

func requireRejected(t *testing.T, err error, reason error) {
	t.Helper()
	require.ErrorIs(t, err, reason)
	var te *token.Error
	require.ErrorAs(t, err, &te)
	require.Equal(t, reason, te.Reason)
}

func TestVerifyAccepts(t *testing.T) {
	t.Parallel()
	es, rs := newECKey(t, "es-1"), newRSAKey(t, "rs-1")
	p := newProject(t, es, rs)
	v := p.verifier(t, token.Config{JWKS: true, Secret: p.secret})
	sub := uuid.New()
	for name, raw := range map[string]string{
		"ES256 from the JWKS":   sign(t, es, p.claims(sub)),
		"RS256 from the JWKS":   sign(t, rs, p.claims(sub)),
		"HS256 with the secret": hs256(t, p.secret, p.claims(sub)),
		"expired within leeway": sign(t, es, func() jwt.MapClaims {
			c := p.claims(sub)
			c["exp"] = time.Now().Add(-3 * time.Second).Unix()
			return c
		}()),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := v.Verify(t.Context(), raw)
			require.NoError(t, err)
			require.Equal(t, sub, got.Sub)
			require.Equal(t, db.RoleAuthenticated, got.Role)
			require.Equal(t, "mentor@example.org", got.Email)
			require.Equal(t, "7d0c4a36-2f55-4bd8-a6a8-0e0d3f3b8c11", got.UserMetadata[db.OrgClaim])
			require.Equal(t, "email", got.AppMetadata["provider"])
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	es := newECKey(t, "es-1")
	p := newProject(t, es)
	v := p.verifier(t, token.Config{JWKS: true, Secret: p.secret})
	jwksOnly := p.verifier(t, token.Config{JWKS: true})
	attacker := newECKey(t, "es-1") // claims the project's kid
	attackerOwnKid := newECKey(t, "attacker")
	rsPub, err := x509.MarshalPKIXPublicKey(&attacker.key.(*ecdsa.PrivateKey).PublicKey)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsPub})
	sub := uuid.New()
	with := func(k string, val any) jwt.MapClaims {
		c := p.claims(sub)
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, p.claims(sub)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	forged := p.claims(sub)
	forged["role"] = "service_role"

	for _, c := range []struct {
		name   string
		v      *token.Verifier
		raw    string
		reason error
	}{
		{"empty", v, "", token.ErrNoToken},
		{"not a JWT", v, "hello.world", token.ErrMalformed},
		{"expired", v, sign(t, es, with("exp", time.Now().Add(-time.Minute).Unix())), token.ErrExpired},
		{"no exp", v, sign(t, es, with("exp", nil)), token.ErrExpired},
		{"not valid yet", v, sign(t, es, with("nbf", time.Now().Add(time.Minute).Unix())), token.ErrNotYetValid},
		{"issued in the future", v, sign(t, es, with("iat", time.Now().Add(time.Minute).Unix())), token.ErrNotYetValid},
		{"wrong audience", v, sign(t, es, with("aud", "anon")), token.ErrAudience},
		{"no audience, user role", v, sign(t, es, with("aud", nil)), token.ErrAudience},
		{"wrong issuer", v, sign(t, es, with("iss", "https://other.supabase.co/auth/v1")), token.ErrIssuer},
		{"authenticated without sub", v, sign(t, es, with("sub", nil)), token.ErrClaims},
		{"sub not a uuid", v, sign(t, es, with("sub", "admin")), token.ErrClaims},
		{"wrong key under the project's kid", v, sign(t, attacker, p.claims(sub)), token.ErrSignature},
		{"forged service_role signed by an attacker's key", v, sign(t, attacker, forged), token.ErrSignature},
		{"forged service_role under an unknown kid", v, sign(t, attackerOwnKid, forged), token.ErrUnknownKey},
		{"alg none", v, none, token.ErrAlgorithm},
		{"HS256 against a JWKS-only verifier", jwksOnly, hs256(t, p.secret, p.claims(sub)), token.ErrAlgorithm},
		{"HS256 keyed with the public key (alg confusion)", jwksOnly, hs256(t, pubPEM, p.claims(sub)), token.ErrAlgorithm},
		{"HS256 with a wrong secret", v, hs256(t, []byte("not-the-project-secret-not-the-project"), p.claims(sub)), token.ErrSignature},
		{"HS384 with the secret", v, func() string {
			raw, err := jwt.NewWithClaims(jwt.SigningMethodHS384, p.claims(sub)).SignedString(p.secret)
			require.NoError(t, err)
			return raw
		}(), token.ErrAlgorithm},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.v.Verify(t.Context(), c.raw)
			requireRejected(t, err, c.reason)
			require.Equal(t, db.Claims{}, got, "no claims come with a rejection")
		})
	}
}

// A user token is signed by the project and still cannot choose its role:
// it yields authenticated or nothing. service_role comes only from the
// service's own configuration (db.ServiceRole()), anon only from the
// service's choice to serve a caller without a user (db.Anon()).
func TestVerifyUserTokenRole(t *testing.T) {
	t.Parallel()
	es := newECKey(t, "es-1")
	p := newProject(t, es)
	v := p.verifier(t, token.Config{JWKS: true, Secret: p.secret})
	signers := map[string]func(jwt.MapClaims) string{
		"ES256 from the JWKS":   func(c jwt.MapClaims) string { return sign(t, es, c) },
		"HS256 with the secret": func(c jwt.MapClaims) string { return hs256(t, p.secret, c) },
	}
	sub := uuid.New()
	roles := map[string]any{
		"service_role":          db.RoleServiceRole,
		"anon":                  db.RoleAnon,
		"postgres":              "postgres",
		"supabase_admin":        "supabase_admin",
		"authenticator":         "authenticator",
		"empty":                 "",
		"missing":               nil,
		"another case":          "Authenticated",
		"service_role, no sub":  db.RoleServiceRole,
		"service_role, aud set": db.RoleServiceRole,
	}
	for signedWith, signed := range signers {
		for name, role := range roles {
			t.Run(signedWith+"/"+name, func(t *testing.T) {
				t.Parallel()
				c := p.claims(sub)
				if role == nil {
					delete(c, "role")
				} else {
					c["role"] = role
				}
				switch name {
				case "service_role, no sub":
					delete(c, "sub")
				case "service_role, aud set":
					c["aud"] = []string{"authenticated", "service_role"}
				}
				got, err := v.Verify(t.Context(), signed(c))
				requireRejected(t, err, token.ErrRole)
				require.Equal(t, db.Claims{}, got, "no claims come with a rejection")
			})
		}
	}
}

// The project's API keys are never identities (see the package doc).
func TestVerifyAPIKeys(t *testing.T) {
	t.Parallel()
	p := newProject(t, newECKey(t, "es-1"))
	v := p.verifier(t, token.Config{JWKS: true, Secret: p.secret})
	legacy := func(role string) string {
		// The shape of a legacy API key: HS256 with the project secret,
		// iss "supabase", no aud, no sub, ten years of validity.
		return hs256(t, p.secret, jwt.MapClaims{"iss": "supabase", "ref": "abcd", "role": role,
			"iat": time.Now().Unix(), "exp": time.Now().AddDate(10, 0, 0).Unix()})
	}
	for _, c := range []struct {
		name, raw string
		reason    error
	}{
		{"legacy anon key", legacy("anon"), token.ErrPublicAPIKey},
		{"legacy service_role key", legacy("service_role"), token.ErrSecretAPIKey},
		{"publishable key", "sb_publishable_Zm9vYmFyYmF6cXV4", token.ErrPublicAPIKey},
		{"secret key", "sb_secret_Zm9vYmFyYmF6cXV4", token.ErrSecretAPIKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := v.Verify(t.Context(), c.raw)
			requireRejected(t, err, c.reason)
		})
	}
	// A "service_role key" not signed by the project is a bad signature,
	// not a key.
	forgedKey := hs256(t, []byte("attacker-secret-attacker-secret-attacker"), jwt.MapClaims{"iss": "supabase", "role": "service_role",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
	_, err := v.Verify(t.Context(), forgedKey)
	requireRejected(t, err, token.ErrSignature)
}

// A new signing key is fetched the first time a token names it.
func TestVerifyRotatedKey(t *testing.T) {
	t.Parallel()
	old, next := newECKey(t, "old"), newRSAKey(t, "next")
	p := newProject(t, old)
	v := p.verifier(t, token.Config{JWKS: true, RefreshInterval: time.Hour})
	sub := uuid.New()
	_, err := v.Verify(t.Context(), sign(t, old, p.claims(sub)))
	require.NoError(t, err)
	fetched := p.fetches.Load()

	p.publish(t, next) // rotation: the old key is revoked, the new one published
	got, err := v.Verify(t.Context(), sign(t, next, p.claims(sub)))
	require.NoError(t, err)
	require.Equal(t, sub, got.Sub)
	require.Equal(t, fetched+1, p.fetches.Load(), "one fetch for the unknown kid")
}

// Unknown kids cause at most one fetch per MinRefreshInterval.
func TestVerifyBoundedRefresh(t *testing.T) {
	t.Parallel()
	p := newProject(t, newECKey(t, "es-1"))
	v := p.verifier(t, token.Config{JWKS: true, RefreshInterval: time.Hour, MinRefreshInterval: time.Hour})
	_, err := v.Verify(t.Context(), sign(t, newECKey(t, "es-1"), p.claims(uuid.New()))) // ensures the first fetch is done
	requireRejected(t, err, token.ErrSignature)
	start := p.fetches.Load()
	for i := range 20 {
		made := newECKey(t, "made-up-"+string(rune('a'+i)))
		_, err := v.Verify(t.Context(), sign(t, made, p.claims(uuid.New())))
		requireRejected(t, err, token.ErrUnknownKey)
	}
	require.Equal(t, start+1, p.fetches.Load(), "20 unknown kids, one fetch")

	// Even a real new key waits for the interval: rejected, no fetch.
	fresh := newECKey(t, "fresh")
	p.publish(t, fresh)
	_, err = v.Verify(t.Context(), sign(t, fresh, p.claims(uuid.New())))
	requireRejected(t, err, token.ErrUnknownKey)
	require.Equal(t, start+1, p.fetches.Load())
}

func TestFromRequest(t *testing.T) {
	t.Parallel()
	es := newECKey(t, "es-1")
	p := newProject(t, es)
	v := p.verifier(t, token.Config{JWKS: true})
	sub := uuid.New()
	for _, c := range []struct {
		header string
		reason error
	}{
		{"", token.ErrNoToken},
		{"Basic dXNlcjpwYXNz", token.ErrNoToken},
		{"Bearer", token.ErrNoToken},
		{"Bearer   ", token.ErrNoToken},
		{"Bearer " + sign(t, es, p.claims(sub)), nil},
		{"bearer " + sign(t, es, p.claims(sub)), nil},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		got, err := v.FromRequest(r)
		if c.reason == nil {
			require.NoError(t, err, c.header)
			require.Equal(t, sub, got.Sub)
			continue
		}
		requireRejected(t, err, c.reason)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, cfg := range []token.Config{
		{ProjectURL: "https://abcd.supabase.co"},                    // no key source
		{ProjectURL: "abcd.supabase.co", JWKS: true},                // not a URL
		{ProjectURL: "ftp://abcd.supabase.co", Secret: []byte("x")}, // not http(s)
	} {
		_, err := token.New(ctx, cfg)
		require.Error(t, err, "%+v", cfg)
	}
}

// A JWKS that cannot be fetched verifies nothing: the token is rejected as
// naming an unknown key, and New still returns (the fetch is retried when a
// token needs it).
func TestVerifyJWKSUnreachable(t *testing.T) {
	t.Parallel()
	es := newECKey(t, "es-1")
	p := newProject(t, es)
	p.srv.Close()
	v := p.verifier(t, token.Config{JWKS: true, HTTPClient: &http.Client{Timeout: time.Second}})
	_, err := v.Verify(t.Context(), sign(t, es, p.claims(uuid.New())))
	requireRejected(t, err, token.ErrUnknownKey)
}
