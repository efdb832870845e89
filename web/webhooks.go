package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/webhook"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The webhooks pages (CONTRACT 8): a supervisor's list of their
// authority's webhooks (every authority's for the administrator), the form
// to make one, whose secret the answer shows once, and each webhook's
// deliveries with their status, attempts and last error, and a button to
// send a dead one again. The webhook service decides who may do what.

// newWebhookValues is the form to make a webhook, as typed.
type newWebhookValues struct {
	URL       string
	Events    []string
	Authority string
}

// webhooksView is the content of the webhooks page.
type webhooksView struct {
	Webhooks []webhook.Subscription
	// Created is the webhook just made, with its secret: shown this once.
	Created          *webhook.Created
	New              newWebhookValues
	Errors           map[string]string
	Problems         []fieldProblem
	Actions          []string
	AuthorityOptions []option // the administrator's choice; none for a supervisor
	// AllowPrivate says that destinations on private addresses are
	// accepted here (--webhook-allow-private).
	AllowPrivate bool
}

// deliveriesView is the content of one webhook's page.
type deliveriesView struct {
	Webhook    webhook.Subscription
	Deliveries []webhook.Delivery
}

// webhookFields orders the form's fields in its error summary.
var webhookFields = []string{"authority", "url", "events"}

func (h *Handler) webhooksView(c echo.Context) (webhooksView, error) {
	a := actorOf(c)
	subs, err := h.webhooks.List(c.Request().Context(), a, "")
	if err != nil {
		return webhooksView{}, err
	}
	v := webhooksView{Webhooks: subs, Errors: map[string]string{}, Actions: webhook.Actions(),
		New: newWebhookValues{Events: []string{webhook.AllEvents}}, AllowPrivate: h.webhooks.AllowsPrivate()}
	if a.Authority == "" {
		list, err := h.authorities(c)
		if err != nil {
			return webhooksView{}, err
		}
		v.AuthorityOptions = counterpartOptions(list, "")
	}
	return v, nil
}

// handleWebhooks lists the webhooks, with the form to make one.
func (h *Handler) handleWebhooks() echo.HandlerFunc {
	return func(c echo.Context) error {
		v, err := h.webhooksView(c)
		if err != nil {
			return err
		}
		return h.render(c, view{name: "webhooks.html", title: "Webhooks", content: v, flash: doneMessages[c.QueryParam("done")]})
	}
}

// handleCreateWebhook makes a webhook and shows its secret, once: the
// answer is the page itself rather than a redirect, so that the secret is
// in no address and no history.
func (h *Handler) handleCreateWebhook() echo.HandlerFunc {
	return func(c echo.Context) error {
		nv := newWebhookValues{URL: strings.TrimSpace(c.FormValue("url")), Authority: c.FormValue("authority")}
		if form, err := c.FormParams(); err == nil {
			nv.Events = form["events"]
		}
		var created webhook.Created
		err := formError(c)
		if err == nil {
			created, err = h.webhooks.Create(c.Request().Context(), actorOf(c), webhook.NewSubscription{
				URL: nv.URL, Events: nv.Events, Authority: nv.Authority,
			})
		}
		if err != nil && workflow.ErrorCode(err) != workflow.ErrValidation {
			return err
		}
		v, verr := h.webhooksView(c)
		if verr != nil {
			return verr
		}
		if err == nil {
			v.Created = &created
			return h.render(c, view{status: http.StatusCreated, name: "webhooks.html", title: "Webhooks", content: v,
				flash: "The webhook has been created. Copy its signing secret now: it is not shown again."})
		}
		v.New = nv
		v.Errors, _ = validationFields(err)
		v.Problems = problems(v.Errors, webhookFields)
		return h.render(c, view{status: http.StatusUnprocessableEntity, name: "webhooks.html", title: "Webhooks", content: v,
			alert: "The webhook was not created. Correct the fields marked below."})
	}
}

// handleDeleteWebhook ends a webhook.
func (h *Handler) handleDeleteWebhook() echo.HandlerFunc {
	return func(c echo.Context) error {
		err := formError(c)
		if err == nil {
			err = h.webhooks.Delete(c.Request().Context(), actorOf(c), c.Param("id"))
		}
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/webhooks?done=webhook_deleted")
	}
}

// handleWebhookDeliveries shows a webhook's latest deliveries.
func (h *Handler) handleWebhookDeliveries() echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, a := c.Request().Context(), actorOf(c)
		sub, err := h.webhooks.Get(ctx, a, c.Param("id"))
		if err != nil {
			return err
		}
		ds, err := h.webhooks.Deliveries(ctx, a, sub.ID, 0)
		if err != nil {
			return err
		}
		return h.render(c, view{name: "webhook.html", title: "Webhook deliveries",
			content: deliveriesView{Webhook: sub, Deliveries: ds}, flash: doneMessages[c.QueryParam("done")]})
	}
}

// handleRetryDelivery sends a dead or delivered delivery again.
func (h *Handler) handleRetryDelivery() echo.HandlerFunc {
	return func(c echo.Context) error {
		err := formError(c)
		if err == nil {
			_, err = h.webhooks.Retry(c.Request().Context(), actorOf(c), c.Param("id"), c.Param("delivery"))
		}
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/webhooks/"+c.Param("id")+"?done=webhook_retried")
	}
}

// managesWebhooks tells whether the webhooks pages exist for a: a
// supervisor (for their authority) or the administrator.
func (h *Handler) managesWebhooks(a workflow.Actor) bool {
	return h.webhooks != nil && h.policy.MayManageWebhooks(a, a.Authority)
}
