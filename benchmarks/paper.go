package benchmarks

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
)

// paperJSON is the one data file of the paper's headline numbers, each
// with the figure or table and the page it comes from.
//
//go:embed paper.json
var paperJSON []byte

// Claim is one number (or range) the paper states, with its source.
type Claim struct {
	ID         string  `json:"id"`
	Experiment string  `json:"experiment"`
	Where      string  `json:"where"`   // "Table 4", "Figure 9 caption"
	Section    string  `json:"section"` // "5.2.3"
	Page       int     `json:"page"`    // proceedings page (561-577)
	PageSource string  `json:"page_source"`
	Quantity   string  `json:"quantity"`
	Value      float64 `json:"value"`
	ValueMax   float64 `json:"value_max,omitempty"`
	Err        float64 `json:"err,omitempty"`
	Unit       string  `json:"unit"`
	Kind       string  `json:"kind"` // exact, lower bound, upper bound, about, range
	Text       string  `json:"text"`
}

// Cite is the short source of a claim: "Table 4, §5.2.3, p. 572".
func (c Claim) Cite() string {
	return fmt.Sprintf("%s, §%s, p. %d", c.Where, c.Section, c.Page)
}

// PaperData is the decoded paper.json.
type PaperData struct {
	Source string   `json:"source"`
	Notes  []string `json:"notes"`
	Claims []Claim  `json:"claims"`
}

var loadPaper = sync.OnceValues(func() (*PaperData, error) {
	var p PaperData
	if err := json.Unmarshal(paperJSON, &p); err != nil {
		return nil, fmt.Errorf("benchmarks: paper.json: %w", err)
	}
	seen := map[string]bool{}
	for _, c := range p.Claims {
		if c.ID == "" || seen[c.ID] {
			return nil, fmt.Errorf("benchmarks: paper.json: empty or repeated claim id %q", c.ID)
		}
		seen[c.ID] = true
	}
	return &p, nil
})

// Paper returns the paper's headline numbers (benchmarks/paper.json).
func Paper() *PaperData {
	p, err := loadPaper()
	if err != nil {
		panic(err) // the file is embedded and checked by a test
	}
	return p
}

// Claim returns the claim with the given id.
func (p *PaperData) Claim(id string) (Claim, bool) {
	for _, c := range p.Claims {
		if c.ID == id {
			return c, true
		}
	}
	return Claim{}, false
}

// ClaimsOf returns the claims about one experiment, in file order.
func (p *PaperData) ClaimsOf(experiment string) []Claim {
	var out []Claim
	for _, c := range p.Claims {
		if c.Experiment == experiment {
			out = append(out, c)
		}
	}
	return out
}
