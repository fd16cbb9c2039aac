package dev

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edumfa-federation/edumfa-federation/internal/testplugin"
)

// lockedBuffer collects the banner written from dev.Run's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDev_PrintedCurlCommandsGiveThePrintedAnswers runs the dev mode as a
// newcomer would, executes every curl command it prints with the shell and
// checks each answer against the line printed under it.
func TestDev_PrintedCurlCommandsGiveThePrintedAnswers(t *testing.T) {
	handler, err := testplugin.Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed to run the printed commands: apt-get install curl")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := &lockedBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{
			Listen: "127.0.0.1:0", ParentListen: "127.0.0.1:0", ChildListen: "127.0.0.1:0",
			Handler: handler, Out: out, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Ready: func(addr string) { ready <- addr },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("dev stopped before it was ready: %v", err)
	case <-ctx.Done():
		t.Fatal("dev did not get ready")
	}

	lines := strings.Split(out.String(), "\n")
	checked := 0
	for i, line := range lines {
		if !strings.HasPrefix(line, "curl ") {
			continue
		}
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "#    -> ") {
			t.Fatalf("command without an expectation: %q", line)
		}
		expect := strings.TrimPrefix(lines[i+1], "#    -> ")
		cmd := exec.CommandContext(ctx, "sh", "-c", line)
		body, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("%s: answer is not JSON: %s", line, body)
		}
		for _, pair := range strings.Split(expect, ", ") {
			path, want, ok := strings.Cut(pair, ": ")
			if !ok {
				t.Fatalf("bad expectation %q", pair)
			}
			got, present := lookup(doc, path)
			switch {
			case want == "(none)":
				if present {
					t.Errorf("%s: %s is %v, want absent", line, path, got)
				}
			case !present || fmt.Sprint(got) != want:
				t.Errorf("%s: %s is %v, want %s\n%s", line, path, got, want, body)
			}
		}
		checked++
	}
	if checked != len(Demos("", "")) {
		t.Fatalf("checked %d commands, the banner has %d:\n%s", checked, len(Demos("", "")), out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("dev: %v", err)
	}
}

func lookup(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}
