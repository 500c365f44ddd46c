package email

import (
	"strings"
)

// LoopHeader marks every mail we send. Seen inbound, it means the mail
// came from us (or from another townline): automatic, never answered.
const LoopHeader = "X-Townline-Loop"

// automatic says why a message was made by a machine rather than a
// person, or "" when it looks like a person's. Core keeps such a message
// as a flagged note and never answers it: an answer could start a loop of
// auto-replies.
func automatic(h header, m *Message, report string) string {
	if v := h.Get("Auto-Submitted"); v != "" && !strings.EqualFold(token(v), "no") {
		return "Auto-Submitted: " + v // RFC 3834
	}
	switch p := strings.ToLower(token(h.Get("Precedence"))); p {
	case "bulk", "junk", "list", "auto_reply":
		return "Precedence: " + p
	}
	for _, name := range []string{LoopHeader, "X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "List-Id"} {
		if h.Has(name) {
			return name + " header"
		}
	}
	if report != "" || len(m.Bounced) > 0 {
		return "a delivery or read report (" + report + ")"
	}
	if rp := h.Get("Return-Path"); strings.TrimSpace(rp) == "<>" {
		return "null return path"
	}
	local, _, _ := strings.Cut(strings.ToLower(m.From), "@")
	switch strings.NewReplacer("-", "", "_", "", ".", "").Replace(local) {
	case "mailerdaemon", "postmaster", "noreply", "donotreply", "bounce", "bounces":
		return "sender " + m.From
	}
	subject := strings.ToLower(m.Subject)
	for _, s := range autoSubjects {
		if strings.Contains(subject, s) {
			return "subject " + m.Subject
		}
	}
	return ""
}

// autoSubjects are out-of-office and auto-reply subjects, in English and
// Spanish, as Outlook, Gmail and Apple Mail write them.
var autoSubjects = []string{
	"out of office", "out of the office", "automatic reply", "auto reply", "autoreply", "auto-reply",
	"fuera de la oficina", "respuesta automática", "respuesta automatica", "fuera de oficina",
	"undeliverable:", "delivery status notification", "mail delivery failed", "returned mail:",
	"no se puede entregar", "notificación de estado de entrega",
}

// token is a header value up to its first parameter or comment.
func token(v string) string {
	v, _, _ = strings.Cut(v, ";")
	v, _, _ = strings.Cut(v, "(")
	return strings.TrimSpace(v)
}
