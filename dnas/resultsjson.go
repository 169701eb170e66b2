package dnas

import (
	"encoding/json"
	"math"
)

// A figure that was not measured (a model that was not evaluated, a target
// whose comparison model was not retrained) is NaN in Go. JSON has no NaN,
// so results.json writes it as null, and reading null gives NaN back.

// nanNull returns nil for NaN (written as null), else a pointer to v.
func nanNull(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

// nullNaN returns NaN for nil (read from null), else *p.
func nullNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// MarshalJSON writes m with FID and HeldOutLoss as null when they are NaN.
func (m ModelResult) MarshalJSON() ([]byte, error) {
	type plain ModelResult // no methods: no recursion
	return json.Marshal(struct {
		plain
		FID         *float64 `json:"fid"`
		HeldOutLoss *float64 `json:"held_out_loss"`
	}{plain(m), nanNull(m.FID), nanNull(m.HeldOutLoss)})
}

// UnmarshalJSON reads what MarshalJSON writes (null gives NaN).
func (m *ModelResult) UnmarshalJSON(b []byte) error {
	type plain ModelResult
	var v struct {
		plain
		FID         *float64 `json:"fid"`
		HeldOutLoss *float64 `json:"held_out_loss"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*m = ModelResult(v.plain)
	m.FID, m.HeldOutLoss = nullNaN(v.FID), nullNaN(v.HeldOutLoss)
	return nil
}

// MarshalJSON writes r with the headline FIDs as null when they are NaN.
func (r PipelineResults) MarshalJSON() ([]byte, error) {
	type plain PipelineResults
	return json.Marshal(struct {
		plain
		SubnetFID      *float64 `json:"subnet_fid"`
		TeacherArchFID *float64 `json:"teacher_arch_fid"`
	}{plain(r), nanNull(r.SubnetFID), nanNull(r.TeacherArchFID)})
}

// UnmarshalJSON reads what MarshalJSON writes (null gives NaN).
func (r *PipelineResults) UnmarshalJSON(b []byte) error {
	type plain PipelineResults
	var v struct {
		plain
		SubnetFID      *float64 `json:"subnet_fid"`
		TeacherArchFID *float64 `json:"teacher_arch_fid"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = PipelineResults(v.plain)
	r.SubnetFID, r.TeacherArchFID = nullNaN(v.SubnetFID), nullNaN(v.TeacherArchFID)
	return nil
}
