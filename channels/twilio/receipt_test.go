package twilio

import (
	"testing"

	"townline/core"
)

func TestMessageReceipt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status, code string
		state        core.DeliveryState
		ok, optedOut bool
	}{
		{"accepted", "", core.DeliveryQueued, true, false},
		{"scheduled", "", core.DeliveryQueued, true, false},
		{"queued", "", core.DeliveryQueued, true, false},
		{"sending", "", core.DeliverySending, true, false},
		{"sent", "", core.DeliverySent, true, false},
		{"partially_delivered", "", core.DeliverySent, true, false},
		{"delivered", "", core.DeliveryDelivered, true, false},
		{"read", "", core.DeliveryRead, true, false},
		{"undelivered", "30003", core.DeliveryFailed, true, false},
		{"failed", "21610", core.DeliveryFailed, true, true}, // the recipient texted STOP to Twilio
		{"canceled", "", core.DeliveryFailed, true, false},
		{"received", "", "", false, false}, // an inbound message's status: not a receipt
		{"receiving", "", "", false, false},
	} {
		r, ok, err := MessageReceipt("SM1", tc.status, tc.code)
		if err != nil || ok != tc.ok || (ok && (r.State != tc.state || r.ProviderID != "SM1" || r.ErrorCode != tc.code || r.OptedOut != tc.optedOut)) {
			t.Errorf("%s/%s: %+v, %v, %v", tc.status, tc.code, r, ok, err)
		}
	}
	if _, _, err := MessageReceipt("SM1", "exploded", ""); err == nil {
		t.Error("an unknown status was taken")
	}
}

func TestCallReceipt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status string
		state  core.DeliveryState
		code   string
	}{
		{"queued", core.DeliveryQueued, ""},
		{"initiated", core.DeliverySending, ""},
		{"ringing", core.DeliverySent, ""},
		{"in-progress", core.DeliverySent, ""},
		{"completed", core.DeliveryDelivered, ""},
		{"busy", core.DeliveryFailed, "busy"}, // why it failed, for staff
		{"no-answer", core.DeliveryFailed, "no-answer"},
		{"failed", core.DeliveryFailed, ""},
		{"canceled", core.DeliveryFailed, ""},
	} {
		r, ok := CallReceipt("CA1", tc.status, "")
		if !ok || r.State != tc.state || r.ErrorCode != tc.code || r.ProviderID != "CA1" {
			t.Errorf("%s: %+v, %v", tc.status, r, ok)
		}
	}
	if _, ok := CallReceipt("CA1", "exploded", ""); ok {
		t.Error("an unknown call status was taken")
	}
}
