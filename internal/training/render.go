package training

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteCSV writes the debrief as one table: the rules, the findings, the
// deadlines and the timeline, one row each, so that a trainer can sort and
// filter it in a spreadsheet.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	write := func(rec ...string) {
		for i, f := range rec {
			rec[i] = safeCell(f)
		}
		_ = cw.Write(rec)
	}
	write("record", "trainee", "authority", "reference", "at", "item", "status", "points", "detail")
	for _, ru := range r.Rules {
		status := "not met"
		if ru.Met {
			status = "met"
		}
		ref := ru.Request
		if req, ok := r.requestByKey(ru.Request); ok {
			ref = req.Reference
		}
		write("rule", ru.By, "", ref, stamp(ru.At), ru.Label, status, fmt.Sprintf("%d/%d", ru.Earned, ru.Points), ru.Reason)
	}
	for _, f := range r.Findings {
		at := f.At
		write("finding", f.Trainee, f.Authority, f.Reference, stamp(&at), f.Kind, "", strconv.Itoa(f.Points), f.Detail)
	}
	for _, req := range r.Requests {
		for _, dl := range req.Deadlines {
			due := dl.DueAt
			write("deadline", "", dl.Authority, req.Reference, stamp(&due), dl.Kind, dl.Status, "", dl.Basis)
		}
		for _, ev := range req.Timeline {
			at := ev.At
			who := ""
			if ev.Trainee {
				who = ev.Actor
			}
			detail := ev.Detail
			if len(ev.Grounds) > 0 {
				detail = strings.TrimSpace("grounds: " + strings.Join(ev.Grounds, ", ") + "; " + detail)
			}
			write(ev.Type, who, ev.Authority, req.Reference, stamp(&at), ev.Name, "", "", detail)
		}
	}
	write("score", "", "", "", r.GeneratedAt.UTC().Format(time.RFC3339), "team", "", fmt.Sprintf("%d/%d", r.Score, r.MaxScore), "")
	for _, t := range r.Trainees {
		write("score", t.Username, t.Authority, "", "", t.Role, "", strconv.Itoa(t.Score), fmt.Sprintf("%d actions, %d refused attempts", t.Actions, t.Denied))
	}
	cw.Flush()
	return cw.Error()
}

// safeCell keeps a spreadsheet from reading a cell as a formula (CSV
// injection): a text a trainee typed may start with =, +, - or @.
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		if _, err := strconv.Atoi(s); err != nil {
			return "'" + s
		}
	}
	return s
}

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (r *Report) requestByKey(key string) (RequestResult, bool) {
	for _, req := range r.Requests {
		if req.Key == key && key != "" {
			return req, true
		}
	}
	return RequestResult{}, false
}

// The geometry of the timeline chart.
const (
	svgWidth   = 960
	svgLabel   = 210 // the column of request references
	svgRight   = 20
	svgTop     = 40
	svgRow     = 56
	svgBottom  = 40
	svgTickGap = 6
)

