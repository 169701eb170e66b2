// Package kernel implements the wire side of a Jupyter kernel: the Jupyter
// messaging protocol 5.3 over ZeroMQ (github.com/go-zeromq/zmq4, pure Go).
//
// The package follows the split made by jupyter-xeus/xeus: it owns the
// sockets, message signing, the busy/idle status protocol, the execution
// counter, the input history, abort-on-error and the control channel, and it
// knows nothing about the language being run. A language plugs in by
// implementing the small [Interpreter] interface (execute, complete, inspect,
// is_complete, kernel_info, interrupt, shutdown); the kernel hands it an
// [Output] through which a running cell prints, displays rich data and asks
// the front end for input.
//
// # Sockets
//
// A kernel is started with a connection file written by the front end (see
// [ReadConnectionFile]). It binds five sockets:
//
//   - shell (ROUTER): requests from front ends, served one at a time, in order;
//   - control (ROUTER): the same protocol, served by its own goroutine so that
//     interrupt_request, shutdown_request and kernel_info_request are answered
//     while a cell runs;
//   - stdin (ROUTER): input_request to a front end that allowed it;
//   - IOPub (PUB): status (busy/idle), stream, display_data, execute_result,
//     error... broadcast to every front end;
//   - heartbeat (REP): echoes every message so front ends know the process lives.
//
// # Messages
//
// Every message is a multipart ZeroMQ message
//
//	[routing ids...] "<IDS|MSG>" signature header parent_header metadata content [buffers...]
//
// whose signature is the hex HMAC-SHA256 of the four JSON parts under the key
// of the connection file. A message with a missing or wrong signature, or one
// that does not parse, is logged and dropped; the kernel keeps serving.
//
// # Output ordering and batching
//
// Stream output (stdout, stderr) is buffered and published at most every
// 50 ms or every 64 KiB, whichever comes first, so a cell printing 100,000
// lines sends a few dozen messages instead of 100,000; any other IOPub message
// (display, result, error, status) first flushes the buffered text, so what
// the front end shows is always in the order the cell produced it.
//
// # Related packages
//
//   - kernel/client: a small front end over the same sockets, used by the
//     tests and the benchmark;
//   - kernel/bench: ready time and round trips of any kernel, side by side
//     (`dnas kernel bench` compares dnas with ipykernel);
//   - kernel/progressview: the live notebook display of dnas progress events;
//   - kernel/conformance: the jupyter_kernel_test suites;
//   - cmd/dnas/kernel.go: the Go session (package repl) as an Interpreter,
//     `dnas kernel CONNECTION_FILE` and `dnas kernel install`.
package kernel
