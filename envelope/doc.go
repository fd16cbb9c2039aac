// Package envelope writes and reads eduMFA's JSON response envelopes.
//
// eduMFA answers every API call with an envelope: {"detail", "id", "jsonrpc",
// "result", "time", "version", "versionnumber"} in Python's sort_keys order,
// serialised by json.dumps with ", " and ": " separators and ASCII-only
// escapes, with "nonce" and "signature" appended after the sorted members.
// This package reproduces that byte shape (Marshal, Decode), builds success
// and error envelopes (Maker, Success, Error), signs and verifies them the
// way eduMFA does (Sign, Verify), and names the error codes the gateway
// answers with itself (Code* constants, Status).
package envelope
