package host_test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edumfa-federation/edumfa-federation/host"
)

// httpsClient trusts ca and opens a new connection for every request, so
// that each one is a handshake with the certificate in force.
func httpsClient(ca *testCA, certs ...tls.Certificate) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: ca.pool(), Certificates: certs},
		DisableKeepAlives: true,
		ForceAttemptHTTP2: true,
	}}
}

// served is the certificate serial a new connection to url is served
// with, and the protocol of the answer.
func served(c *http.Client, url string) (serial int64, proto string, err error) {
	resp, err := c.Get(url + "/auth")
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), resp.Proto, nil
}

// TestTLS_HTTPSAndCertificateRotation serves the eduMFA API over HTTPS
// (TLS 1.2 at least; plain HTTP refused), then renews the certificate the
// way certbot does, by writing new files under an unchanged config: the
// watcher alone puts the new pair in force (a new connection sees its
// serial). A key that does not match the certificate keeps the old pair,
// is reported once (status and log) and its fix clears the error. Turning
// TLS off in the config is reported as needing a restart and not applied.
func TestTLS_HTTPSAndCertificateRotation(t *testing.T) {
	ca := newTestCA(t, "gateway CA")
	cert1, key1 := ca.issue(t, 1001, false)
	cfg := "listen: 127.0.0.1:0\nrules: rules\nadmin: {listen: 127.0.0.1:0}\n"
	tlsBlock := "tls: {cert_file: tls/gateway.pem, key_file: tls/gateway-key.pem}\n"
	f := newFixture(t, fixtureOpts{
		config: cfg + tlsBlock,
		files: map[string]string{
			"tls/gateway.pem": string(cert1), "tls/gateway-key.pem": string(key1),
			"rules/empty.yaml": "rules: []\n",
		},
		watch: true,
	})
	gw := "https://" + f.srv.Addr()
	client := httpsClient(ca)
	if serial, _, err := served(client, gw); err != nil || serial != 1001 {
		t.Fatalf("HTTPS: serial %d, %v", serial, err)
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool(), MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get(gw + "/auth"); err == nil {
		t.Fatal("a TLS 1.1 client was served")
	}
	resp, err := http.Get("http://" + f.srv.Addr() + "/auth")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain HTTP on the TLS listener: %s", resp.Status)
	}

	// Renewal: new files, the config untouched.
	start := f.status()
	cert2, key2 := ca.issue(t, 1002, false)
	f.save("tls/gateway-key.pem", string(key2))
	f.save("tls/gateway.pem", string(cert2))
	eventually(t, watchTimeout, "renewed certificate served", func() (bool, string) {
		serial, _, err := served(client, gw)
		return serial == 1002, fmt.Sprintf("serial %d, %v", serial, err)
	})
	if lines := f.logs.lines("certificate reloaded", "listener=tls", "serial=3ea"); len(lines) != 1 {
		t.Fatalf("log lines of the renewal: %q", lines)
	}
	renewed := f.status()
	if renewed.Reloads <= start.Reloads || renewed.LastError != "" || renewed.Rules.Version != start.Rules.Version {
		t.Fatalf("after the renewal: reloads %d -> %d, last_error %q", start.Reloads, renewed.Reloads, renewed.LastError)
	}

	// A key of another certificate: the renewed pair stays.
	errorsBefore := len(f.logs.lines("level=ERROR"))
	_, otherKey := ca.issue(t, 1003, false)
	f.save("tls/gateway-key.pem", string(otherKey))
	eventually(t, watchTimeout, "bad pair reported", func() (bool, string) {
		st := f.status()
		return st.Failures == renewed.Failures+1, fmt.Sprintf("failures %d, last_error %q", st.Failures, st.LastError)
	})
	st := f.status()
	if !strings.Contains(st.LastError, "tls: cert_file") || !strings.Contains(st.LastError, "private key does not match public key") {
		t.Fatalf("last_error: %q", st.LastError)
	}
	if serial, _, err := served(client, gw); err != nil || serial != 1002 {
		t.Fatalf("with the bad pair on disk: serial %d, %v", serial, err)
	}
	if f.srv.CheckForChanges(t.Context()) {
		t.Fatal("a rescan retried the unchanged bad pair")
	}
	if lines := f.logs.lines("level=ERROR"); len(lines)-errorsBefore != 1 || !strings.Contains(lines[len(lines)-1], "reload failed") {
		t.Fatalf("ERROR lines for one bad pair: %q", lines[errorsBefore:])
	}
	f.save("tls/gateway-key.pem", string(key2))
	eventually(t, watchTimeout, "fixed pair reloaded", func() (bool, string) {
		st := f.status()
		return st.LastError == "" && st.Reloads > renewed.Reloads, fmt.Sprintf("last_error %q", st.LastError)
	})
	if lines := f.logs.lines("reloaded; the last error is cleared"); len(lines) != 1 {
		t.Fatalf("log lines of the fix: %q", lines)
	}

	// TLS off needs a restart: HTTPS with the renewed pair goes on.
	f.save("gateway.yaml", cfg+"plugins:\n  Federation: "+f.plugin+"\n")
	code, body := f.adminReload("")
	if code != 200 || !slices.Equal(body.Result.NeedsRestart, []string{"tls"}) {
		t.Fatalf("tls removed: %d %+v", code, body)
	}
	if serial, _, err := served(client, gw); err != nil || serial != 1002 || f.status().NeedsRestart != "tls" {
		t.Fatalf("after tls was removed: serial %d, %v, needs_restart %q", serial, err, f.status().NeedsRestart)
	}
}

