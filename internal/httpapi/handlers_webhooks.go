package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/webhook"
)

// webhookJSON is a subscription (CONTRACT 8); secret only in the answer
// that created it.
type webhookJSON struct {
	ID        string   `json:"id"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Authority string   `json:"authority"`
	CreatedBy string   `json:"created_by"`
	CreatedAt string   `json:"created_at"`
	Secret    string   `json:"secret,omitempty"`
}

func toWebhookJSON(s webhook.Subscription) webhookJSON {
	return webhookJSON{
		ID: s.ID, URL: s.URL, Events: s.Events, Authority: s.Authority,
		CreatedBy: s.CreatedBy, CreatedAt: timeJSON(s.CreatedAt),
	}
}

// deliveryJSON is one delivery of a webhook: its id is the webhook-id
// header it is sent with, the same at every attempt.
type deliveryJSON struct {
	ID            string  `json:"id"`
	WebhookID     string  `json:"webhook_id"`
	RequestID     *string `json:"request_id"` // null for the administrator, party to no case
	Type          string  `json:"type"`
	Status        string  `json:"status"`
	Attempts      int     `json:"attempts"`
	NextAttemptAt *string `json:"next_attempt_at"`
	LastAttemptAt *string `json:"last_attempt_at"`
	LastStatus    *int    `json:"last_status"`
	LastError     *string `json:"last_error"`
	CreatedAt     string  `json:"created_at"`
	DeliveredAt   *string `json:"delivered_at"`
}

func optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timeJSON(t)
	return &s
}

func toDeliveryJSON(d webhook.Delivery) deliveryJSON {
	out := deliveryJSON{
		ID: d.ID, WebhookID: d.WebhookID, Type: d.EventType, Status: d.Status,
		Attempts: d.Attempts, NextAttemptAt: optionalTime(d.NextAttempt), LastAttemptAt: optionalTime(d.LastAttempt),
		CreatedAt: timeJSON(d.CreatedAt), DeliveredAt: optionalTime(d.DeliveredAt),
	}
	if d.RequestID != "" {
		out.RequestID = &d.RequestID
	}
	if d.LastStatus != 0 {
		out.LastStatus = &d.LastStatus
	}
	if d.LastError != "" {
		out.LastError = &d.LastError
	}
	return out
}

// newWebhookInput is the body of POST /webhooks. authority is the
// administrator's: which authority the webhook reports for (a supervisor's
// is always their own; naming another is refused).
type newWebhookInput struct {
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Authority *string  `json:"authority"`
}

// handleCreateWebhook subscribes an authority's system: 201 with the
// secret, shown this once.
func handleCreateWebhook(wh *webhook.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in newWebhookInput
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
		created, err := wh.Create(c.Request().Context(), actorFrom(c), webhook.NewSubscription{
			URL: in.URL, Events: in.Events, Authority: deref(in.Authority),
		})
		if err != nil {
			return err
		}
		out := toWebhookJSON(created.Subscription)
		out.Secret = created.Secret
		c.Response().Header().Set("Cache-Control", "no-store") // the secret, kept by no cache
		keepSecret(c)                                          // nor by the idempotency keys' table
		return c.JSON(http.StatusCreated, out)
	}
}

// handleListWebhooks lists the webhooks the caller manages; the
// administrator may narrow them to one authority.
func handleListWebhooks(wh *webhook.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		q, err := queryParams(c, []string{"authority"})
		if err != nil {
			return err
		}
		subs, err := wh.List(c.Request().Context(), actorFrom(c), q.Get("authority"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, itemsOf(subs, toWebhookJSON))
	}
}

// handleDeleteWebhook ends a webhook: 204.
func handleDeleteWebhook(wh *webhook.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := wh.Delete(c.Request().Context(), actorFrom(c), c.Param("id")); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
}

// handleDeliveries lists a webhook's deliveries, newest first (limit:
// default and most 200).
func handleDeliveries(wh *webhook.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		q, err := queryParams(c, []string{"limit"})
		if err != nil {
			return err
		}
		limit, err := parseLimit(q)
		if err != nil {
			return err
		}
		if q.Get("limit") == "" {
			limit = 0 // the service's default: the most it lists
		}
		ds, err := wh.Deliveries(c.Request().Context(), actorFrom(c), c.Param("id"), limit)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, itemsOf(ds, toDeliveryJSON))
	}
}

// handleRetryDelivery sends a dead or delivered delivery again: 200 with
// the delivery, pending and due at once.
func handleRetryDelivery(wh *webhook.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := queryParams(c, nil); err != nil {
			return err
		}
		d, err := wh.Retry(c.Request().Context(), actorFrom(c), c.Param("id"), c.Param("delivery"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, toDeliveryJSON(d))
	}
}
