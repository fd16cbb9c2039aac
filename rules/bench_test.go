package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// typicalCondition is eduMFA's federate-to-child definition converted to
// CEL (spec §7.3): forward what the parent did not accept, for clients of
// one network but one host.
const typicalCondition = `!(response.json.?result.?value.orValue(false) in [true, 1, "1", "True", "true", "TRUE"]) &&
  (g.client_ip == "" || ipIn(g.client_ip, "10.0.0.0/8,-10.0.0.13"))`

func BenchmarkMatch_TypicalCondition(b *testing.B) {
	r := compileRule(b, typicalCondition, Post)
	in := fixtureInput(b, "reject.response.http")
	in.G.ClientIP = "10.1.2.3"
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if !r.Match(ctx, in) {
			b.Fatal("no match")
		}
	}
}

// hundredRules writes one file of 100 validate_check post rules whose
// conditions differ by realm; the last one matches the input.
func hundredRules(b *testing.B) string {
	var sb strings.Builder
	sb.WriteString("servers:\n  child:\n    url: https://child.example.org\nrules:\n")
	for i := range 100 {
		fmt.Fprintf(&sb, `  - name: rule-%03d
    event: validate_check
    ordering: %d
    condition: >-
      request.all_data.?realm.orValue("") == "realm-%03d" &&
      response.json.?result.?value.orValue(false) == false &&
      ipIn(g.client_ip, "10.0.0.0/8")
    handler: Federation
    action: forward
    options: {eduMFA: child, realm: childrealm}
`, i, i, i)
	}
	p := filepath.Join(b.TempDir(), "hundred.yaml")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

func Benchmark100RulesOneEvent(b *testing.B) {
	s := mustLoad(b, hundredRules(b))
	in := fixtureInput(b, "reject.response.http")
	in.Request.AllData["realm"] = "realm-099"
	in.G.ClientIP = "10.1.2.3"
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		matched := 0
		for _, r := range s.Rules("validate_check", Post) {
			if r.Match(ctx, in) {
				matched++
			}
		}
		if matched != 1 {
			b.Fatalf("%d rules matched, want 1", matched)
		}
	}
}

func BenchmarkLoad_100Rules(b *testing.B) {
	p := hundredRules(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(p, testHandlers()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIPIn(b *testing.B) {
	for b.Loop() {
		if ok, err := IPIn("10.1.2.3", "10.0.0.0/8,-10.0.0.13"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkAllData_Form(b *testing.B) {
	body := []byte("user=bob&pass=bob-child&realm=childrealm&client=192.0.2.77")
	b.ReportAllocs()
	for b.Loop() {
		AllData("POST", "", "application/x-www-form-urlencoded", body, "FreeRADIUS", nil)
	}
}

func BenchmarkParseResponseJSON(b *testing.B) {
	raw, err := os.ReadFile("testdata/fixtures/success.response.http")
	if err != nil {
		b.Fatal(err)
	}
	body := raw[strings.Index(string(raw), "\r\n\r\n")+4:]
	b.ReportAllocs()
	for b.Loop() {
		ParseResponseJSON(body)
	}
}
