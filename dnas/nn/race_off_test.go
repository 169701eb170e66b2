//go:build !race

package nn

// raceEnabled: the race detector is off.
const raceEnabled = false
