package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-zeromq/zmq4"
)

// handleShell serves one shell request; the shell goroutine calls it for
// each request in the order they arrived.
func (k *Kernel) handleShell(m *Message) { k.serve(k.shell, m) }

// handleControl serves one control request, on the control goroutine, so it
// runs even while a cell is executing on the shell goroutine.
func (k *Kernel) handleControl(m *Message) { k.serve(k.control, m) }

// serve wraps a request in busy/idle status messages and dispatches it.
func (k *Kernel) serve(sock zmq4.Socket, m *Message) {
	k.pub.publish("status", &m.Header, map[string]any{"execution_state": "busy"})
	defer k.pub.publish("status", &m.Header, map[string]any{"execution_state": "idle"})
	defer func() {
		if r := recover(); r != nil {
			k.log.Printf("panic while serving %s (the kernel keeps running): %v\n%s", m.Header.MsgType, r, debug.Stack())
			k.reply(sock, m, replyType(m.Header.MsgType), errorContent("InternalError", fmt.Sprint(r), nil))
		}
	}()
	switch m.Header.MsgType {
	case "kernel_info_request":
		k.kernelInfo(sock, m)
	case "execute_request":
		if sock != k.shell {
			k.log.Printf("control: execute_request ignored (execute on the shell channel)")
			return
		}
		k.execute(m)
	case "complete_request":
		k.complete(sock, m)
	case "inspect_request":
		k.inspect(sock, m)
	case "is_complete_request":
		k.isComplete(sock, m)
	case "history_request":
		k.historyRequest(sock, m)
	case "comm_info_request":
		k.reply(sock, m, "comm_info_reply", map[string]any{"status": "ok", "comms": map[string]any{}})
	case "comm_open":
		// No comm targets are registered: close the comm right away, as the
		// protocol asks of a kernel that does not know the target.
		var c struct {
			CommID string `json:"comm_id"`
		}
		_ = json.Unmarshal(m.Content, &c)
		k.pub.publish("comm_close", &m.Header, map[string]any{"comm_id": c.CommID, "data": map[string]any{}})
	case "comm_msg", "comm_close":
		// Nothing is open; ignore.
	case "interrupt_request":
		k.Interrupt()
		k.reply(sock, m, "interrupt_reply", map[string]any{"status": "ok"})
	case "shutdown_request":
		var c struct {
			Restart bool `json:"restart"`
		}
		_ = json.Unmarshal(m.Content, &c)
		k.reply(sock, m, "shutdown_reply", map[string]any{"status": "ok", "restart": c.Restart})
		k.requestShutdown(c.Restart)
	default:
		k.log.Printf("ignored a %q request: this kernel does not implement it", m.Header.MsgType)
	}
}

// replyType maps "x_request" to "x_reply".
func replyType(req string) string {
	return strings.TrimSuffix(req, "_request") + "_reply"
}

// errorContent is the content of an error reply.
func errorContent(ename, evalue string, traceback []string) map[string]any {
	if traceback == nil {
		traceback = []string{}
	}
	return map[string]any{"status": "error", "ename": ename, "evalue": evalue, "traceback": traceback}
}

// badRequest answers a request whose content could not be decoded.
func (k *Kernel) badRequest(sock zmq4.Socket, m *Message, err error) {
	k.log.Printf("%s: bad content: %v", m.Header.MsgType, err)
	k.reply(sock, m, replyType(m.Header.MsgType), errorContent("BadRequest", m.Header.MsgType+": "+err.Error(), nil))
}

func (k *Kernel) kernelInfo(sock zmq4.Socket, m *Message) {
	info := k.interp.KernelInfo()
	links := info.HelpLinks
	if links == nil {
		links = []HelpLink{}
	}
	k.reply(sock, m, "kernel_info_reply", map[string]any{
		"status":                 "ok",
		"protocol_version":       ProtocolVersion,
		"implementation":         info.Implementation,
		"implementation_version": info.ImplementationVersion,
		"language_info":          info.Language,
		"banner":                 info.Banner,
		"help_links":             links,
		"debugger":               false,
	})
}

