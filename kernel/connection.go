package kernel

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
)

// ConnectionInfo is the content of a Jupyter connection file: where the five
// sockets are bound and how messages are signed. Front ends (jupyter_client)
// write it and pass its path on the kernel's command line.
type ConnectionInfo struct {
	Transport       string `json:"transport"`        // "tcp" or "ipc"
	IP              string `json:"ip"`               // e.g. "127.0.0.1"; for ipc, a path prefix
	ShellPort       int    `json:"shell_port"`       // ROUTER for requests
	ControlPort     int    `json:"control_port"`     // ROUTER for interrupt/shutdown
	StdinPort       int    `json:"stdin_port"`       // ROUTER for input_request
	IOPubPort       int    `json:"iopub_port"`       // PUB for outputs and status
	HBPort          int    `json:"hb_port"`          // REP heartbeat echo
	SignatureScheme string `json:"signature_scheme"` // "hmac-sha256" (or empty when Key is empty)
	Key             string `json:"key"`              // HMAC key; empty disables signing
	KernelName      string `json:"kernel_name,omitempty"`
}

// ReadConnectionFile reads and checks the connection file at path.
func ReadConnectionFile(path string) (ConnectionInfo, error) {
	var ci ConnectionInfo
	b, err := os.ReadFile(path)
	if err != nil {
		return ci, fmt.Errorf("reading the connection file: %w (the front end passes its path as {connection_file})", err)
	}
	if err := json.Unmarshal(b, &ci); err != nil {
		return ci, fmt.Errorf("connection file %s is not valid JSON: %w", path, err)
	}
	if err := ci.Validate(); err != nil {
		return ci, fmt.Errorf("connection file %s: %w", path, err)
	}
	return ci, nil
}

// Validate reports what is wrong with ci, if anything: an unknown transport,
// a missing address or an unsupported signature scheme. A port of 0 is valid
// (the kernel then picks a free port; see [Kernel.Connection]).
func (ci *ConnectionInfo) Validate() error {
	switch ci.Transport {
	case "":
		ci.Transport = "tcp"
	case "tcp", "ipc":
	default:
		return fmt.Errorf("transport %q is not supported (use \"tcp\" or \"ipc\")", ci.Transport)
	}
	if ci.IP == "" {
		if ci.Transport == "ipc" {
			return fmt.Errorf("ipc transport needs \"ip\" set to a path prefix for the socket files")
		}
		ci.IP = "127.0.0.1"
	}
	if ci.Key != "" && ci.SignatureScheme != "hmac-sha256" && ci.SignatureScheme != "" {
		return fmt.Errorf("signature_scheme %q is not supported (only \"hmac-sha256\")", ci.SignatureScheme)
	}
	for _, p := range []int{ci.ShellPort, ci.ControlPort, ci.StdinPort, ci.IOPubPort, ci.HBPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("port %d is out of range 0..65535", p)
		}
	}
	return nil
}

// endpoint returns the ZeroMQ endpoint for one port, e.g. "tcp://127.0.0.1:5555"
// or, for ipc, "ipc://PREFIX-5555" (jupyter_client's layout).
func (ci *ConnectionInfo) endpoint(port int) string {
	if ci.Transport == "ipc" {
		return "ipc://" + ci.IP + "-" + strconv.Itoa(port)
	}
	return "tcp://" + net.JoinHostPort(ci.IP, strconv.Itoa(port))
}

// freeIPCPort returns the smallest positive number not used by another
// channel of ci, for an ipc channel given as 0 (each channel needs its own
// socket file, PREFIX-N).
func (ci *ConnectionInfo) freeIPCPort() int {
	used := map[int]bool{ci.ShellPort: true, ci.ControlPort: true, ci.StdinPort: true, ci.IOPubPort: true, ci.HBPort: true}
	n := 1
	for used[n] {
		n++
	}
	return n
}

// Endpoints returns the five endpoints keyed by channel name ("shell",
// "control", "stdin", "iopub", "hb"), the form clients dial.
func (ci *ConnectionInfo) Endpoints() map[string]string {
	return map[string]string{
		"shell":   ci.endpoint(ci.ShellPort),
		"control": ci.endpoint(ci.ControlPort),
		"stdin":   ci.endpoint(ci.StdinPort),
		"iopub":   ci.endpoint(ci.IOPubPort),
		"hb":      ci.endpoint(ci.HBPort),
	}
}
