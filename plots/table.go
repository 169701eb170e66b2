package plots

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Table is a small results table (an ablation, a model comparison) that
// renders as Markdown (for summary.md and terminals) or HTML (notebooks
// and the REPL show any value with an HTML method as a table).
//
// Cells are strings; AddRow formats numbers for you. Columns whose cells
// are all numbers are right-aligned.
type Table struct {
	// Title is printed above the table (a bold line in Markdown, a caption
	// in HTML); empty prints none.
	Title string
	// Columns are the column headers.
	Columns []string
	// Rows are the cells, each row as long as Columns.
	Rows [][]string
	// bold marks emphasised cells by {row, column}.
	bold map[[2]int]bool
}

// NewTable returns an empty table with the given title and column headers.
func NewTable(title string, columns ...string) *Table {
	return &Table{Title: title, Columns: columns}
}

// AddRow appends a row. Each cell may be a string, any integer type,
// float32/float64 (4 significant digits; NaN prints as "n/a"), a
// fmt.Stringer, or anything fmt can print. The number of cells must equal
// the number of columns.
func (t *Table) AddRow(cells ...any) error {
	if len(cells) != len(t.Columns) {
		return fmt.Errorf("plots: table %q row %d has %d cells but the table has %d columns (%s)",
			t.Title, len(t.Rows), len(cells), len(t.Columns), strings.Join(t.Columns, ", "))
	}
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = formatCell(c)
	}
	t.Rows = append(t.Rows, row)
	return nil
}

func formatCell(c any) string {
	switch v := c.(type) {
	case string:
		return v
	case float64:
		if math.IsNaN(v) {
			return "n/a"
		}
		return formatNum(v)
	case float32:
		return formatCell(float64(v))
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprintf("%d", v)
	case fmt.Stringer:
		return v.String()
	case nil:
		return ""
	}
	return fmt.Sprint(c)
}

// Bold emphasises one cell (e.g. the best value of a column). Indices out
// of range are ignored.
func (t *Table) Bold(row, col int) {
	if row < 0 || row >= len(t.Rows) || col < 0 || col >= len(t.Columns) {
		return
	}
	if t.bold == nil {
		t.bold = map[[2]int]bool{}
	}
	t.bold[[2]int{row, col}] = true
}

// BoldMin emphasises the smallest numeric value of column col (for
// lower-is-better metrics such as FID or a loss); ties are all marked.
func (t *Table) BoldMin(col int) {
	best := math.Inf(1)
	for _, r := range t.Rows {
		if col < len(r) {
			if v, err := strconv.ParseFloat(r[col], 64); err == nil && v < best {
				best = v
			}
		}
	}
	for i, r := range t.Rows {
		if col < len(r) {
			if v, err := strconv.ParseFloat(r[col], 64); err == nil && v == best {
				t.Bold(i, col)
			}
		}
	}
}

// numeric reports whether every non-empty cell of column col is a number.
func (t *Table) numeric(col int) bool {
	seen := false
	for _, r := range t.Rows {
		if col >= len(r) || r[col] == "" || r[col] == "n/a" {
			continue
		}
		if _, err := strconv.ParseFloat(strings.TrimSuffix(r[col], "%"), 64); err != nil {
			return false
		}
		seen = true
	}
	return seen
}

// cell returns row i's cell j, "" when the row is short.
func (t *Table) cell(i, j int) string {
	if j < len(t.Rows[i]) {
		return t.Rows[i][j]
	}
	return ""
}

// Markdown renders the table in GitHub-flavoured Markdown. Pipes in cells
// are escaped; bold cells are wrapped in **.
func (t *Table) Markdown() string {
	var b strings.Builder
	if t.Title != "" {
		fmt.Fprintf(&b, "**%s**\n\n", t.Title)
	}
	esc := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
	}
	b.WriteString("|")
	for _, c := range t.Columns {
		b.WriteString(" " + esc(c) + " |")
	}
	b.WriteString("\n|")
	for j := range t.Columns {
		if t.numeric(j) {
			b.WriteString(" ---: |")
		} else {
			b.WriteString(" --- |")
		}
	}
	b.WriteString("\n")
	for i := range t.Rows {
		b.WriteString("|")
		for j := range t.Columns {
			s := esc(t.cell(i, j))
			if t.bold[[2]int{i, j}] && s != "" {
				s = "**" + s + "**"
			}
			b.WriteString(" " + s + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// HTML renders the table as an HTML <table> with a caption, escaping all
// text; numeric columns are right-aligned and bold cells use <b>.
func (t *Table) HTML() string {
	var b strings.Builder
	b.WriteString(`<table style="border-collapse:collapse">` + "\n")
	if t.Title != "" {
		fmt.Fprintf(&b, "<caption style=\"font-weight:bold;text-align:left\">%s</caption>\n", html.EscapeString(t.Title))
	}
	align := make([]string, len(t.Columns))
	for j := range t.Columns {
		align[j] = "left"
		if t.numeric(j) {
			align[j] = "right"
		}
	}
	b.WriteString("<thead><tr>")
	for j, c := range t.Columns {
		fmt.Fprintf(&b, `<th style="text-align:%s;border-bottom:1px solid #888;padding:2px 8px">%s</th>`, align[j], html.EscapeString(c))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for i := range t.Rows {
		b.WriteString("<tr>")
		for j := range t.Columns {
			s := html.EscapeString(t.cell(i, j))
			if t.bold[[2]int{i, j}] && s != "" {
				s = "<b>" + s + "</b>"
			}
			fmt.Fprintf(&b, `<td style="text-align:%s;padding:2px 8px">%s</td>`, align[j], s)
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")
	return b.String()
}

// String renders the table as Markdown, so fmt.Println(t) prints it.
func (t *Table) String() string { return t.Markdown() }
