"""jupyter_kernel_test against the protocol core alone: the toy interpreter of
kernel/internal/fake served by kernel/testdata/fakekernel. A failure here is
a wire-protocol bug, whatever the Go session does. The Go test
TestJupyterKernelTestFakeInterpreter builds the kernel and installs its
kernelspec (name "dnas-fake") on a temporary JUPYTER_PATH.
"""

import unittest

import jupyter_kernel_test


class FakeKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "dnas-fake"
    language_name = "fake"
    file_extension = ".fake"

    code_hello_world = "print hello, world"
    code_stderr = "eprint oops"
    completion_samples = [{"text": "pr", "matches": {"print"}}]
    complete_code_samples = ["print a"]
    incomplete_code_samples = ["print a\\"]
    invalid_code_samples = ["bogus"]
    code_page_something = "page help"
    code_generate_error = "error boom"
    code_execute_result = [{"code": "value 1", "result": "1"}, {"code": "value 12", "result": "12"}]
    code_display_data = [{"code": "display text/html <b>x</b>", "mime": "text/html"}]
    code_history_pattern = "value 1?"
    supported_history_operations = ("tail", "range", "search")
    code_inspect_sample = "print"
    code_clear_output = "clear"


if __name__ == "__main__":
    unittest.main()
