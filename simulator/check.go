package simulator

import (
	"fmt"
	"slices"
)

// checkTokens is eduMFA's check_token_list for the simulated token types:
// it sorts the tokens into challenge responses, challenge requests, valid,
// PIN-matching and invalid ones and answers for the best class present.
// transactionID is the request's transaction_id (or state). Caller holds s.mu.
func (s *Server) checkTokens(toks []*token, pass, transactionID string) (bool, map[string]any) {
	// eduMFA weighs tokens by the first letter of their type.
	toks = slices.Clone(toks)
	slices.SortStableFunc(toks, func(a, b *token) int { return int(a.kind[0]) - int(b.kind[0]) })

	var responses, requests, valid, pinMatching, invalid []*token
	for _, t := range toks {
		switch {
		case transactionID != "":
			if s.hasChallenge(t.serial, transactionID) {
				responses = append(responses, t)
			} else {
				// A transaction that never existed or has expired.
				invalid = append(invalid, t)
			}
		case t.challenge && pass == t.pin:
			requests = append(requests, t)
		default:
			pinOK, ok := t.authenticate(pass)
			switch {
			case ok:
				valid = append(valid, t)
			case pinOK:
				pinMatching = append(pinMatching, t)
			default:
				invalid = append(invalid, t)
			}
		}
	}

	detail := map[string]any{}
	switch {
	case len(valid) > 0:
		detail["type"] = valid[0].kind
		for _, t := range valid[1:] {
			if t.kind != valid[0].kind {
				detail["type"] = "undetermined"
			}
		}
		if len(valid) == 1 {
			detail["serial"] = valid[0].serial
			detail["otplen"] = hotpDigits
		}
		detail["message"] = fmt.Sprintf("matching %d tokens", len(valid))
		return true, detail

	case len(responses) > 0:
		for _, t := range responses {
			if t.checkOTP(pass) {
				detail["serial"] = t.serial
				detail["message"] = "Found matching challenge"
				s.dropTransaction(transactionID)
				return true, detail
			}
		}
		if len(responses) == 1 {
			detail["serial"] = responses[0].serial
			detail["type"] = responses[0].kind
			detail["message"] = "Response did not match the challenge."
		} else {
			detail["message"] = fmt.Sprintf("Response did not match for %d tokens.", len(responses))
		}
		return false, detail

	case len(requests) > 0:
		s.createChallenges(requests, detail)
		return false, detail

	case len(pinMatching) > 0:
		detail["message"] = "wrong otp value"
		if len(pinMatching) == 1 {
			t := pinMatching[0]
			if _, otp := splitPIN(pass); t.isPreviousOTP(otp) {
				detail["message"] = "wrong otp value. previous otp used again"
			}
			detail["serial"] = t.serial
			detail["type"] = t.kind
			detail["otplen"] = hotpDigits
		}
		return false, detail

	case len(invalid) > 0:
		detail["message"] = "wrong otp pin"
		return false, detail
	}
	detail["message"] = "No suitable token found for authentication."
	return false, detail
}
