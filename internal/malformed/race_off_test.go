//go:build !race

package malformed

// raceEnabled scales the time and memory ceilings: the race detector makes
// a program several times slower and bigger.
const raceEnabled = false
