package sipptest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// readCallCounts reads the cumulative successful and failed call counts
// from the last row of SIPp's -trace_stat file (';'-separated, header
// first), which SIPp writes when it exits.
func readCallCounts(name string) (successful, failed int, err error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, 0, fmt.Errorf("sipp statistics: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var header, last []string
	for sc.Scan() {
		row := strings.Split(sc.Text(), ";")
		if header == nil {
			header = row
			continue
		}
		last = row
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("sipp statistics %s: %w", name, err)
	}
	if last == nil {
		return 0, 0, fmt.Errorf("sipp statistics %s: no data row", name)
	}
	col := func(name string) (int, error) {
		for i, h := range header {
			if h == name && i < len(last) {
				return strconv.Atoi(last[i])
			}
		}
		return 0, fmt.Errorf("no column %q", name)
	}
	successful, err1 := col("SuccessfulCall(C)")
	failed, err2 := col("FailedCall(C)")
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("sipp statistics %s: %w", name, err)
	}
	return successful, failed, nil
}
