package envelope

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func publicKey(t *testing.T, name string) *rsa.PublicKey {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PublicKey)
}

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func TestVerify_AcceptsEduMFAsOwnSignatures(t *testing.T) {
	tests := []struct{ fixture, key string }{
		{"c01-child-post-bob-right-pin.response.http", "child-public.pem"},
		{"c02-child-post-bob-wrong-pin.response.http", "child-public.pem"},
		{"c04-child-post-unknown-user.response.http", "child-public.pem"},
		{"c05-child-post-missing-pass.response.http", "child-public.pem"},
		{"k03-child-get-system-config.response.http", "child-public.pem"},
		{"p02-parent-post-bob-child-pin.fwd-response.http", "child-public.pem"},
		{"p01-parent-post-bob-parent-pin.response.http", "parent-public.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			if err := Verify(publicKey(t, tt.key), fixtureBody(t, tt.fixture)); err != nil {
				t.Error(err)
			}
		})
	}
}

// The parent signs its federated answer over a body that still holds the
// child's signature (spec §4.4): the usual procedure fails, and putting the
// child's signature back makes the parent's verify.
func TestVerify_FederatedAnswerOnlyVerifiesWithTheChildSignatureBackIn(t *testing.T) {
	parentKey := publicKey(t, "parent-public.pem")
	federated := fixtureBody(t, "p02-parent-post-bob-child-pin.response.http")
	if err := Verify(parentKey, federated); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Verify = %v, want ErrBadSignature", err)
	}
	child, _ := DecodeObject(fixtureBody(t, "p02-parent-post-bob-child-pin.fwd-response.http"))
	childSig, _ := child.Get("signature")
	content, _ := DecodeObject(federated)
	parentSig, _ := content.Get("signature")
	content.Set("signature", childSig)
	if err := verifyContent(parentKey, content, parentSig.(string)); err != nil {
		t.Errorf("with the child signature back: %v", err)
	}
	if err := Verify(publicKey(t, "child-public.pem"), federated); !errors.Is(err, ErrBadSignature) {
		t.Errorf("child key: Verify = %v, want ErrBadSignature", err)
	}
}

func TestSign_SignsLikeEduMFAAndReplacesAnOldSignature(t *testing.T) {
	body := fixtureBody(t, "c01-child-post-bob-right-pin.response.http")
	signed, err := Sign(testKey(), body)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(&testKey().PublicKey, signed); err != nil {
		t.Fatal(err)
	}
	// Same members, same order, only the signature differs.
	if got, want := normalised(t, signed), normalised(t, body); string(got) != string(want) {
		t.Errorf("Sign changed the body:\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(string(signed), `"versionnumber": "2.9.5", "signature": "rsa_sha256_pss:`) {
		t.Errorf("signature not last: %s", signed)
	}
	tampered := strings.Replace(string(signed), "CHSP-BOB", "CHSP-EVE", 1)
	if err := Verify(&testKey().PublicKey, []byte(tampered)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered body: Verify = %v", err)
	}
	if err := Verify(&testKey().PublicKey, Success(1, true, nil)); !errors.Is(err, ErrNoSignature) {
		t.Errorf("unsigned body: Verify = %v", err)
	}
}

func TestMaker_SignsWithNonceInTheSignedContent(t *testing.T) {
	m := eduMFA295
	m.Key = testKey()
	m.Nonce = "n-123"
	body := m.Success(2, true, map[string]any{"message": "matching 1 tokens"})
	if !strings.Contains(string(body), `"versionnumber": "2.9.5", "nonce": "n-123", "signature": "rsa_sha256_pss:`) {
		t.Errorf("nonce and signature not appended in eduMFA's order: %s", body)
	}
	if err := Verify(&testKey().PublicKey, body); err != nil {
		t.Error(err)
	}
}
