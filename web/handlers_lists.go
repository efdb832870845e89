package web

import (
	"net/url"
	"slices"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// box is one of the request tables: incoming, outgoing (sent on), drafts.
type box struct {
	name      string
	title     string
	intro     string
	direction workflow.Direction
	// states are the states it shows, among those the actor may see; the
	// state filter picks among them. nil: every state the Policy lets the
	// actor see on the box's side (statesFor).
	states []workflow.State
}

// statesFor is what b shows to the actor whose scope is sc: its states,
// less those the Policy hides from that side (a draft from the requested
// authority), so that the rule lives in the Policy alone.
func (b box) statesFor(sc workflow.Scope) []workflow.State {
	visible := sc.RequestingStates
	if b.direction == workflow.DirectionIncoming {
		visible = sc.RequestedStates
	}
	if b.states == nil {
		return visible
	}
	var out []workflow.State
	for _, s := range b.states {
		if slices.Contains(visible, s) {
			out = append(out, s)
		}
	}
	return out
}

var (
	boxInbox = box{name: "inbox", title: "Inbox", direction: workflow.DirectionIncoming,
		intro: "Requests other central authorities have sent to yours."}
	boxOutbox = box{name: "outbox", title: "Outbox", direction: workflow.DirectionOutgoing,
		intro:  "Requests your central authority has sent to others.",
		states: withoutDrafted()}
	boxDrafts = box{name: "drafts", title: "Drafts", direction: workflow.DirectionOutgoing,
		intro:  "Requests your central authority is preparing; a supervisor sends them.",
		states: []workflow.State{workflow.StateDrafted}}
)

func withoutDrafted() []workflow.State {
	var out []workflow.State
	for _, s := range workflow.States {
		if s != workflow.StateDrafted {
			out = append(out, s)
		}
	}
	return out
}

// pageSize is the number of rows of a request table: the service's own
// default page, so that the rule of page sizes lives once.
const pageSize = workflow.DefaultLimit

// listFilter is what the filter form of a table holds.
type listFilter struct {
	State       string
	Kind        string
	Counterpart string
	Text        string
	Deadline    string // overdue or due_soon
	Sort        string // due: nearest deadline first
}

// listView is the content of the inbox, outbox and drafts pages.
type listView struct {
	Title              string
	Intro              string
	Path               string
	Rows               []requestRow
	Filter             listFilter
	Filtered           bool
	StateOptions       []option
	KindOptions        []option
	CounterpartOptions []option
	CounterpartLabel   string
	NextURL            string
	FirstURL           string
	MayCreate          bool
}

// handleList shows one page of a request table. Pages are cut by the
// store's keyset cursor, so the thousandth page costs what the first does.
func (h *Handler) handleList(b box) echo.HandlerFunc {
	return func(c echo.Context) error {
		a := actorOf(c)
		authorities, err := h.authorities(c)
		if err != nil {
			return err
		}
		names, _ := h.authorityNames(c)
		f := listFilter{
			State: c.QueryParam("state"), Kind: c.QueryParam("kind"),
			Counterpart: c.QueryParam("counterpart"), Text: c.QueryParam("q"),
			Deadline: c.QueryParam("deadline"), Sort: c.QueryParam("sort"),
		}
		states := b.statesFor(h.policy.Scope(a))
		q := workflow.ListQuery{Direction: b.direction, Limit: pageSize, States: states}
		if f.State != "" {
			s := workflow.State(f.State)
			if !slices.Contains(states, s) {
				return badFilter("state")
			}
			q.States = []workflow.State{s}
		}
		if f.Kind != "" {
			if q.Kind = workflow.Kind(f.Kind); !q.Kind.Valid() {
				return badFilter("kind")
			}
		}
		if f.Counterpart != "" {
			if _, known := names[f.Counterpart]; !known || f.Counterpart == a.Authority {
				return badFilter("counterpart")
			}
			q.Counterpart = f.Counterpart
		}
		if utf8.RuneCountInString(f.Text) > workflow.MaxSearchText {
			return badFilter("q")
		}
		q.Text = f.Text
		switch d := workflow.DeadlineFilter(f.Deadline); d {
		case workflow.DeadlineAny, workflow.DeadlineDue, workflow.DeadlineDueSoon:
			q.Deadline = d
		default:
			return badFilter("deadline")
		}
		switch f.Sort {
		case "":
		case "due":
			q.SortDue = true
		default:
			return badFilter("sort")
		}
		cursor := c.QueryParam("cursor")
		if len(cursor) > 256 {
			return badFilter("cursor")
		}
		q.Cursor = cursor
		list, next, err := h.wf.List(c.Request().Context(), a, q)
		if err != nil {
			return err
		}
		v := listView{
			Title: b.title, Intro: b.intro, Path: "/" + b.name, Filter: f,
			Filtered:           f != (listFilter{}),
			KindOptions:        kindOptions(),
			CounterpartOptions: counterpartOptions(authorities, a.Authority),
			MayCreate:          h.policy.MayCreate(a),
			CounterpartLabel:   "Requested authority",
		}
		if b.direction == workflow.DirectionIncoming {
			v.CounterpartLabel = "Requesting authority"
		}
		if len(states) > 1 {
			v.StateOptions = stateOptions(states)
		}
		unread, err := h.wf.UnreadMessages(c.Request().Context(), a, list)
		if err != nil {
			return err
		}
		for _, r := range list {
			row := h.toRow(a, r, names)
			row.Unread = unread[r.ID]
			v.Rows = append(v.Rows, row)
		}
		v.NextURL, v.FirstURL = pageLinks(v.Path, map[string]string{
			"state": f.State, "kind": f.Kind, "counterpart": f.Counterpart, "q": f.Text,
			"deadline": f.Deadline, "sort": f.Sort,
		}, cursor, next)
		return h.render(c, view{name: "request_list.html", title: b.title, content: v, live: "list"})
	}
}

// pageLinks returns the addresses of a list's next page (when next, the
// cursor after this page, is set) and of its first page (when this page is
// not the first: cursor is set), both keeping the list's filters that are
// set.
func pageLinks(path string, filters map[string]string, cursor, next string) (nextURL, firstURL string) {
	q := url.Values{}
	for k, val := range filters {
		if val != "" {
			q.Set(k, val)
		}
	}
	if cursor != "" {
		firstURL = path
		if len(q) > 0 {
			firstURL += "?" + q.Encode()
		}
	}
	if next != "" {
		q.Set("cursor", next)
		nextURL = path + "?" + q.Encode()
	}
	return nextURL, firstURL
}

func badFilter(name string) error {
	return workflow.Errorf(workflow.ErrBadRequest, "The filter %q has a value this page does not know. Reset the filters and try again.", name)
}

// countRow is one line of the dashboard's table of counts.
type countRow struct {
	State          workflow.State
	Incoming       int
	Outgoing       int
	IncomingExists bool // drafts are never incoming
}

// dashboardView is the content of the dashboard.
type dashboardView struct {
	ReadsCases  bool
	Counts      []countRow
	TotalIn     int
	TotalOut    int
	Waiting     []requestRow
	MayCreate   bool
	ReadsAudit  bool
	ManageUsers bool
	Role        workflow.Role
	Overdue     []overdueItem
	MoreOverdue bool
	// RunsExercises: the trainer, on a server with exercises.
	RunsExercises bool
}

// overdueItem is a request with a deadline past due, on the dashboard.
type overdueItem struct {
	ID, Reference, Title string
	Deadlines            []string // "Execution: 12 days overdue (EIO Art. 12(4))"
}

// overdueLimit bounds the dashboard's overdue panel.
const overdueLimit = 10

// waitingLimit bounds the "waiting for you" list of the dashboard.
const waitingLimit = 20

// handleDashboard shows the counts of the user's authority and what waits
// for the user's action, urgent first.
func (h *Handler) handleDashboard() echo.HandlerFunc {
	return func(c echo.Context) error {
		a := actorOf(c)
		v := dashboardView{
			ReadsCases: h.readsCases(a), MayCreate: h.policy.MayCreate(a),
			ReadsAudit: h.readsAudit(a), ManageUsers: h.policy.MayManageUsers(a), Role: a.Role,
			RunsExercises: h.exercises != nil && h.policy.MayRunExercises(a),
		}
		if v.ReadsCases {
			ctx := c.Request().Context()
			counts, err := h.wf.Counts(ctx, a)
			if err != nil {
				return err
			}
			incoming := h.policy.Scope(a).RequestedStates
			for _, s := range workflow.States {
				row := countRow{State: s, Incoming: counts.Incoming[s], Outgoing: counts.Outgoing[s],
					IncomingExists: slices.Contains(incoming, s)}
				v.TotalIn += row.Incoming
				v.TotalOut += row.Outgoing
				v.Counts = append(v.Counts, row)
			}
			waiting, err := h.wf.Waiting(ctx, a, waitingLimit)
			if err != nil {
				return err
			}
			names, err := h.authorityNames(c)
			if err != nil {
				return err
			}
			unread, err := h.wf.UnreadMessages(ctx, a, waiting)
			if err != nil {
				return err
			}
			for _, r := range waiting {
				row := h.toRow(a, r, names)
				row.Unread = unread[r.ID]
				v.Waiting = append(v.Waiting, row)
			}
			overdue, next, err := h.wf.List(ctx, a, workflow.ListQuery{Deadline: workflow.DeadlineDue, SortDue: true, Limit: overdueLimit})
			if err != nil {
				return err
			}
			now := h.now()
			for _, r := range overdue {
				item := overdueItem{ID: r.ID, Reference: r.Reference, Title: r.Title}
				for _, d := range h.deadlineViews(a, r, now) {
					if d.Overdue {
						item.Deadlines = append(item.Deadlines, d.Label+": "+d.Left+" (for the "+d.Side+" side)")
					}
				}
				v.Overdue = append(v.Overdue, item)
			}
			v.MoreOverdue = next != ""
		}
		return h.render(c, view{name: "dashboard.html", title: "Dashboard", content: v})
	}
}
