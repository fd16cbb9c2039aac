package forward

import (
	"bytes"
	"os"
	"regexp"
	"testing"
)

// The origin lands where eduMFA's handler puts it: compare with the
// parent's federated answer of capture p02, signature aside (the parent
// re-signs).
func TestSetOrigin_MatchesEduMFAFederatedAnswer(t *testing.T) {
	child, err := os.ReadFile("testdata/p02-child-answer.json")
	if err != nil {
		t.Fatal(err)
	}
	parent, err := os.ReadFile("testdata/p02-parent-answer.json")
	if err != nil {
		t.Fatal(err)
	}
	got, changed := setOrigin(child, "http://127.0.0.1:5001/validate/check")
	if !changed {
		t.Fatal("not changed")
	}
	sig := regexp.MustCompile(`"signature": "[^"]*"`)
	got = sig.ReplaceAll(got, []byte(`"signature": "-"`))
	want := sig.ReplaceAll(parent, []byte(`"signature": "-"`))
	if !bytes.Equal(got, want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestSetOrigin(t *testing.T) {
	const o = "http://child:5001/validate/check"
	tests := []struct {
		name    string
		in      string
		want    string
		changed bool
	}{
		{"detail null becomes an object in place",
			`{"detail": null, "id": 1, "result": {"status": false}}`,
			`{"detail": {"origin": "http://child:5001/validate/check"}, "id": 1, "result": {"status": false}}`, true},
		{"detail absent: appended",
			`{"id": 1, "result": {"status": true}}`,
			`{"id": 1, "result": {"status": true}, "detail": {"origin": "http://child:5001/validate/check"}}`, true},
		{"detail empty object",
			`{"detail": {}, "id": 1}`,
			`{"detail": {"origin": "http://child:5001/validate/check"}, "id": 1}`, true},
		{"existing origin replaced in place",
			`{"detail": {"origin": "http://grandchild/validate/check", "message": "m"}}`,
			`{"detail": {"origin": "http://child:5001/validate/check", "message": "m"}}`, true},
		{"compact JSON stays compact",
			`{"detail":{"message":"m"},"id":2}`,
			`{"detail":{"message":"m","origin":"http://child:5001/validate/check"},"id":2}`, true},
		{"detail of another type untouched", `{"detail": "text"}`, `{"detail": "text"}`, false},
		{"empty body (radiuscheck 204)", ``, ``, false},
		{"HTML", `<html>502</html>`, `<html>502</html>`, false},
		{"JSON array", `[{"detail": null}]`, `[{"detail": null}]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := setOrigin([]byte(tt.in), o)
			if string(got) != tt.want || changed != tt.changed {
				t.Errorf("got %s (changed %v)\nwant %s (changed %v)", got, changed, tt.want, tt.changed)
			}
		})
	}
}

func TestSetOrigin_ERR904Envelope(t *testing.T) {
	body, err := os.ReadFile("testdata/c04-child-answer-err904.json")
	if err != nil {
		t.Fatal(err)
	}
	got, changed := setOrigin(body, "http://127.0.0.1:5001/validate/check")
	want := bytes.Replace(body, []byte(`"detail": null`), []byte(`"detail": {"origin": "http://127.0.0.1:5001/validate/check"}`), 1)
	if !changed || !bytes.Equal(got, want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