// executeContent is the content of an execute_request.
type executeContent struct {
	Code            string            `json:"code"`
	Silent          bool              `json:"silent"`
	StoreHistory    *bool             `json:"store_history"`
	UserExpressions map[string]string `json:"user_expressions"`
	AllowStdin      *bool             `json:"allow_stdin"`
	StopOnError     *bool             `json:"stop_on_error"`
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// execute runs an execute_request: execute_input, the cell's output, then
// execute_result or error, and the reply.
func (k *Kernel) execute(m *Message) {
	var c executeContent
	if err := json.Unmarshal(m.Content, &c); err != nil {
		k.badRequest(k.shell, m, err)
		return
	}
	storeHistory := boolOr(c.StoreHistory, !c.Silent) && !c.Silent
	if m.Received.Before(k.abortBefore) {
		// A cell before this one failed with stop_on_error: skip it.
		k.reply(k.shell, m, "execute_reply", map[string]any{
			"status": "aborted", "execution_count": k.execCount,
		})
		return
	}
	if storeHistory {
		k.execCount++
	}
	count := k.execCount
	if !c.Silent {
		k.pub.publish("execute_input", &m.Header, map[string]any{"code": c.Code, "execution_count": count})
	}
	req := ExecuteRequest{
		Code:         c.Code,
		Silent:       c.Silent,
		StoreHistory: storeHistory,
		AllowStdin:   boolOr(c.AllowStdin, true),
		Count:        count,
	}
	ctx, cancel := context.WithCancel(k.ctx)
	k.mu.Lock()
	k.cur = &cell{msg: m, ctx: ctx, cancel: cancel, allowStdin: req.AllowStdin}
	k.mu.Unlock()
	k.pub.setParent(m.Header)

	res, err := k.run(ctx, req, k.out)

	k.mu.Lock()
	k.cur = nil
	k.mu.Unlock()
	cancel()

	var outText *string
	if err == nil && res.Value != nil {
		if t, ok := res.Value.Data["text/plain"].(string); ok {
			outText = &t
		}
	}
	if storeHistory {
		k.history.add(count, c.Code, outText)
	}
	if err != nil {
		ee := asExecError(err)
		if !c.Silent {
			k.pub.publish("error", &m.Header, map[string]any{
				"ename": ee.Name, "evalue": ee.Value, "traceback": nonNil(ee.Traceback),
			})
		}
		content := errorContent(ee.Name, ee.Value, ee.Traceback)
		content["execution_count"] = count
		content["user_expressions"] = map[string]any{}
		content["payload"] = []any{}
		if boolOr(c.StopOnError, true) && !c.Silent {
			// Before the reply: a request the client sends once it has the
			// reply is received after this instant and runs; one queued
			// before it is aborted. (Set after the reply, a fast client's
			// next cell could be stamped earlier and aborted by mistake.)
			k.abortBefore = time.Now()
		}
		k.reply(k.shell, m, "execute_reply", content)
		return
	}
	if res.Value != nil && !c.Silent {
		k.pub.publish("execute_result", &m.Header, map[string]any{
			"execution_count": count,
			"data":            encodeData(res.Value.Data),
			"metadata":        nonNilMap(res.Value.Metadata),
		})
	}
	payload := []any{}
	if res.Page != nil {
		payload = append(payload, map[string]any{
			"source": "page", "data": encodeData(res.Page.Data), "start": 0,
		})
	}
	k.reply(k.shell, m, "execute_reply", map[string]any{
		"status":           "ok",
		"execution_count":  count,
		"user_expressions": k.userExpressions(c.UserExpressions),
		"payload":          payload,
	})
}

// run calls the interpreter, turning a panic into a cell error.
func (k *Kernel) run(ctx context.Context, req ExecuteRequest, out Output) (res ExecuteResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			res = ExecuteResult{}
			err = &ExecError{
				Name:      "panic",
				Value:     fmt.Sprint(r),
				Traceback: append([]string{fmt.Sprintf("panic: %v", r)}, strings.Split(strings.TrimSpace(string(debug.Stack())), "\n")...),
			}
		}
	}()
	return k.interp.Execute(ctx, req, out)
}

