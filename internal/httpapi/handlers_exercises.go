package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/exercise"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Training exercises (CONTRACT 7). The handlers only translate: who may,
// and what an exercise is, are the exercise.Manager's and the Policy's.

type scenarioJSON struct {
	ID           string                  `json:"id"`
	Title        string                  `json:"title"`
	Summary      string                  `json:"summary"`
	Authorities  []scenarioAuthorityJSON `json:"authorities"`
	TraineeRoles []string                `json:"trainee_roles"`
}

type scenarioAuthorityJSON struct {
	Code         string   `json:"code"`
	Name         string   `json:"name"`
	Played       string   `json:"played"`
	TraineeRoles []string `json:"trainee_roles"`
}

type clockJSON struct {
	Now     string  `json:"now"`
	Speed   float64 `json:"speed"`
	Running bool    `json:"running"`
}

type traineeJSON struct {
	Username  string `json:"username"`
	Authority string `json:"authority"`
	Role      string `json:"role"`
}

type accountSheetJSON struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	Authority string `json:"authority"`
	Role      string `json:"role"`
}

type exerciseJSON struct {
	ID        string             `json:"id"`
	Scenario  string             `json:"scenario"`
	Title     string             `json:"title"`
	State     string             `json:"state"`
	Seed      int64              `json:"seed"`
	Clock     clockJSON          `json:"clock"`
	CreatedBy string             `json:"created_by"`
	CreatedAt string             `json:"created_at"`
	EndedAt   *string            `json:"ended_at"`
	Trainees  []traineeJSON      `json:"trainees"`
	Accounts  []accountSheetJSON `json:"accounts,omitempty"`
}

func toExerciseJSON(v exercise.View) exerciseJSON {
	out := exerciseJSON{
		ID: v.ID, Scenario: v.Scenario, Title: v.Title, State: v.State, Seed: v.Seed,
		Clock:     clockJSON{Now: timeJSON(v.Clock.Now), Speed: v.Clock.Speed, Running: v.Clock.Running},
		CreatedBy: v.CreatedBy, CreatedAt: timeJSON(v.CreatedAt), Trainees: []traineeJSON{},
	}
	if !v.EndedAt.IsZero() {
		t := timeJSON(v.EndedAt)
		out.EndedAt = &t
	}
	for _, t := range v.Trainees {
		out.Trainees = append(out.Trainees, traineeJSON{Username: t.Username, Authority: t.Authority, Role: t.Role})
	}
	return out
}

func handleScenarios(m *exercise.Manager) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := queryParams(c, nil); err != nil {
			return err
		}
		if !m.MayRun(actorFrom(c)) {
			return errNotTrainer
		}
		items := []scenarioJSON{}
		for _, s := range m.Scenarios() {
			sj := scenarioJSON{ID: s.ID, Title: s.Title, Summary: s.Summary, TraineeRoles: s.TraineeRoles(),
				Authorities: []scenarioAuthorityJSON{}}
			if sj.TraineeRoles == nil {
				sj.TraineeRoles = []string{}
			}
			for _, a := range s.Authorities {
				roles := a.TraineeRoles
				if roles == nil {
					roles = []string{}
				}
				sj.Authorities = append(sj.Authorities, scenarioAuthorityJSON{Code: a.Code, Name: a.Name, Played: a.Played, TraineeRoles: roles})
			}
			items = append(items, sj)
		}
		return c.JSON(http.StatusOK, itemsJSON[scenarioJSON]{Items: items})
	}
}

var errNotTrainer = workflow.Errorf(workflow.ErrForbidden, "only trainers run exercises")

type newExerciseInput struct {
	Scenario string `json:"scenario"`
	Seed     *int64 `json:"seed"`
	Trainees int    `json:"trainees"`
}

