package kernel

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"
)

// ProtocolVersion is the version of the Jupyter messaging protocol spoken here.
const ProtocolVersion = "5.3"

// delimiter separates the routing identities from the signed parts of a message.
const delimiter = "<IDS|MSG>"

// Header is the header (and, for replies, the parent_header) of a message.
type Header struct {
	MsgID    string `json:"msg_id"`
	Session  string `json:"session"`
	Username string `json:"username"`
	Date     string `json:"date"`
	MsgType  string `json:"msg_type"`
	Version  string `json:"version"`
}

// Message is one Jupyter message, decoded. Content and Metadata stay raw JSON
// on receipt (each handler decodes the fields it needs) and are any JSON
// value on send.
type Message struct {
	// Identities are the ZeroMQ routing frames before the delimiter; a reply
	// is sent back to the same identities.
	Identities [][]byte
	Header     Header
	// Parent is the header of the request this message answers or was caused
	// by; the zero Header (encoded as {}) when there is none.
	Parent   Header
	Metadata json.RawMessage
	Content  json.RawMessage
	Buffers  [][]byte
	// Received is when the kernel read the message off its socket; used to
	// abort the execute requests queued before a failing cell.
	Received time.Time
}

// Signer signs and verifies messages with HMAC-SHA256. The zero Signer (no
// key) signs with the empty string and accepts any signature, as the protocol
// specifies for an empty key.
type Signer struct {
	key  []byte
	pool sync.Pool

	mu   sync.Mutex
	seen map[string]struct{} // signatures already accepted: replay protection
	ring []string
	next int
}

// replayWindow is how many recent signatures a Signer remembers to refuse a
// replayed message.
const replayWindow = 4096

// NewSigner returns a Signer for key (the "key" of the connection file).
func NewSigner(key string) *Signer {
	s := &Signer{key: []byte(key), seen: map[string]struct{}{}}
	s.pool.New = func() any { return hmac.New(sha256.New, s.key) }
	return s
}

// Sign returns the hex signature of the four signed parts.
func (s *Signer) Sign(parts ...[]byte) string {
	if len(s.key) == 0 {
		return ""
	}
	h := s.pool.Get().(hash.Hash)
	h.Reset()
	for _, p := range parts {
		h.Write(p)
	}
	var sum [sha256.Size]byte
	sig := hex.EncodeToString(h.Sum(sum[:0]))
	s.pool.Put(h)
	return sig
}

// Errors returned by Decode; the kernel logs them and drops the message.
var (
	ErrNoDelimiter  = errors.New("no <IDS|MSG> delimiter")
	ErrShortMessage = errors.New("fewer than 5 frames after the delimiter")
	ErrBadSignature = errors.New("signature does not match the connection key")
	ErrReplayed     = errors.New("signature already seen (replayed message)")
)

// verify checks sig against the parts and remembers it.
func (s *Signer) verify(sig []byte, parts ...[]byte) error {
	if len(s.key) == 0 {
		return nil
	}
	want := s.Sign(parts...)
	if !hmac.Equal(sig, []byte(want)) {
		return ErrBadSignature
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.seen[want]; dup {
		return ErrReplayed
	}
	if len(s.ring) < replayWindow {
		s.ring = append(s.ring, want)
	} else {
		delete(s.seen, s.ring[s.next])
		s.ring[s.next] = want
		s.next = (s.next + 1) % replayWindow
	}
	s.seen[want] = struct{}{}
	return nil
}

// Decode parses and verifies the frames of a received message.
func (s *Signer) Decode(frames [][]byte) (*Message, error) {
	i := 0
	for i < len(frames) && !bytes.Equal(frames[i], []byte(delimiter)) {
		i++
	}
	if i == len(frames) {
		return nil, ErrNoDelimiter
	}
	rest := frames[i+1:]
	if len(rest) < 5 {
		return nil, ErrShortMessage
	}
	if err := s.verify(rest[0], rest[1], rest[2], rest[3], rest[4]); err != nil {
		return nil, err
	}
	m := &Message{Identities: frames[:i], Buffers: rest[5:]}
	if err := json.Unmarshal(rest[1], &m.Header); err != nil {
		return nil, fmt.Errorf("header is not a JSON object: %w", err)
	}
	if m.Header.MsgType == "" {
		return nil, errors.New("header has no msg_type")
	}
	if len(bytes.TrimSpace(rest[2])) > 0 {
		if err := json.Unmarshal(rest[2], &m.Parent); err != nil {
			return nil, fmt.Errorf("parent_header is not a JSON object: %w", err)
		}
	}
	if !json.Valid(rest[3]) {
		return nil, errors.New("metadata is not valid JSON")
	}
	if !json.Valid(rest[4]) {
		return nil, errors.New("content is not valid JSON")
	}
	m.Metadata = rest[3]
	m.Content = rest[4]
	return m, nil
}

// Encode returns the signed frames of a message with the given parts.
// parent may be nil (encoded as {}); metadata nil is encoded as {}.
func (s *Signer) Encode(ids [][]byte, h Header, parent *Header, metadata, content any) ([][]byte, error) {
	hb, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	pb := []byte("{}")
	if parent != nil && parent.MsgID != "" {
		if pb, err = json.Marshal(parent); err != nil {
			return nil, err
		}
	}
	mb := []byte("{}")
	if metadata != nil {
		if mb, err = json.Marshal(metadata); err != nil {
			return nil, err
		}
	}
	var cb []byte
	switch c := content.(type) {
	case json.RawMessage:
		cb = c
	case nil:
		cb = []byte("{}")
	default:
		if cb, err = json.Marshal(content); err != nil {
			return nil, fmt.Errorf("encoding %s content: %w", h.MsgType, err)
		}
	}
	frames := make([][]byte, 0, len(ids)+6)
	frames = append(frames, ids...)
	frames = append(frames, []byte(delimiter), []byte(s.Sign(hb, pb, mb, cb)), hb, pb, mb, cb)
	return frames, nil
}

// NewHeader returns a header for a new message of type msgType in session.
func NewHeader(msgType, session, username string) Header {
	return Header{
		MsgID:    NewID(),
		Session:  session,
		Username: username,
		Date:     time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		MsgType:  msgType,
		Version:  ProtocolVersion,
	}
}

// NewID returns a random UUID (version 4) in its usual text form.
func NewID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
