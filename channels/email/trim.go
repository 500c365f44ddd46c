package email

import (
	"regexp"
	"strings"
)

// TrimReply returns what a resident wrote in a mail, without the message
// they answered (quoted below an attribution such as "On … wrote:" or an
// Outlook header block) and without their signature. It is for display
// and for reading the report; the full body stays in the stored message.
func TrimReply(text string) string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := range lines {
		if startsQuote(lines, i) || isSignature(lines[i]) {
			lines = lines[:i]
			break
		}
	}
	// A quoted tail without an attribution line.
	for len(lines) > 0 {
		l := strings.TrimSpace(lines[len(lines)-1])
		if l != "" && !strings.HasPrefix(l, ">") {
			break
		}
		lines = lines[:len(lines)-1]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

var (
	// "On Mon, Nov 23, 2026 at 9:14 AM Oroville 311 <311@…> wrote:",
	// "El lun, 23 nov 2026 a las 9:14, … escribió:"; clients wrap it
	// over two lines, so the end may come one line later.
	attributionStart = regexp.MustCompile(`(?i)^(>\s*)?(on|el)\s`)
	attributionEnd   = regexp.MustCompile(`(?i)(wrote|escribió|escribio)\s*:\s*$`)
	originalMessage  = regexp.MustCompile(`(?i)^-{2,}\s*(original message|mensaje original|forwarded message|mensaje reenviado)\s*-{2,}$`)
	// Outlook's block: "From: …" then "Sent:/Date:" and "To:/Subject:".
	outlookFrom  = regexp.MustCompile(`(?i)^\*?(from|de)\s*:\*?\s`)
	outlookField = regexp.MustCompile(`(?i)^\*?(sent|date|to|subject|enviado|fecha|para|asunto)\s*:`)
	// Mobile clients' one-line signatures.
	mobileSignature = regexp.MustCompile(`(?i)^(sent from my |sent from mail for |sent from yahoo mail|sent from outlook|sent via |get outlook for |enviado desde mi |enviado desde outlook|obtener outlook para )`)
)

// startsQuote reports whether line i begins the quoted earlier message.
func startsQuote(lines []string, i int) bool {
	l := strings.TrimSpace(lines[i])
	switch {
	case originalMessage.MatchString(l):
		return true
	case attributionStart.MatchString(l) && len(l) < 300:
		if attributionEnd.MatchString(l) {
			return true
		}
		return i+1 < len(lines) && len(l)+len(lines[i+1]) < 300 && attributionEnd.MatchString(strings.TrimSpace(lines[i+1]))
	case strings.HasPrefix(l, "________________") && i+1 < len(lines) && outlookFrom.MatchString(strings.TrimSpace(lines[i+1])):
		return true
	case outlookFrom.MatchString(l):
		fields := 0
		for j := i + 1; j < len(lines) && j <= i+5; j++ {
			if outlookField.MatchString(strings.TrimSpace(lines[j])) {
				fields++
			}
		}
		return fields >= 2
	}
	return false
}

func isSignature(line string) bool {
	l := strings.TrimRight(line, " \t")
	return l == "--" || l == "__" || (len(l) < 80 && mobileSignature.MatchString(strings.TrimSpace(l)))
}
