package twilio

import (
	"fmt"

	"townline/core"
)

// optedOutCode is the error Twilio reports for a recipient who texted
// STOP to Twilio itself.
const optedOutCode = "21610"

// MessageReceipt maps a message status callback onto core's words. ok is
// false for the statuses of inbound messages, which Twilio may post to the
// same callback and which say nothing about a delivery.
func MessageReceipt(sid, status, errorCode string) (r core.Receipt, ok bool, err error) {
	r = core.Receipt{ProviderID: sid, ErrorCode: errorCode, OptedOut: errorCode == optedOutCode}
	switch status {
	case "accepted", "scheduled", "queued":
		r.State = core.DeliveryQueued
	case "sending":
		r.State = core.DeliverySending
	case "sent", "partially_delivered":
		r.State = core.DeliverySent
	case "delivered":
		r.State = core.DeliveryDelivered
	case "read":
		r.State = core.DeliveryRead
	case "undelivered", "failed", "canceled":
		r.State = core.DeliveryFailed
	case "receiving", "received":
		return r, false, nil
	default:
		return r, false, fmt.Errorf("MessageStatus: %q is not a delivery status", status)
	}
	return r, true, nil
}

// CallReceipt maps the status callback of a call placed to a resident onto
// core's words: an answered call was delivered; busy or unanswered, it
// was not. ok is false for a status Twilio does not define.
func CallReceipt(sid, status, errorCode string) (r core.Receipt, ok bool) {
	r = core.Receipt{ProviderID: sid, ErrorCode: errorCode}
	switch status {
	case "queued":
		r.State = core.DeliveryQueued
	case "initiated":
		r.State = core.DeliverySending
	case "ringing", "in-progress":
		r.State = core.DeliverySent
	case "completed":
		r.State = core.DeliveryDelivered
	case "busy", "no-answer":
		r.State, r.ErrorCode = core.DeliveryFailed, status
	case "failed", "canceled":
		r.State = core.DeliveryFailed
	default:
		return r, false
	}
	return r, true
}
