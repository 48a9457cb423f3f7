package bench

import (
	"sort"
	"time"
)

// writtenEvent is an event the server listed (GET /v1/events).
type writtenEvent struct {
	id, typ, objectID string
	createdAt         time.Time
}

// deliveryStats compares the events the server wrote with the deliveries
// that arrived.
type deliveryStats struct {
	written    int64 // events the server wrote (and so had to deliver)
	delivered  int64 // of those, delivered at least once
	duplicates int64 // deliveries beyond the first of an event
	missing    int64 // written, never delivered
	missingIDs []string
	// unexpected counts the deliveries of events that are not among the
	// written ones.
	unexpected int64
	// first is the earliest createdAt of the written events, last the
	// latest first delivery of one.
	first, last time.Time
	// delay runs from each delivered event's createdAt to its first
	// delivery; fromAnswer from the answer of the call that created the
	// event's object (events with no such call are left out), counting a
	// delivery that came before the answer as 0 and in beforeAnswer.
	delay, fromAnswer Histogram
	beforeAnswer      int64
}

// maxMissingIDs bounds the ids of missing events a report names.
const maxMissingIDs = 10

// accountDeliveries matches arrivals (by event id) to written events;
// answered gives, by object id, when the call that created the object was
// answered.
func accountDeliveries(written []writtenEvent, arrivals map[string]arrival, answered map[string]time.Time) *deliveryStats {
	s := &deliveryStats{written: int64(len(written))}
	known := make(map[string]bool, len(written))
	for _, e := range written {
		known[e.id] = true
		if s.first.IsZero() || e.createdAt.Before(s.first) {
			s.first = e.createdAt
		}
		a, ok := arrivals[e.id]
		if !ok || a.count == 0 {
			s.missing++
			s.missingIDs = append(s.missingIDs, e.id)
			continue
		}
		s.delivered++
		s.duplicates += int64(a.count - 1)
		if a.first.After(s.last) {
			s.last = a.first
		}
		s.delay.Record(a.first.Sub(e.createdAt))
		if at, ok := answered[e.objectID]; ok {
			d := a.first.Sub(at)
			if d < 0 {
				s.beforeAnswer++
			}
			s.fromAnswer.Record(d)
		}
	}
	for id, a := range arrivals {
		if !known[id] {
			s.unexpected += int64(a.count)
		}
	}
	sort.Strings(s.missingIDs)
	if len(s.missingIDs) > maxMissingIDs {
		s.missingIDs = s.missingIDs[:maxMissingIDs]
	}
	return s
}

// window is the time from the first event's createdAt to the last first
// delivery; 0 when nothing was delivered.
func (s *deliveryStats) window() time.Duration {
	if s.delivered == 0 || !s.last.After(s.first) {
		return 0
	}
	return s.last.Sub(s.first)
}

// perSecond is the events delivered per second of the window.
func (s *deliveryStats) perSecond() float64 {
	w := s.window()
	if w <= 0 {
		return 0
	}
	return float64(s.delivered) / w.Seconds()
}
