package smtp

import (
	"strings"
	"testing"

	gmsmtp "github.com/wneessen/go-mail/smtp"
)

func TestGuardedAuth(t *testing.T) {
	for _, tc := range []struct {
		name     string
		info     gmsmtp.ServerInfo
		wantMech string
		wantErr  string
	}{
		{"remote without TLS", gmsmtp.ServerInfo{Name: "mail.example.com", Auth: []string{"PLAIN", "CRAM-MD5"}}, "", "without TLS"},
		{"remote with TLS", gmsmtp.ServerInfo{Name: "mail.example.com", TLS: true, Auth: []string{"LOGIN", "PLAIN"}}, "PLAIN", ""},
		{"prefers SCRAM", gmsmtp.ServerInfo{Name: "mail.example.com", TLS: true, Auth: []string{"PLAIN", "SCRAM-SHA-256"}}, "SCRAM-SHA-256", ""},
		{"loopback without TLS", gmsmtp.ServerInfo{Name: "127.0.0.1", Auth: []string{"PLAIN"}}, "PLAIN", ""},
		{"localhost without TLS", gmsmtp.ServerInfo{Name: "localhost", Auth: []string{"login"}}, "LOGIN", ""},
		{"::1 without TLS", gmsmtp.ServerInfo{Name: "::1", Auth: []string{"CRAM-MD5"}}, "CRAM-MD5", ""},
		{"nothing supported", gmsmtp.ServerInfo{Name: "mail.example.com", TLS: true, Auth: []string{"GSSAPI"}}, "", "no AUTH mechanism"},
		{"no AUTH offered", gmsmtp.ServerInfo{Name: "mail.example.com", TLS: true}, "", "no AUTH mechanism"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const pass = "correct-horse"
			g := &guardedAuth{user: "till", pass: pass}
			mech, resp, err := g.Start(&tc.info)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if len(resp) != 0 {
					t.Errorf("sent %q despite the error", resp)
				}
				if strings.Contains(err.Error(), pass) {
					t.Errorf("error shows the password")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if mech != tc.wantMech {
				t.Errorf("mechanism %q, want %q", mech, tc.wantMech)
			}
		})
	}
}
