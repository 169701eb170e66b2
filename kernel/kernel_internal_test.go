package kernel

import (
	"path/filepath"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pat, s string
		want   bool
	}{
		{"", "anything", true},
		{"1?2*", "1+2+3", true},
		{"1?2*", "12", false},
		{"*", "", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"[ab]x", "bx", true},
		{"[!ab]x", "bx", false},
		{"[a-c]*", "cat", true},
		{"*dnas*", "x := dnas.New()\nfmt.Println(x)", true},
		{"[", "[", true},
	} {
		if got := globMatch(c.pat, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.pat, c.s, got, c.want)
		}
	}
}

func TestPartialRuneIsHeldBack(t *testing.T) {
	e := []byte("é") // 0xC3 0xA9
	for _, c := range []struct {
		b    []byte
		want int
	}{
		{[]byte("abc"), 3},
		{append([]byte("ab"), e[0]), 2},
		{append([]byte("ab"), e...), 4},
		{[]byte{0xff}, 1},
		{nil, 0},
	} {
		if got := partialRuneStart(c.b); got != c.want {
			t.Errorf("partialRuneStart(%q) = %d, want %d", c.b, got, c.want)
		}
	}
}

func TestSignerRoundTrip(t *testing.T) {
	s := NewSigner("secret")
	h := NewHeader("execute_request", "sess", "me")
	f, err := s.Encode([][]byte{[]byte("id1")}, h, nil, nil, map[string]any{"code": "1+1"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewSigner("secret").Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header != h || string(m.Identities[0]) != "id1" || string(m.Content) != `{"code":"1+1"}` {
		t.Errorf("decoded %+v", m)
	}
	if _, err := NewSigner("other").Decode(f); err != ErrBadSignature {
		t.Errorf("wrong key: %v", err)
	}
	// Reference value computed independently (Python: hmac.new(b"k", b"abcd", sha256).hexdigest()).
	if got := NewSigner("k").Sign([]byte("a"), []byte("b"), []byte("c"), []byte("d")); got != "756d7c2af4fae2338eb66fcb2eea2a6a4bf5b8ec75a0561b967ce1c215ba740f" {
		t.Errorf("signature %q", got)
	}
}

func TestByteOffset(t *testing.T) {
	s := "héllo"
	for runes, want := range map[int]int{0: 0, 1: 1, 2: 3, 5: 6, 9: 6} {
		if got := byteOffset(s, runes); got != want {
			t.Errorf("byteOffset(%q, %d) = %d, want %d", s, runes, got, want)
		}
	}
}

func TestHistoryFileKeepsEarlierSessions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	h, err := newHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	out := "2"
	h.add(1, "1+1", &out)
	h.add(2, "fmt.Println(3)", nil)
	h.close()

	h, err = newHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	if h.session != 2 {
		t.Errorf("second run is session %d, want 2", h.session)
	}
	h.add(1, "x := 5", nil)
	prev := h.query(HistoryQuery{HistAccessType: "range", Session: -1, Output: true})
	if len(prev) != 2 {
		t.Fatalf("previous session: %v", prev)
	}
	if e := prev[0].([]any); e[0] != 1 || e[1] != 1 || e[2].([]any)[0] != "1+1" || e[2].([]any)[1] != "2" {
		t.Errorf("first entry of session 1: %v", e)
	}
	cur := h.query(HistoryQuery{HistAccessType: "range", Session: 0})
	if len(cur) != 1 || cur[0].([]any)[2] != "x := 5" {
		t.Errorf("current session: %v", cur)
	}
	if tail := h.query(HistoryQuery{HistAccessType: "tail", N: 3}); len(tail) != 3 {
		t.Errorf("tail across sessions: %v", tail)
	}
}