// userExpressions evaluates the user_expressions of an execute_request
// silently, each to a MIME bundle or an error.
func (k *Kernel) userExpressions(exprs map[string]string) map[string]any {
	res := map[string]any{}
	for name, code := range exprs {
		r, err := k.run(k.ctx, ExecuteRequest{Code: code, Silent: true}, discardOutput{})
		switch {
		case err != nil:
			ee := asExecError(err)
			res[name] = errorContent(ee.Name, ee.Value, ee.Traceback)
		case r.Value == nil:
			res[name] = map[string]any{"status": "ok", "data": map[string]any{}, "metadata": map[string]any{}}
		default:
			res[name] = map[string]any{"status": "ok", "data": encodeData(r.Value.Data), "metadata": nonNilMap(r.Value.Metadata)}
		}
	}
	return res
}

// asExecError gives any error the form of a cell error.
func asExecError(err error) *ExecError {
	var ee *ExecError
	if errors.As(err, &ee) {
		return ee
	}
	if errors.Is(err, context.Canceled) {
		return &ExecError{Name: "interrupted", Value: "the cell was interrupted", Traceback: []string{"interrupted"}}
	}
	return &ExecError{Name: "error", Value: err.Error(), Traceback: strings.Split(err.Error(), "\n")}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// complete answers complete_request; cursor positions are code points on
// the wire and byte offsets for the interpreter.
func (k *Kernel) complete(sock zmq4.Socket, m *Message) {
	var c struct {
		Code      string `json:"code"`
		CursorPos *int   `json:"cursor_pos"`
	}
	if err := json.Unmarshal(m.Content, &c); err != nil {
		k.badRequest(sock, m, err)
		return
	}
	cursor := len(c.Code)
	if c.CursorPos != nil {
		cursor = byteOffset(c.Code, *c.CursorPos)
	}
	comp := k.interp.Complete(c.Code, cursor)
	if comp.StatusError != nil {
		k.reply(sock, m, "complete_reply", errorContent("CompletionError", comp.StatusError.Error(), nil))
		return
	}
	start, end := comp.Start, comp.End
	if start < 0 || start > len(c.Code) || end < start || end > len(c.Code) {
		start, end = cursor, cursor
	}
	k.reply(sock, m, "complete_reply", map[string]any{
		"status":       "ok",
		"matches":      nonNil(comp.Matches),
		"cursor_start": utf8.RuneCountInString(c.Code[:start]),
		"cursor_end":   utf8.RuneCountInString(c.Code[:end]),
		"metadata":     nonNilMap(comp.Metadata),
	})
}

func (k *Kernel) inspect(sock zmq4.Socket, m *Message) {
	var c struct {
		Code        string `json:"code"`
		CursorPos   *int   `json:"cursor_pos"`
		DetailLevel int    `json:"detail_level"`
	}
	if err := json.Unmarshal(m.Content, &c); err != nil {
		k.badRequest(sock, m, err)
		return
	}
	cursor := len(c.Code)
	if c.CursorPos != nil {
		cursor = byteOffset(c.Code, *c.CursorPos)
	}
	in := k.interp.Inspect(c.Code, cursor, c.DetailLevel)
	data := map[string]any{}
	if in.Found {
		data = encodeData(in.Data)
	}
	k.reply(sock, m, "inspect_reply", map[string]any{
		"status": "ok", "found": in.Found, "data": data, "metadata": map[string]any{},
	})
}

func (k *Kernel) isComplete(sock zmq4.Socket, m *Message) {
	var c struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(m.Content, &c); err != nil {
		k.badRequest(sock, m, err)
		return
	}
	status, indent := k.interp.IsComplete(c.Code)
	switch status {
	case "complete", "incomplete", "invalid", "unknown":
	default:
		status = "unknown"
	}
	content := map[string]any{"status": status}
	if status == "incomplete" {
		content["indent"] = indent
	}
	k.reply(sock, m, "is_complete_reply", content)
}

func (k *Kernel) historyRequest(sock zmq4.Socket, m *Message) {
	var q HistoryQuery
	if err := json.Unmarshal(m.Content, &q); err != nil {
		k.badRequest(sock, m, err)
		return
	}
	k.reply(sock, m, "history_reply", map[string]any{"status": "ok", "history": k.history.query(q)})
}

// byteOffset converts a cursor position in code points to a byte offset.
func byteOffset(s string, runes int) int {
	if runes <= 0 {
		return 0
	}
	n := 0
	for i := range s {
		if n == runes {
			return i
		}
		n++
	}
	return len(s)
}
