package kernel

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// history keeps the cells a kernel ran, for history_request: the inputs
// (and the text of their values) numbered by execution count, grouped in
// sessions (one per kernel run). The current session is always in memory; a
// history file, if any, adds the earlier ones.
type history struct {
	mu      sync.Mutex
	session int            // number of the current session, 1 for the first
	entries []historyEntry // all sessions, oldest first
	file    *os.File       // append-only JSON lines; nil for memory only
}

type historyEntry struct {
	Session int     `json:"session"`
	Line    int     `json:"line"`
	Input   string  `json:"input"`
	Output  *string `json:"output,omitempty"`
}

// newHistory opens the history; with path "" it is kept in memory only.
func newHistory(path string) (*history, error) {
	h := &history{session: 1}
	if path == "" {
		return h, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for sc.Scan() {
		var e historyEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue // a torn last line; skip it
		}
		h.entries = append(h.entries, e)
		if e.Session >= h.session {
			h.session = e.Session + 1
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, fs.ErrClosed) {
		f.Close()
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	h.file = f
	return h, nil
}

func (h *history) add(line int, input string, output *string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := historyEntry{Session: h.session, Line: line, Input: input, Output: output}
	h.entries = append(h.entries, e)
	if h.file != nil {
		if b, err := json.Marshal(e); err == nil {
			_, _ = h.file.Write(append(b, '\n'))
		}
	}
}

func (h *history) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.file != nil {
		h.file.Close()
		h.file = nil
	}
}

// HistoryQuery is the content of a history_request.
type HistoryQuery struct {
	Output         bool   `json:"output"` // include the value's text with each input
	Raw            bool   `json:"raw"`    // inputs are always raw here
	HistAccessType string `json:"hist_access_type"`
	// range: cells Start <= line < Stop of Session (0 or negative: relative
	// to the current session; Stop 0: to the end).
	Session int `json:"session"`
	Start   int `json:"start"`
	Stop    int `json:"stop"`
	// tail and search: at most the N most recent (0: all for search, 10 for tail).
	N int `json:"n"`
	// search: a glob pattern (* any text, ? any character, [abc] a class)
	// matched against the whole input; Unique drops repeated inputs.
	Pattern string `json:"pattern"`
	Unique  bool   `json:"unique"`
}

// query returns the entries selected by q as the protocol's tuples:
// [session, line, input] or, with Output, [session, line, [input, output]].
func (h *history) query(q HistoryQuery) []any {
	h.mu.Lock()
	defer h.mu.Unlock()
	var sel []historyEntry
	switch q.HistAccessType {
	case "tail":
		n := q.N
		if n <= 0 {
			n = 10
		}
		sel = h.entries[max(0, len(h.entries)-n):]
	case "range":
		session := q.Session
		if session <= 0 {
			session += h.session
		}
		for _, e := range h.entries {
			if e.Session == session && e.Line >= q.Start && (q.Stop <= 0 || e.Line < q.Stop) {
				sel = append(sel, e)
			}
		}
	case "search":
		seen := map[string]bool{}
		// Newest first, so Unique keeps the latest of repeated inputs.
		for i := len(h.entries) - 1; i >= 0; i-- {
			e := h.entries[i]
			if !globMatch(q.Pattern, e.Input) {
				continue
			}
			if q.Unique {
				if seen[e.Input] {
					continue
				}
				seen[e.Input] = true
			}
			sel = append(sel, e)
			if q.N > 0 && len(sel) == q.N {
				break
			}
		}
		for i, j := 0, len(sel)-1; i < j; i, j = i+1, j-1 {
			sel[i], sel[j] = sel[j], sel[i]
		}
	}
	out := make([]any, 0, len(sel))
	for _, e := range sel {
		if q.Output {
			var o any
			if e.Output != nil {
				o = *e.Output
			}
			out = append(out, []any{e.Session, e.Line, []any{e.Input, o}})
		} else {
			out = append(out, []any{e.Session, e.Line, e.Input})
		}
	}
	return out
}

// globMatch reports whether s matches the glob pattern as a whole: '*'
// matches any run of characters (newlines included), '?' one character,
// "[...]" one character of a class ("[!...]" or "[^...]" negates). An
// empty pattern matches everything.
func globMatch(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	p, t := []rune(pattern), []rune(s)
	// Iterative matcher with one backtrack point for the last '*'.
	pi, ti, starP, starT := 0, 0, -1, 0
	for ti < len(t) {
		if pi < len(p) {
			switch p[pi] {
			case '*':
				starP, starT = pi, ti
				pi++
				continue
			case '?':
				pi++
				ti++
				continue
			case '[':
				if ok, next := matchClass(p, pi, t[ti]); next > 0 {
					if ok {
						pi, ti = next, ti+1
						continue
					}
				} else if t[ti] == '[' { // unterminated class: a literal '['
					pi++
					ti++
					continue
				}
			default:
				if p[pi] == t[ti] {
					pi++
					ti++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starT++
		pi, ti = starP+1, starT
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchClass matches c against the class starting at p[i] == '['; next is
// the index after the closing ']', or 0 if the class is not terminated.
func matchClass(p []rune, i int, c rune) (ok bool, next int) {
	j := i + 1
	neg := j < len(p) && (p[j] == '!' || p[j] == '^')
	if neg {
		j++
	}
	first := true
	for ; j < len(p); j++ {
		if p[j] == ']' && !first {
			return ok != neg, j + 1
		}
		first = false
		if j+2 < len(p) && p[j+1] == '-' && p[j+2] != ']' {
			if p[j] <= c && c <= p[j+2] {
				ok = true
			}
			j += 2
			continue
		}
		if p[j] == c {
			ok = true
		}
	}
	return false, 0
}
