// Package simulator provides small built-in servers that imitate eduMFA
// 2.9.5 for `edumfa-federation dev` and for tests, as the parent and the
// children of a federation. They are simulators, not eduMFA: they say so
// in every response (header X-eduMFA-Simulator) and in their logs.
//
// A Server answers /validate/check, /validate/radiuscheck,
// /validate/samlcheck, /validate/triggerchallenge, /validate/polltransaction,
// /auth, /token/, /token/init and /system/ with the envelopes, status codes
// and headers recorded from real eduMFA servers (shared/fixtures/edumfa-2.9.5),
// including eduMFA's quirks: a second URL-unquote of form and query values
// for most User-Agents, "query beats form" on POST, user@realm splitting,
// ERR904/ERR905 with "detail": null, spass and HOTP (RFC 4226) tokens,
// challenge-response, and RSA-PSS response signatures. Unknown routes get
// Werkzeug's HTML pages. Every request is recorded for tests (Requests).
//
// Life of a Server: New (configure users, generate the signing key), serve
// any number of requests concurrently, Reset between test cases to restore
// tokens, counters and challenges and forget the recorded requests.
package simulator
