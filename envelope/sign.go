package envelope

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SignaturePrefix starts every eduMFA response signature.
const SignaturePrefix = "rsa_sha256_pss:"

// Errors of Verify.
var (
	// ErrNoSignature: the body has no string "signature" member with
	// SignaturePrefix.
	ErrNoSignature = errors.New("envelope: no signature")
	// ErrBadSignature: the signature does not match the body and key.
	ErrBadSignature = errors.New("envelope: signature does not verify")
)

// signature computes eduMFA's signature of content: RSA-PSS with SHA-256,
// MGF1-SHA-256 and the maximal salt length over the UTF-8 bytes of
// json.dumps(content, sort_keys=True), as "rsa_sha256_pss:" + lowercase hex.
func signature(key *rsa.PrivateKey, content Object) (string, error) {
	msg, err := MarshalSorted(content)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	if err != nil {
		return "", fmt.Errorf("envelope: sign: %w", err)
	}
	return SignaturePrefix + hex.EncodeToString(sig), nil
}

// Sign returns body signed with key the way eduMFA signs a response, except
// that an existing "signature" member is removed first (eduMFA signs over it,
// which makes its re-signed federated answers unverifiable, spec §4.4). The
// other members keep their order and bytes; the new signature is appended
// last. body must be a JSON object.
func Sign(key *rsa.PrivateKey, body []byte) ([]byte, error) {
	o, err := DecodeObject(body)
	if err != nil {
		return nil, err
	}
	o.Delete("signature")
	sig, err := signature(key, o)
	if err != nil {
		return nil, err
	}
	o = append(o, Member{"signature", sig})
	return Marshal(o)
}

// Verify checks the signature of an eduMFA response body the way eduMFA's
// own tests do: remove "signature", dump the rest with sorted keys, verify
// RSA-PSS/SHA-256 with any salt length. It returns ErrNoSignature,
// ErrBadSignature or a decoding error.
func Verify(pub *rsa.PublicKey, body []byte) error {
	o, err := DecodeObject(body)
	if err != nil {
		return err
	}
	v, _ := o.Delete("signature")
	s, ok := v.(string)
	if !ok || !strings.HasPrefix(s, SignaturePrefix) {
		return ErrNoSignature
	}
	return verifyContent(pub, o, s)
}

// verifyContent checks that sig is eduMFA's signature of content.
func verifyContent(pub *rsa.PublicKey, content Object, sig string) error {
	raw, err := hex.DecodeString(strings.TrimPrefix(sig, SignaturePrefix))
	if err != nil {
		return ErrBadSignature
	}
	msg, err := MarshalSorted(content)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(msg)
	if err := rsa.VerifyPSS(pub, crypto.SHA256, sum[:], raw, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
		return ErrBadSignature
	}
	return nil
}
