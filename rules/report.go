package rules

import "sort"

// report collects the problems of one Load.
type report struct {
	items []reportItem
	// mergeSteps counts YAML merge expansions (see maxMergeSteps).
	mergeSteps int
	// quiet suppresses log lines (HashPath runs often; Load logs).
	quiet bool
}

type reportItem struct {
	fileIndex int // -1 for problems of the rules path itself
	p         Problem
}

func (r *report) add(src *source, line int, rule, reason string) {
	it := reportItem{fileIndex: -1, p: Problem{Line: line, Rule: rule, Reason: reason}}
	if src != nil {
		it.fileIndex = src.index
		it.p.File = src.path
	}
	r.items = append(r.items, it)
}

func (r *report) empty() bool { return len(r.items) == 0 }

// problems returns the problems in file order, then line order; problems on
// the same line keep the order they were found in.
func (r *report) problems() []Problem {
	items := append([]reportItem(nil), r.items...)
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].fileIndex != items[j].fileIndex {
			return items[i].fileIndex < items[j].fileIndex
		}
		return items[i].p.Line < items[j].p.Line
	})
	out := make([]Problem, len(items))
	for i, it := range items {
		out[i] = it.p
	}
	return out
}

// hasNewSince says whether problems were added after the count mark.
func (r *report) hasNewSince(mark int) bool { return len(r.items) > mark }
