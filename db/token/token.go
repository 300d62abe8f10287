// Package token turns a Supabase access token into db.Claims, only after
// verifying it: the signature (the project's asymmetric signing keys from
// its JWKS, and the legacy shared HS256 secret), exp and nbf with a small
// leeway, iss and aud, as Supabase's own services do, and then the role and
// sub of a user. Without this, every policy in the database is only as good
// as the hand-written check in front of it.
//
//	v, err := token.New(ctx, token.Config{ProjectURL: "https://<ref>.supabase.co", JWKS: true})
//	...
//	claims, err := v.FromRequest(r) // "Authorization: Bearer <access token>"
//	if err != nil { http.Error(w, "unauthorized", http.StatusUnauthorized); return }
//	err = d.Do(r.Context(), claims, func(req *db.Request) error { ... })
//
// It accepts user access tokens only: aud "authenticated", role
// "authenticated" and a user id in sub; the claims it returns always have
// role authenticated. A user token never chooses its role: one signed by the
// project that names any other role (service_role, anon, postgres, an empty
// or missing one, ...) gets ErrRole, so a signed-in user cannot turn into
// service_role, which bypasses row level security.
//
// The project's API keys are never an identity: the legacy anon key and the
// publishable keys (sb_publishable_...) are public and get ErrPublicAPIKey,
// which a service that serves anonymous callers may treat as "no token"
// (db.Anon()); the legacy service_role key and the secret keys
// (sb_secret_...) get ErrSecretAPIKey, because a secret key that arrives in
// a request has leaked. service_role comes only from the service's own
// configuration (db.ServiceRole()), never from a caller's token.
//
// Signature checks are github.com/golang-jwt/jwt/v5's and the JWKS cache is
// github.com/MicahParks/keyfunc/v3's: no cryptography is written here.
package token

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/mentordb/mentordb/db"
)

// Audience is the aud of a signed-in user's access token.
const Audience = "authenticated"

// Defaults of Config's durations.
const (
	DefaultLeeway             = 10 * time.Second
	DefaultRefreshInterval    = 10 * time.Minute
	DefaultMinRefreshInterval = time.Minute

	unknownKIDWaitMax = 5 * time.Second
)

// Config says which tokens a Verifier trusts. At least one of JWKS and
// Secret must be set.
type Config struct {
	// ProjectURL is the project's URL, e.g. https://<ref>.supabase.co. The
	// issuer a token must name is ProjectURL + "/auth/v1".
	ProjectURL string
	// JWKS: accept tokens signed with the project's asymmetric signing keys
	// (ES256, RS256), published at ProjectURL +
	// "/auth/v1/.well-known/jwks.json" (or JWKSURL).
	JWKS    bool
	JWKSURL string
	// Secret is the project's legacy JWT secret: accept HS256 tokens signed
	// with it. Nil: HS256 tokens are rejected (ErrAlgorithm).
	Secret []byte
	// Leeway is the clock skew allowed on exp, nbf and iat
	// (DefaultLeeway when zero).
	Leeway time.Duration
	// RefreshInterval is how often the JWKS is fetched in the background
	// (DefaultRefreshInterval when zero).
	RefreshInterval time.Duration
	// MinRefreshInterval bounds the fetches an unknown kid causes: at most
	// one per interval (DefaultMinRefreshInterval when zero). A token with
	// an unknown kid inside the interval is rejected without a fetch (it
	// waits, at most 5 s, only when the interval ends that soon), so a
	// stream of made-up kids cannot turn the service into a load on the
	// auth server.
	MinRefreshInterval time.Duration
	// HTTPClient fetches the JWKS (a client with a 10 s timeout when nil).
	HTTPClient *http.Client
}

// Verifier verifies access tokens of one project. It is safe for concurrent
// use; the JWKS is refreshed in the background until the ctx given to New
// is done.
type Verifier struct {
	issuer string
	secret []byte
	jwks   keyfunc.Keyfunc
	leeway time.Duration
}

// New returns a Verifier for cfg. With JWKS it starts fetching the key set;
// a first fetch that fails is logged, not returned, and retried when a
// token names a key (at the bounded rate).
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	u, err := url.Parse(cfg.ProjectURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("token: ProjectURL %q is not an http(s) URL", cfg.ProjectURL)
	}
	if !cfg.JWKS && len(cfg.Secret) == 0 {
		return nil, errors.New("token: Config needs JWKS, Secret, or both")
	}
	base := strings.TrimSuffix(cfg.ProjectURL, "/")
	v := &Verifier{issuer: base + "/auth/v1", secret: cfg.Secret, leeway: orDefault(cfg.Leeway, DefaultLeeway)}
	if cfg.JWKS {
		jwksURL := cfg.JWKSURL
		if jwksURL == "" {
			jwksURL = v.issuer + "/.well-known/jwks.json"
		}
		client := cfg.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Second}
		}
		v.jwks, err = keyfunc.NewDefaultOverrideCtx(ctx, []string{jwksURL}, keyfunc.Override{
			Client:            client,
			RefreshInterval:   orDefault(cfg.RefreshInterval, DefaultRefreshInterval),
			RefreshUnknownKID: rate.NewLimiter(rate.Every(orDefault(cfg.MinRefreshInterval, DefaultMinRefreshInterval)), 1),
			// The most a request waits for the limiter and the fetch that
			// follows (the library bounds both by this one timeout). The
			// limiter refuses at once a wait longer than that, so inside
			// the interval an unknown kid is rejected without waiting.
			RateLimitWaitMax: unknownKIDWaitMax,
			HTTPTimeout:      10 * time.Second,
		})
		if err != nil {
			return nil, fmt.Errorf("token: JWKS %s: %w", jwksURL, err)
		}
	}
	return v, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// FromRequest verifies the bearer token of r's Authorization header.
