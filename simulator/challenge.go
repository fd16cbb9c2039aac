package simulator

import (
	"crypto/rand"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/edumfa-federation/edumfa-federation/envelope"
)

// challengeValidity is eduMFA's DefaultChallengeValidityTime.
const challengeValidity = 120 * time.Second

// challengeText is eduMFA's default challenge message (note the trailing
// space).
const challengeText = "please enter otp: "

// preferredClientModes is eduMFA's default order for the postpolicy
// preferred_client_mode.
var preferredClientModes = []string{"interactive", "webauthn", "poll", "u2f"}

// challenge is one open challenge of one token.
type challenge struct {
	transactionID string
	serial        string
	expires       time.Time
	// status: "" pending, "accept" answered out of band, "declined".
	status string
}

// valid reports whether the challenge has not expired.
func (ch *challenge) valid() bool { return time.Now().Before(ch.expires) }

// newTransactionID is a 20-digit transaction id like eduMFA's.
func newTransactionID() string {
	var b strings.Builder
	for range 20 {
		n, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + n.Int64()))
	}
	return b.String()
}

// hasChallenge reports whether the token has a valid challenge of the
// transaction. Caller holds s.mu.
func (s *Server) hasChallenge(serial, transactionID string) bool {
	for _, ch := range s.challenges {
		if ch.serial == serial && ch.transactionID == transactionID && ch.valid() {
			return true
		}
	}
	return false
}

// dropTransaction deletes every challenge of the transaction. Caller holds s.mu.
func (s *Server) dropTransaction(transactionID string) {
	s.challenges = slices.DeleteFunc(s.challenges, func(ch *challenge) bool { return ch.transactionID == transactionID })
}

// createChallenges is eduMFA's create_challenges_from_tokens: one
// transaction for all tokens, each token's challenge info merged into
// detail (the deprecated top-level copy) and listed in multi_challenge.
// Caller holds s.mu.
func (s *Server) createChallenges(toks []*token, detail map[string]any) {
	tid := newTransactionID()
	multi := []any{}
	messages := []any{}
	var ids []any
	for _, t := range toks {
		messages = append(messages, challengeText)
		info := map[string]any{
			"client_mode":    "interactive",
			"message":        challengeText,
			"serial":         t.serial,
			"transaction_id": tid,
			"type":           t.kind,
		}
		for k, v := range info {
			detail[k] = v
		}
		multi = append(multi, info)
		ids = append(ids, tid)
		s.challenges = append(s.challenges, &challenge{transactionID: tid, serial: t.serial, expires: time.Now().Add(challengeValidity)})
	}
	if len(messages) > 0 {
		parts := make([]string, len(messages))
		for i, m := range messages {
			parts[i] = m.(string)
		}
		detail["message"] = strings.Join(parts, ", ")
	}
	detail["messages"] = messages
	detail["multi_challenge"] = multi
	if ids == nil {
		ids = []any{}
	}
	detail["transaction_ids"] = ids
}

// challengeDetail orders a detail as eduMFA sends it: sorted by jsonify,
// then the postpolicy preferred_client_mode appended when there are
// challenges.
func (s *Server) challengeDetail(detail map[string]any) envelope.Object {
	if s.cfg.ThreadID != 0 {
		detail["threadid"] = s.cfg.ThreadID
	}
	o := envelope.SortedObject(detail)
	multi, _ := detail["multi_challenge"].([]any)
	if len(multi) == 0 {
		return o
	}
	modes := map[string]bool{}
	for _, m := range multi {
		if info, ok := m.(map[string]any); ok {
			modes[str(info["client_mode"])] = true
		}
	}
	for _, mode := range preferredClientModes {
		if modes[mode] {
			return append(o, envelope.Member{Key: "preferred_client_mode", Value: mode})
		}
	}
	return o
}

// ConfirmTransaction marks the open challenges of a transaction as answered
// out of band (like an approved push notification), so that
// /validate/polltransaction reports "accept". It reports whether the
// transaction exists.
func (s *Server) ConfirmTransaction(transactionID string) bool {
	return s.setTransactionStatus(transactionID, "accept")
}

// DeclineTransaction marks the open challenges of a transaction as declined,
// so that /validate/polltransaction reports "declined" (authentication
// DECLINED). It reports whether the transaction exists.
func (s *Server) DeclineTransaction(transactionID string) bool {
	return s.setTransactionStatus(transactionID, "declined")
}

func (s *Server) setTransactionStatus(transactionID, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	for _, ch := range s.challenges {
		if ch.transactionID == transactionID {
			ch.status = status
			found = true
		}
	}
	return found
}