func handleCreateExercise(m *exercise.Manager) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in newExerciseInput
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
		v, accounts, err := m.Create(c.Request().Context(), actorFrom(c),
			exercise.CreateInput{Scenario: in.Scenario, Seed: in.Seed, Trainees: in.Trainees})
		if err != nil {
			return err
		}
		out := toExerciseJSON(v)
		out.Accounts = []accountSheetJSON{}
		for _, a := range accounts {
			out.Accounts = append(out.Accounts, accountSheetJSON(a))
		}
		// The trainees' passwords are shown once: kept by no cache, nor
		// by the idempotency keys' table.
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		c.Response().Header().Set(echo.HeaderLocation, "/api/v1/exercises/"+v.ID)
		keepSecret(c)
		return c.JSON(http.StatusCreated, out)
	}
}

func handleListExercises(m *exercise.Manager) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := queryParams(c, nil); err != nil {
			return err
		}
		vs, err := m.List(c.Request().Context(), actorFrom(c))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, itemsOf(vs, toExerciseJSON))
	}
}

func handleGetExercise(m *exercise.Manager) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := queryParams(c, nil); err != nil {
			return err
		}
		v, err := m.Get(c.Request().Context(), actorFrom(c), c.Param("id"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, toExerciseJSON(v))
	}
}

type clockInput struct {
	Action string   `json:"action"`
	Speed  *float64 `json:"speed"`
	By     string   `json:"by"`
}

func handleExerciseClock(m *exercise.Manager) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in clockInput
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
		v, err := m.SetClock(c.Request().Context(), actorFrom(c), c.Param("id"),
			exercise.ClockAction{Action: in.Action, Speed: in.Speed, By: in.By})
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, toExerciseJSON(v))
	}
}

// injectInput is the body of POST /exercises/{id}/injects: the id of one
// of the scenario's injects, or an ad hoc inject in the scenario files'
// shape under "ad_hoc".
type injectInput struct {
	Inject string          `json:"inject"`
	AdHoc  json.RawMessage `json:"ad_hoc"`
}

func handleExerciseInject(m *exercise.Manager) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in injectInput
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
		if bytes.Equal(bytes.TrimSpace(in.AdHoc), []byte("null")) {
			in.AdHoc = nil
		}
		if in.Inject != "" && len(in.AdHoc) > 0 {
			return workflow.Invalid("ad_hoc", "give either inject or ad_hoc, not both")
		}
		v, err := m.Inject(c.Request().Context(), actorFrom(c), c.Param("id"), in.Inject, in.AdHoc)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, toExerciseJSON(v))
	}
}

func handleExerciseDebrief(m *exercise.Manager) echo.HandlerFunc {
	return func(c echo.Context) error {
		q, err := queryParams(c, []string{"format"})
		if err != nil {
			return err
		}
		format := q.Get("format")
		if format != "" && format != "json" && format != "csv" {
			return badRequest("format must be json or csv")
		}
		d, _, err := m.Debrief(c.Request().Context(), actorFrom(c), c.Param("id"))
		if err != nil {
			return err
		}
		if format == "csv" {
			var buf bytes.Buffer
			if err := d.WriteCSV(&buf); err != nil {
				return err
			}
			c.Response().Header().Set("Content-Disposition", `attachment; filename="debrief-`+c.Param("id")+`.csv"`)
			return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
		}
		return c.JSON(http.StatusOK, d)
	}
}

func handleEndExercise(m *exercise.Manager) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := decodeOptionalEmpty(c); err != nil {
			return err
		}
		v, err := m.End(c.Request().Context(), actorFrom(c), c.Param("id"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, toExerciseJSON(v))
	}
}

func handleDeleteExercise(m *exercise.Manager) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := m.Delete(c.Request().Context(), actorFrom(c), c.Param("id")); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
}

// decodeOptionalEmpty accepts an empty body or an empty JSON object.
func decodeOptionalEmpty(c echo.Context) error {
	if c.Request().ContentLength == 0 {
		return nil
	}
	var in struct{}
	return decodeJSON(c, &in)
}
