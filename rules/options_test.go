package rules

import (
	"reflect"
	"testing"
)

// Options are typed by the schema: string, bool, int64, and server
// identifiers as strings.
func TestOptions_Typed(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"o.yaml": `servers:
  child:
    url: https://child.example.org
rules:
  - name: fed
    event: validate_check
    handler: Federation
    action: forward
    options:
      eduMFA: child
      realm: ""
      resolver: "0123"
      forward_client_ip: false
      forward_authorization_token: True
  - name: int
    event: auth
    handler: Test
    action: act
    options:
      count: 0x10
`})
	s := mustLoad(t, dir)
	fed, _ := s.Rule("fed")
	want := map[string]any{"eduMFA": "child", "realm": "", "resolver": "0123", "forward_client_ip": false, "forward_authorization_token": true}
	if !reflect.DeepEqual(fed.Options, want) {
		t.Errorf("Options = %#v, want %#v", fed.Options, want)
	}
	n, _ := s.Rule("int")
	if !reflect.DeepEqual(n.Options, map[string]any{"count": int64(16)}) {
		t.Errorf("int options = %#v", n.Options)
	}
}

func TestOptions_NotAMapping(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"o.yaml": "rules:\n  - name: r\n    event: auth\n    handler: Federation\n    action: forward\n    options: [eduMFA]\n"})
	_, err := Load(dir, testHandlers())
	le, ok := err.(*LoadError)
	if !ok || len(le.Problems) != 1 || le.Problems[0].Line != 6 || le.Problems[0].Reason != "options: want a mapping, got list" {
		t.Errorf("err = %v", err)
	}
}
