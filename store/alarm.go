package store

import (
	"context"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// spaceCheckEvery is how often the embedded store looks for etcd's NOSPACE
// alarm (an in-process call: cheap).
const spaceCheckEvery = 10 * time.Second

// Space thresholds, as fractions of the quota: the database file is
// defragmented once what it holds fits in defragBelow of the quota, and the
// alarm disarmed once the file is below disarmBelow (any higher and the
// next writes would raise it again at once).
const (
	defragBelow = 0.8
	disarmBelow = 0.9
)

// recoverSpace runs until the store closes. Once etcd has raised its
// NOSPACE alarm (the quota is reached: every write fails with ErrFull and
// the API answers 507), it frees what it can and disarms the alarm as soon
// as space is back, which etcd never does by itself: it compacts the
// history, defragments the database file once the live data fits well
// within the quota (compaction frees pages in the file without shrinking
// it, and etcd measures the file), and disarms the alarm once the file is
// back under the quota. Live data that does not fit (records kept for
// privacy.retention_days) waits for expiry, or for an operator to raise
// store.quota_bytes.
func (s *Store) recoverSpace(quota int64, every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	var lastLog time.Time
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.bg, 4*s.reqTimeout)
		full, inUse, size, err := s.spaceState(ctx)
		if err != nil || !full {
			cancel()
			continue
		}
		if inUse >= int64(defragBelow*float64(quota)) {
			if _, err := s.Compact(ctx); err == nil {
				_, inUse, size, _ = s.spaceState(ctx)
			}
		}
		if size >= int64(disarmBelow*float64(quota)) && inUse < int64(defragBelow*float64(quota)) {
			s.log.Warn("store full: defragmenting the embedded etcd to give back the space compaction freed", "in_use_bytes", inUse, "file_bytes", size, "quota_bytes", quota)
			// The server's own call: the in-process client's maintenance
			// service lacks what Defragment needs.
			if err := s.etcd.Server.Defragment(); err != nil {
				s.log.Warn("store full: defragmenting failed", "err", err)
			}
			_, inUse, size, _ = s.spaceState(ctx)
		}
		if size < int64(disarmBelow*float64(quota)) {
			_, err := s.cli.AlarmDisarm(ctx, &clientv3.AlarmMember{MemberID: uint64(s.etcd.Server.MemberID()), Alarm: pb.AlarmType_NOSPACE})
			if err == nil {
				s.log.Warn("store no longer full: space is back, etcd's NOSPACE alarm disarmed; writes work again", "in_use_bytes", inUse, "file_bytes", size, "quota_bytes", quota)
			} else {
				s.log.Error("store full: space is back but disarming etcd's NOSPACE alarm failed", "err", err)
			}
		} else if time.Since(lastLog) >= time.Minute {
			lastLog = time.Now()
			s.log.Error("store full: the live data does not fit within the quota; writes fail until records expire or store.quota_bytes is raised (restart)",
				"in_use_bytes", inUse, "file_bytes", size, "quota_bytes", quota)
		}
		cancel()
	}
}

// spaceState says whether etcd's NOSPACE alarm is raised, and how many
// bytes its database holds and its file takes.
func (s *Store) spaceState(ctx context.Context) (full bool, inUse, size int64, err error) {
	alarms, err := s.cli.AlarmList(ctx)
	if err != nil {
		return false, 0, 0, err
	}
	for _, a := range alarms.Alarms {
		full = full || a.Alarm == pb.AlarmType_NOSPACE
	}
	if !full {
		return false, 0, 0, nil
	}
	st := s.etcd.Server.Backend()
	return true, st.SizeInUse(), st.Size(), nil
}
