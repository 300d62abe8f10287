package token

import (
	"errors"
	"fmt"
)

// Reasons a token is rejected, for errors.Is. Every rejection is an *Error
// whose Reason is one of these; none of them reaches the database.
var (
	// ErrNoToken: the request has no "Authorization: Bearer <token>" header.
	ErrNoToken = errors.New("no bearer token")
	// ErrMalformed: the token is not a well-formed JWT.
	ErrMalformed = errors.New("malformed token")
	// ErrAlgorithm: the token's alg is not one this verifier accepts: none,
	// anything but ES256 and RS256 from the JWKS and HS256 with the shared
	// secret, or HS256 when no secret is configured (the classic confusion
	// of a public key used as an HMAC secret ends here).
	ErrAlgorithm = errors.New("signing algorithm not accepted")
	// ErrUnknownKey: the token's kid is not in the project's JWKS, even
	// after a refresh (or a refresh was not allowed yet, see
	// Config.MinRefreshInterval, or the JWKS could not be fetched).
	ErrUnknownKey = errors.New("signing key not in the project's JWKS")
	// ErrSignature: the signature does not verify with the key it names.
	ErrSignature = errors.New("invalid signature")
	// ErrExpired: exp is in the past (beyond the leeway), or missing.
	ErrExpired = errors.New("token expired")
	// ErrNotYetValid: nbf or iat is in the future (beyond the leeway).
	ErrNotYetValid = errors.New("token not valid yet")
	// ErrIssuer: iss is not <project URL>/auth/v1.
	ErrIssuer = errors.New("wrong issuer")
	// ErrAudience: aud does not hold "authenticated".
	ErrAudience = errors.New("wrong audience")
	// ErrRole: a user token (aud "authenticated") whose role is not
	// "authenticated": service_role, anon, postgres, empty or missing, or
	// anything else. A user token never chooses its role; a service acts
	// as service_role with db.ServiceRole() and as anon with db.Anon(), on
	// its own authority.
	ErrRole = errors.New("a user token's role must be authenticated")
	// ErrClaims: a user token's sub is missing or not a user id (a UUID,
	// not the nil one).
	ErrClaims = errors.New("invalid claims")
	// ErrPublicAPIKey: the token is one of the project's public API keys
	// (the legacy anon key, or a publishable key sb_publishable_...). It
	// identifies no user: anyone holding the app has it. A service that
	// serves anonymous callers treats it like ErrNoToken (db.Anon()).
	ErrPublicAPIKey = errors.New("a public API key is not a user's token")
	// ErrSecretAPIKey: the token is one of the project's secret API keys
	// (the legacy service_role key, or a secret key sb_secret_...). Never
	// accepted from a request: a secret key sent by a caller has leaked.
	// A service acts as service_role with db.ServiceRole() on its own
	// authority, not a header's.
	ErrSecretAPIKey = errors.New("a secret API key is never accepted from a request")
)

// Error is a rejected token.
type Error struct {
	Reason error // one of the sentinels above
	Err    error // the detail (the JWT library's error, or a description); may be nil
}

func (e *Error) Error() string {
	if e.Err == nil {
		return "token: " + e.Reason.Error()
	}
	return fmt.Sprintf("token: %v: %v", e.Reason, e.Err)
}

// Unwrap lets errors.Is match the reason and anything in the detail.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}

func reject(reason error, format string, args ...any) *Error {
	return &Error{Reason: reason, Err: fmt.Errorf(format, args...)}
}
