package engine

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/capture"
	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/trace"
)

// caseClock decides the one zone a report shows its times in, and puts
// the captures' evidence lines in it, so that a hop's time and the line
// of the packet it cites agree.
//
// A capture keeps UTC; a tcpdump printout, and every log line printed
// without a zone (syslog, journalctl's default), is in the local time of
// its host. intake learns a host's zone from a printout of a capture the
// folder holds (evidence.Host.Zone). The report's zone is the one the
// hosts that show theirs agree on, else UTC; the logs of a host whose
// zone nothing shows are taken to be in it, and the report says so.
// Nil when the case shows no time at all.
func caseClock(c *evidence.Case) (*time.Location, *diagnosis.Clock) {
	var known, logs []*evidence.Host
	captures, printouts := false, false
	for _, h := range c.Hosts {
		if h.Zone != nil {
			known = append(known, h)
		}
		if len(h.Logs) > 0 {
			logs = append(logs, h)
		}
		for i := range h.Frames {
			if _, err := time.Parse(time.RFC3339Nano, h.Frames[i].Time); err == nil {
				captures = true
			} else if h.Frames[i].Time != "" {
				printouts = true
			}
			if captures && printouts {
				break
			}
		}
	}
	if !captures && !printouts && len(logs) == 0 {
		return nil, nil
	}
	zone := time.UTC
	clock := &diagnosis.Clock{Zone: "UTC"}
	offsets := map[int][]string{}
	for _, h := range known {
		offsets[h.Zone.Offset] = append(offsets[h.Zone.Offset], h.Name)
	}
	switch {
	case len(offsets) == 1:
		h := known[0]
		zone = time.FixedZone(trace.ZoneLabel(time.FixedZone("", h.Zone.Offset)), h.Zone.Offset)
		clock.Zone, clock.Offset = trace.ZoneLabel(zone), h.Zone.Offset
		ref := h.Zone.Ref
		clock.From = &ref
		clock.Basis = fmt.Sprintf("%s's local time, as its tcpdump printout of a capture shows (captures keep UTC)", h.Name)
	case len(offsets) > 1:
		var says []string
		for off, names := range offsets {
			says = append(says, fmt.Sprintf("%s %s", strings.Join(names, ", "), trace.ZoneLabel(time.FixedZone("", off))))
		}
		sort.Strings(says)
		clock.Basis = "as captures keep them, since the hosts' local times differ"
		clock.Note = "log lines are in their host's local time: " + strings.Join(says, "; ")
	case captures:
		clock.Basis = "as captures keep them; no host's evidence shows its local time"
	default:
		clock.Zone = "as printed"
		clock.Basis = "each host's local time, whose zone no capture or other evidence shows"
	}
	for _, h := range logs {
		if h.Zone == nil && clock.Zone != "as printed" {
			clock.LogsAssumed = append(clock.LogsAssumed, h.Name)
		}
	}
	if captures {
		for _, h := range c.Hosts {
			inZone(h, zone)
		}
	}
	return zone, clock
}

// inZone puts h's capture frames in zone (their times and the time of day
// their evidence lines start with), and the frame lines its Seen cites.
func inZone(h *evidence.Host, zone *time.Location) {
	_, want := time.Unix(0, 0).In(zone).Zone()
	same := true
	for i := range h.Frames {
		if t, err := time.Parse(time.RFC3339Nano, h.Frames[i].Time); err == nil {
			_, off := t.Zone()
			same = off == want
			break
		}
	}
	if same {
		return
	}
	capture.SetZone(h.Frames, zone)
	type at struct {
		source string
		line   int
	}
	text := map[at]string{}
	for i := range h.Frames {
		r := h.Frames[i].Ref
		text[at{r.Source, r.Line}] = r.Text
	}
	refs := h.Seen[evidence.KindFrames]
	for i, r := range refs {
		if t, ok := text[at{r.Source, r.Line}]; ok {
			refs[i].Text = t
		}
	}
}