// TimelineSVG draws the debrief's timeline: one row per request, its
// events as marks along the exercise time (filled: a trainee's, hollow: a
// simulated authority's, a cross: a refused attempt) and its deadlines as
// flags (green met, red missed or overdue, grey running or stopped). The
// chart is an image with a title and a description that says in words what
// it shows, for those who do not see it.
func (r *Report) TimelineSVG() []byte {
	var b bytes.Buffer
	start, end := r.span()
	rows := len(r.Requests)
	height := svgTop + max(rows, 1)*svgRow + svgBottom
	plot := float64(svgWidth - svgLabel - svgRight)
	x := func(t time.Time) float64 {
		if !end.After(start) {
			return float64(svgLabel)
		}
		return float64(svgLabel) + plot*float64(t.Sub(start))/float64(end.Sub(start))
	}
	esc := html.EscapeString
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="debrief-title debrief-desc" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet" font-family="sans-serif" font-size="12">`, svgWidth, height)
	fmt.Fprintf(&b, `<title id="debrief-title">Timeline of the exercise %s</title>`, esc(r.Title))
	fmt.Fprintf(&b, `<desc id="debrief-desc">%s</desc>`, esc(r.describe()))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`, svgWidth, height)
	// The time axis: one tick a day (or fewer on a long exercise).
	days := int(end.Sub(start)/(24*time.Hour)) + 1
	step := max(1, days/12)
	for d := 0; d <= days; d += step {
		t := start.Add(time.Duration(d) * 24 * time.Hour)
		if t.After(end) {
			break
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#d0d0d0"/>`, x(t), svgTop-svgTickGap, x(t), height-svgBottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#333333">day %d</text>`, x(t), svgTop-2*svgTickGap, d)
	}
	for i, req := range r.Requests {
		y := float64(svgTop + i*svgRow + svgRow/2)
		fmt.Fprintf(&b, `<g><title>%s</title>`, esc(req.Reference+": "+req.Title))
		fmt.Fprintf(&b, `<text x="8" y="%.1f" fill="#111111">%s</text>`, y-4, esc(req.Reference))
		fmt.Fprintf(&b, `<text x="8" y="%.1f" fill="#555555" font-size="10">%s → %s, %s</text>`, y+10, esc(req.RequestingAuthority), esc(req.RequestedAuthority), esc(strings.ReplaceAll(req.State, "_", " ")))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#888888"/>`, svgLabel, y, svgWidth-svgRight, y)
		for _, dl := range req.Deadlines {
			colour := "#6b6b6b"
			switch dl.Status {
			case "met":
				colour = "#1b7f3b"
			case "missed", "overdue":
				colour = "#b3261e"
			}
			dx := x(clamp(dl.DueAt, start, end))
			fmt.Fprintf(&b, `<g><title>%s</title><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="4 2"/><path d="M%.1f %.1f l10 4 l-10 4 z" fill="%s"/></g>`,
				esc(fmt.Sprintf("Deadline %s (%s), due %s: %s", dl.Kind, dl.Authority, dl.DueAt.UTC().Format("2 Jan 15:04"), dl.Status)),
				dx, y-20, dx, y+20, colour, dx, y-20, colour)
		}
		for _, ev := range req.Timeline {
			ex := x(clamp(ev.At, start, end))
			label := esc(fmt.Sprintf("%s %s by %s (%s)", ev.At.UTC().Format("2 Jan 15:04"), strings.ReplaceAll(ev.Name, "_", " "), ev.Actor, ev.Type))
			switch {
			case ev.Type == TimelineDenied:
				fmt.Fprintf(&b, `<g><title>%s</title><path d="M%.1f %.1f l8 8 m0 -8 l-8 8" stroke="#b3261e" stroke-width="2"/></g>`, label, ex-4, y-4)
			case ev.Type == TimelineMessage:
				fill := "#ffffff"
				if ev.Trainee {
					fill = "#1f4e8c"
				}
				fmt.Fprintf(&b, `<g><title>%s</title><rect x="%.1f" y="%.1f" width="8" height="8" fill="%s" stroke="#1f4e8c" stroke-width="1.5"/></g>`, label, ex-4, y-4, fill)
			default:
				fill := "#ffffff"
				if ev.Trainee {
					fill = "#1f4e8c"
				}
				fmt.Fprintf(&b, `<g><title>%s</title><circle cx="%.1f" cy="%.1f" r="5" fill="%s" stroke="#1f4e8c" stroke-width="1.5"/></g>`, label, ex, y, fill)
			}
		}
		b.WriteString(`</g>`)
	}
	ly := height - svgBottom/2 + 4
	fmt.Fprintf(&b, `<g font-size="11" fill="#333333"><circle cx="%d" cy="%d" r="5" fill="#1f4e8c"/><text x="%d" y="%d">trainee event</text>`, svgLabel, ly-4, svgLabel+10, ly)
	fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="5" fill="#ffffff" stroke="#1f4e8c" stroke-width="1.5"/><text x="%d" y="%d">counterpart event</text>`, svgLabel+110, ly-4, svgLabel+120, ly)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="8" height="8" fill="#1f4e8c"/><text x="%d" y="%d">message</text>`, svgLabel+246, ly-8, svgLabel+258, ly)
	fmt.Fprintf(&b, `<path d="M%d %d l8 8 m0 -8 l-8 8" stroke="#b3261e" stroke-width="2"/><text x="%d" y="%d">refused attempt</text>`, svgLabel+330, ly-8, svgLabel+342, ly)
	fmt.Fprintf(&b, `<path d="M%d %d l10 4 l-10 4 z" fill="#b3261e"/><text x="%d" y="%d">deadline: green met, red missed, grey running</text></g>`, svgLabel+450, ly-8, svgLabel+464, ly)
	b.WriteString(`</svg>`)
	return b.Bytes()
}

// span is the time the chart covers: from the exercise start to the
// debrief, widened to the events and the deadlines due within a week of it.
func (r *Report) span() (time.Time, time.Time) {
	start, end := r.StartedAt, r.GeneratedAt
	if start.IsZero() {
		start = end
	}
	for _, req := range r.Requests {
		if req.CreatedAt.Before(start) {
			start = req.CreatedAt
		}
		for _, ev := range req.Timeline {
			if ev.At.After(end) {
				end = ev.At
			}
		}
		for _, dl := range req.Deadlines {
			if dl.DueAt.After(end) && dl.DueAt.Before(r.GeneratedAt.Add(7*24*time.Hour)) {
				end = dl.DueAt
			}
		}
	}
	if !end.After(start) {
		end = start.Add(24 * time.Hour)
	}
	return start, end
}

func clamp(t, lo, hi time.Time) time.Time {
	switch {
	case t.Before(lo):
		return lo
	case t.After(hi):
		return hi
	}
	return t
}

// describe says in words what the chart shows.
func (r *Report) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Score %d of %d. ", r.Score, r.MaxScore)
	for _, req := range r.Requests {
		met, missed, running := 0, 0, 0
		for _, dl := range req.Deadlines {
			switch dl.Status {
			case "met":
				met++
			case "missed", "overdue":
				missed++
			default:
				running++
			}
		}
		denied := 0
		for _, ev := range req.Timeline {
			if ev.Type == TimelineDenied {
				denied++
			}
		}
		fmt.Fprintf(&b, "%s (%s to %s) is %s after %d events; deadlines: %d met, %d missed or overdue, %d running or stopped; %d refused attempts. ",
			req.Reference, req.RequestingAuthority, req.RequestedAuthority, strings.ReplaceAll(req.State, "_", " "),
			len(req.Timeline)-denied, met, missed, running, denied)
	}
	return strings.TrimSpace(b.String())
}
