"""jupyter_kernel_test conformance suite for the Go (dnas) kernel.

Run through kernel/conformance/run.sh (or the Go test beside this file),
which installs the kernelspec into a temporary prefix on JUPYTER_PATH:

    JUPYTER_PATH=$PREFIX/share/jupyter /usr/bin/python3 -m unittest -v test_dnas_kernel

Every test jupyter_kernel_test 0.4.5 has is given samples, so none is
skipped: stdout, stderr, completion, is_complete, pager, error,
execute_result, display_data, history, inspect, clear_output.
"""

import unittest

import jupyter_kernel_test


class DnasKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "dnas"
    language_name = "go"
    file_extension = ".go"

    code_hello_world = 'fmt.Println("hello, world")'
    code_stderr = 'fmt.Fprintln(os.Stderr, "to stderr")'

    completion_samples = [
        {"text": "fmt.Sprin", "matches": {"Sprint", "Sprintf", "Sprintln"}},
    ]

    complete_code_samples = [
        "x := 1",
        'fmt.Println("hi")',
        "func add(a, b int) int { return a + b }",
        "",
    ]
    incomplete_code_samples = [
        "func f() int {",
        "for i := 0; i < 3; i++ {",
        "xs := []int{1,",
    ]
    invalid_code_samples = [
        "x := )",
        "func f() { }}",
    ]

    code_page_something = "fmt.Println?"

    code_generate_error = 'panic("conformance")'

    code_execute_result = [
        {"code": "1+2+3", "result": "6"},
        {"code": "6*7", "result": "42"},
        {"code": 'display.HTML("<b>bold</b>")', "mime": "text/html"},
    ]

    code_display_data = [
        {"code": 'display.Display(display.HTML("<b>hi</b>"))', "mime": "text/html"},
        {"code": 'Display(display.Markdown("# title"))', "mime": "text/markdown"},
        {"code": 'display.Display(display.SVG(`<svg xmlns="http://www.w3.org/2000/svg"/>`))', "mime": "image/svg+xml"},
    ]

    code_history_pattern = "1?2*"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "fmt.Println"

    code_clear_output = (
        'display.Display(display.Any("application/vnd.jupyter.clear-output", '
        'map[string]any{"wait": false}))'
    )


if __name__ == "__main__":
    unittest.main()
