// Package signers is the root of apisign's signing core: the error codes every
// package shares and the plain request/response values the signers, token sources
// and retry loop work on.
//
// Nothing under signers/ imports net/http or syscall/js: the same code is linked
// into the browser module (GOOS=js, where net/http would add about 1.8 MB gzip),
// the Cloudflare Worker broker and native programs. The net/http adapters
// (RoundTrippers, oauth2 token sources) live in signers/httpauth.
package signers

import (
	"context"
	"errors"
	"strconv"
)

// Code is a stable, machine-readable error code. The browser module copies it
// into the `code` property of the JS Error it throws, so the strings never change.
type Code string

// The codes. A new failure mode gets a new code only when a caller would handle it
// differently from every existing one.
const (
	CodeInput        Code = "E_INPUT"         // malformed argument: method, URL, path, header, Retry-After, …
	CodeKey          Code = "E_KEY"           // a key or secret that cannot be used (empty, not base64)
	CodeToken        Code = "E_TOKEN"         // a token or token response that cannot be read (JWT shape, JSON, missing fields)
	CodeTokenExpired Code = "E_TOKEN_EXPIRED" // no usable token: the held one expired (known exp) and getting a new one failed
	CodeTokenRefused Code = "E_TOKEN_REFUSED" // the server refused the token again, after one refresh
	CodeSignature    Code = "E_SIGNATURE"     // verification failed: the signature does not match
	CodeClock        Code = "E_CLOCK"         // verification failed: the timestamp is outside the allowed window
	CodeReplay       Code = "E_REPLAY"        // verification failed: the nonce was already used within the window
	CodeHTTP         Code = "E_HTTP"          // the server answered with a status the flow cannot use
	CodeNetwork      Code = "E_NETWORK"       // the request did not get an answer
	CodeAborted      Code = "E_ABORTED"       // the caller's context / AbortSignal ended the operation
	CodeConfig       Code = "E_CONFIG"        // a component is not configured (e.g. a broker provider without secrets)
	CodeInternal     Code = "E_INTERNAL"      // a bug: an unexpected failure, recovered
)

// Error is the one error type of apisign. Its message never contains a secret:
// constructors take only what is safe to show (names of fields, statuses, lengths).
type Error struct {
	Code   Code
	Op     string // what was being done, e.g. "nfon.Sign"
	Msg    string // human-readable detail, secret-free
	Status int    // HTTP status for CodeHTTP / CodeTokenExpired / CodeTokenRefused answers, else 0
	Err    error  // underlying cause, if any (also secret-free)
}

func (e *Error) Error() string {
	s := string(e.Code)
	if e.Op != "" {
		s += " " + e.Op
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's code, so that
// errors.Is(err, signers.ErrInput) works for every E_INPUT error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Op == "" && t.Msg == "" && t.Err == nil && t.Status == 0 && t.Code == e.Code
}

// Sentinels for errors.Is, one per code.
var (
	ErrInput        = &Error{Code: CodeInput}
	ErrKey          = &Error{Code: CodeKey}
	ErrToken        = &Error{Code: CodeToken}
	ErrTokenExpired = &Error{Code: CodeTokenExpired}
	ErrTokenRefused = &Error{Code: CodeTokenRefused}
	ErrSignature    = &Error{Code: CodeSignature}
	ErrClock        = &Error{Code: CodeClock}
	ErrReplay       = &Error{Code: CodeReplay}
	ErrHTTP         = &Error{Code: CodeHTTP}
	ErrNetwork      = &Error{Code: CodeNetwork}
	ErrAborted      = &Error{Code: CodeAborted}
	ErrConfig       = &Error{Code: CodeConfig}
	ErrInternal     = &Error{Code: CodeInternal}
)

// Errorf-free constructor: E(code, op, msg) builds an *Error. It takes a plain
// message rather than a format so that a secret cannot slip in through a %v.
func E(code Code, op, msg string) *Error { return &Error{Code: code, Op: op, Msg: msg} }

// Answered is the E_HTTP error of an answer whose status the caller does not
// take: "<what> answered <status>", with Status set (what names the request,
// such as "POST /api/v1/startup", never a URL with its query).
func Answered(op, what string, status int) *Error {
	return &Error{Code: CodeHTTP, Op: op, Status: status, Msg: what + " answered " + strconv.Itoa(status)}
}

// Wrap builds an *Error around a cause. If cause is a context error the code
// becomes CodeAborted; if it is already an *Error it is returned unchanged.
func Wrap(code Code, op string, cause error) error {
	if cause == nil {
		return nil
	}
	var e *Error
	if errors.As(cause, &e) {
		return cause
	}
	if errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
		return &Error{Code: CodeAborted, Op: op, Msg: "aborted", Err: cause}
	}
	return &Error{Code: code, Op: op, Err: cause}
}

// CodeOf returns the code of err: the code of the first *Error in its chain,
// CodeAborted for a context error, CodeInternal for anything else, "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return CodeAborted
	}
	return CodeInternal
}
