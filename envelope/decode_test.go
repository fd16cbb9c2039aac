package envelope

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// fixtureBody returns the body of a recorded eduMFA 2.9.5 response in
// testdata (copied from shared/fixtures/edumfa-2.9.5).
func fixtureBody(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

var fixtureResponses = []string{
	"c01-child-post-bob-right-pin.response.http",
	"c02-child-post-bob-wrong-pin.response.http",
	"c04-child-post-unknown-user.response.http",
	"c05-child-post-missing-pass.response.http",
	"k03-child-get-system-config.response.http",
	"p01-parent-post-bob-parent-pin.response.http",
	"p02-parent-post-bob-child-pin.response.http",
	"p02-parent-post-bob-child-pin.fwd-response.http",
}

func TestDecodeMarshal_ReproducesEduMFABodiesByteForByte(t *testing.T) {
	for _, name := range fixtureResponses {
		t.Run(name, func(t *testing.T) {
			body := fixtureBody(t, name)
			v, err := Decode(body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, body) {
				t.Errorf("round trip differs:\n got %s\nwant %s", got, body)
			}
		})
	}
}

func TestDecode_KeepsOrderTypesAndPythonDictSemantics(t *testing.T) {
	v, err := Decode([]byte(`{"b": 1, "a": [1.0, "x", null, true], "b": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	o := v.(Object)
	if len(o) != 2 || o[0].Key != "b" || o[0].Value != json.Number("2") {
		t.Errorf("repeated key: got %v, want b first with the last value", o)
	}
	a := o[1].Value.([]any)
	if a[0] != json.Number("1.0") || a[1] != "x" || a[2] != nil || a[3] != true {
		t.Errorf("array = %#v", a)
	}
}

func TestDecode_RejectsTrailingDataAndNonObjects(t *testing.T) {
	if _, err := Decode([]byte(`{} {}`)); err == nil {
		t.Error("trailing value accepted")
	}
	if _, err := Decode([]byte(`{"a": `)); err == nil {
		t.Error("truncated body accepted")
	}
	if _, err := DecodeObject([]byte(`[1]`)); err == nil {
		t.Error("DecodeObject accepted an array")
	}
}