func (v *Verifier) FromRequest(r *http.Request) (db.Claims, error) {
	scheme, raw, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return db.Claims{}, &Error{Reason: ErrNoToken}
	}
	return v.Verify(r.Context(), strings.TrimSpace(raw))
}

// supabaseClaims is the payload of a Supabase access token, as far as db
// needs it.
type supabaseClaims struct {
	jwt.RegisteredClaims
	Role         string         `json:"role"`
	Email        string         `json:"email"`
	UserMetadata map[string]any `json:"user_metadata"`
	AppMetadata  map[string]any `json:"app_metadata"`
}

// Verify returns the claims of raw, a user's access token, or an *Error
// saying why it is rejected. The claims it returns always have role
// authenticated and a non-nil Sub.
func (v *Verifier) Verify(ctx context.Context, raw string) (db.Claims, error) {
	switch {
	case raw == "":
		return db.Claims{}, &Error{Reason: ErrNoToken}
	case strings.HasPrefix(raw, "sb_publishable_"):
		return db.Claims{}, reject(ErrPublicAPIKey, "a publishable key")
	case strings.HasPrefix(raw, "sb_secret_"):
		return db.Claims{}, reject(ErrSecretAPIKey, "a secret key")
	}
	var c supabaseClaims
	_, err := jwt.ParseWithClaims(raw, &c, v.key(ctx),
		jwt.WithLeeway(v.leeway), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil {
		return db.Claims{}, classify(err)
	}
	// The signature is the project's from here on.
	if len(c.Audience) == 0 {
		switch c.Role {
		case db.RoleAnon:
			return db.Claims{}, reject(ErrPublicAPIKey, "the legacy anon key")
		case db.RoleServiceRole:
			return db.Claims{}, reject(ErrSecretAPIKey, "the legacy service_role key")
		}
	}
	if c.Issuer != v.issuer {
		return db.Claims{}, reject(ErrIssuer, "iss %q, want %q", c.Issuer, v.issuer)
	}
	if !slices.Contains([]string(c.Audience), Audience) {
		return db.Claims{}, reject(ErrAudience, "aud %q, want %q", []string(c.Audience), Audience)
	}
	// A user token is a user, whatever role it names: the project's
	// signature on it proves who signed in, not that the caller may act as
	// service_role (which bypasses row level security) or as anyone else.
	if c.Role != db.RoleAuthenticated {
		return db.Claims{}, reject(ErrRole, "role %q", c.Role)
	}
	if c.Subject == "" {
		return db.Claims{}, reject(ErrClaims, "a user token without sub")
	}
	sub, err := uuid.Parse(c.Subject)
	if err != nil || sub == uuid.Nil {
		return db.Claims{}, reject(ErrClaims, "sub %q is not a user id", c.Subject)
	}
	return db.Claims{Sub: sub, Role: db.RoleAuthenticated, Email: c.Email, UserMetadata: c.UserMetadata, AppMetadata: c.AppMetadata}, nil
}

// key picks the key for the token's alg: HS256 only with the secret, ES256
// and RS256 only from the JWKS, anything else (none included) never.
func (v *Verifier) key(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		switch alg := t.Method.Alg(); alg {
		case jwt.SigningMethodHS256.Alg():
			if len(v.secret) == 0 {
				return nil, reject(ErrAlgorithm, "HS256, and no shared secret is configured")
			}
			return v.secret, nil
		case jwt.SigningMethodES256.Alg(), jwt.SigningMethodRS256.Alg():
			if v.jwks == nil {
				return nil, reject(ErrAlgorithm, "%s, and no JWKS is configured", alg)
			}
			k, err := v.jwks.KeyfuncCtx(ctx)(t)
			if err != nil {
				return nil, &Error{Reason: ErrUnknownKey, Err: err}
			}
			return k, nil
		default:
			return nil, reject(ErrAlgorithm, "%q", alg)
		}
	}
}

// classify turns the JWT library's error into an *Error.
func classify(err error) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, jwt.ErrTokenMalformed):
		return &Error{Reason: ErrMalformed, Err: err}
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return &Error{Reason: ErrSignature, Err: err}
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return &Error{Reason: ErrExpired, Err: err}
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return &Error{Reason: ErrNotYetValid, Err: err}
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return &Error{Reason: ErrUnknownKey, Err: err}
	}
	return &Error{Reason: ErrMalformed, Err: err}
}