// TestTLS_ClientCertificatesAndAdminTLS: with client_ca_file the gateway
// requires a client certificate signed by those CAs (and still speaks
// HTTP/2); a new CA bundle applies on reload. The admin API serves HTTPS
// with its own `admin.tls`.
func TestTLS_ClientCertificatesAndAdminTLS(t *testing.T) {
	serverCA, clientCA, nextClientCA := newTestCA(t, "server CA"), newTestCA(t, "client CA"), newTestCA(t, "next client CA")
	cert, key := serverCA.issue(t, 7, false)
	f := newFixture(t, fixtureOpts{
		config: "listen: 127.0.0.1:0\nrules: rules\n" +
			"tls: {cert_file: tls/gw.pem, key_file: tls/gw-key.pem, client_ca_file: tls/clients.pem}\n" +
			"admin: {listen: 127.0.0.1:0, tls: {cert_file: tls/gw.pem, key_file: tls/gw-key.pem}}\n",
		files: map[string]string{
			"tls/gw.pem": string(cert), "tls/gw-key.pem": string(key), "tls/clients.pem": string(clientCA.pem),
			"rules/empty.yaml": "rules: []\n",
		},
	})
	plainAdmin := f.admin
	f.admin = strings.Replace(f.admin, "http://", "https://", 1)
	f.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: serverCA.pool()}}
	if st := f.status(); st.Rules.Version == "" {
		t.Fatalf("admin over HTTPS: %+v", st)
	}
	if resp, err := http.Get(plainAdmin + "/admin/status"); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain HTTP to the admin TLS listener: %v %v", resp, err)
	}

	gw := "https://" + f.srv.Addr()
	if _, _, err := served(httpsClient(serverCA), gw); err == nil {
		t.Fatal("served without a client certificate")
	}
	if _, _, err := served(httpsClient(serverCA, serverCA.keyPair(t, 8, true)), gw); err == nil {
		t.Fatal("served a client certificate of another CA")
	}
	withCert := httpsClient(serverCA, clientCA.keyPair(t, 9, true))
	if serial, proto, err := served(withCert, gw); err != nil || serial != 7 || proto != "HTTP/2.0" {
		t.Fatalf("with a client certificate: serial %d %s, %v", serial, proto, err)
	}

	f.save("tls/clients.pem", string(nextClientCA.pem))
	code, body := f.adminReload("")
	if code != 200 || !body.Result.ConfigChanged || !slices.Equal(body.Result.TLSReloaded, []string{"tls"}) {
		t.Fatalf("new client CAs: %d %+v", code, body)
	}
	if _, _, err := served(withCert, gw); err == nil {
		t.Fatal("a client of the replaced CA was served")
	}
	if _, _, err := served(httpsClient(serverCA, nextClientCA.keyPair(t, 10, true)), gw); err != nil {
		t.Fatalf("client of the new CA: %v", err)
	}
}

// TestConfig_TLSCheckedAtLoad: the files of `tls` and `admin.tls` are read
// at load, relative to the config file; a missing file, a key that does
// not belong to the certificate, or a CA file without certificates is an
// error naming the field.
func TestConfig_TLSCheckedAtLoad(t *testing.T) {
	ca := newTestCA(t, "CA")
	cert, key := ca.issue(t, 1, false)
	_, otherKey := ca.issue(t, 2, false)
	dir := t.TempDir()
	for name, b := range map[string][]byte{"cert.pem": cert, "key.pem": key, "other-key.pem": otherKey, "ca.pem": ca.pem, "empty.pem": []byte("no PEM here\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := "listen: 127.0.0.1:0\nrules: rules\n"
	for _, tt := range []struct {
		name, yaml, wantErr string
	}{
		{"pair", "tls: {cert_file: cert.pem, key_file: key.pem}\n", ""},
		{"pair and client CAs", "tls: {cert_file: cert.pem, key_file: key.pem, client_ca_file: ca.pem}\n", ""},
		{"absolute paths", fmt.Sprintf("tls: {cert_file: %s, key_file: %s}\n", filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")), ""},
		{"admin", "admin: {listen: 127.0.0.1:0, tls: {cert_file: cert.pem, key_file: key.pem}}\n", ""},
		{"no key", "tls: {cert_file: cert.pem}\n", "tls.key_file: required"},
		{"no cert", "tls: {key_file: key.pem}\n", "tls.cert_file: required"},
		{"missing cert", "tls: {cert_file: nope.pem, key_file: key.pem}\n", "tls.cert_file: open " + filepath.Join(dir, "nope.pem")},
		{"key of another certificate", "tls: {cert_file: cert.pem, key_file: other-key.pem}\n", "private key does not match public key"},
		{"client CAs without PEM", "tls: {cert_file: cert.pem, key_file: key.pem, client_ca_file: empty.pem}\n", "tls.client_ca_file " + filepath.Join(dir, "empty.pem") + ": no PEM certificate"},
		{"admin key of another certificate", "admin: {listen: 127.0.0.1:0, tls: {cert_file: cert.pem, key_file: other-key.pem}}\n", "admin.tls: cert_file"},
		{"unknown key", "tls: {cert: cert.pem}\n", "field cert not found"},
		{"missing upstream CA", "upstream: https://parent.example.org\nupstream_tls: {ca_file: nope.pem}\n", "upstream_tls.ca_file: open"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := host.ParseConfig([]byte(base+tt.yaml), filepath.Join(dir, "gateway.yaml"))
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("want an error containing %q, got %v", tt.wantErr, err)
			}
		})
	}
}
