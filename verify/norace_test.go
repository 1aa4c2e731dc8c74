//go:build !race

package verify

// raceSlowdown stretches the few deadlines that measure speed: the race
// detector makes every step several times slower.
const raceSlowdown = 1
