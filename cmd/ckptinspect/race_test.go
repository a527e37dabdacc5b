//go:build race

package main

// raceEnabled: the test binary runs under the race detector, whose memory
// no RSS bound is about.
const raceEnabled = true
