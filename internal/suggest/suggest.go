// Package suggest finds the names a mistyped one was probably meant to be,
// for "did you mean" hints (commands, flags, parameter names).
package suggest

import "strings"

// Similar returns up to n candidates close to word: those the fewest edits
// away from it (insertions, deletions, substitutions and swaps of
// neighbours; at most about one in five characters, and at least two), in
// the candidates' order; or, when none is that close, those that contain
// it.
func Similar(word string, candidates []string, n int) []string {
	type scored struct {
		name string
		d    int
	}
	limit := max(2, len([]rune(word))/5)
	var near []scored
	for _, c := range candidates {
		if c == word {
			continue
		}
		if d := distance(word, c, limit); d <= limit {
			near = append(near, scored{c, d})
		}
	}
	best := limit
	for _, s := range near {
		best = min(best, s.d)
	}
	var out []string
	for _, s := range near {
		if s.d == best && len(out) < n {
			out = append(out, s.name)
		}
	}
	if len(out) == 0 && word != "" {
		for _, c := range candidates {
			if c != word && strings.Contains(c, word) && len(out) < n {
				out = append(out, c)
			}
		}
	}
	return out
}

// distance is the optimal string alignment distance between a and b (the
// Damerau–Levenshtein distance without edits of a substring edited
// before), or a number above limit once it is known to exceed it.
func distance(a, b string, limit int) int {
	x, y := []rune(a), []rune(b)
	if d := len(x) - len(y); d > limit || -d > limit {
		return limit + 1
	}
	prev2 := make([]int, len(y)+1)
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			best = min(best, cur[j])
		}
		if best > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(y)]
}
