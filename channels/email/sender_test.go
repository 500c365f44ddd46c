package email

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"townline/core"
	"townline/internal/smtpsink"
	"townline/internal/testenv"
)

func newSender(t testing.TB, smtpURL string) *Sender {
	t.Helper()
	s, err := NewSender(testConfig("imap://127.0.0.1:1/INBOX", smtpURL), testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ack(requestID int64, thread ...string) core.Outbound {
	return core.Outbound{
		MessageID: 5678, RequestID: requestID, Channel: core.ChannelEmail, To: "maria.lopez@icloud.com",
		Subject:  fmt.Sprintf("We received your report: Pothole [#%d]", requestID),
		Body:     "Thank you for reporting this to Oroville 311.\n\nRequest number: #1234\n\nFollow its progress at http://311.test/requests/1234",
		Language: "en", Thread: thread, Auto: true,
	}
}

func TestSendThreaded(t *testing.T) {
	sink := newSMTPSink(t)
	s := newSender(t, sink.URL())
	var thread []string
	thread = append(thread, "first@icloud.com", "sha256:0123") // a hash stands for a mail without Message-ID
	for i := range 11 {
		thread = append(thread, fmt.Sprintf("sr-1234.m-%d.x@oroville.example", i))
	}
	id, err := s.Send(context.Background(), ack(1234, thread...))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^sr-1234\.m-5678\.[0-9a-f]{16}@oroville\.example$`).MatchString(id) {
		t.Errorf("provider id %q", id)
	}
	// Sent again after a crash, the same message is the same mail.
	again, err := s.Send(context.Background(), ack(1234, thread...))
	if err != nil {
		t.Fatal(err)
	}
	if again != id {
		t.Errorf("the same message sent twice has Message-IDs %q and %q", id, again)
	}
	msgs := sink.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages sent, want 2", len(msgs))
	}
	got := msgs[0]
	if got.From != "311+bounces@oroville.example" || strings.Join(got.To, ",") != "maria.lopez@icloud.com" {
		t.Errorf("envelope from %q to %q", got.From, got.To)
	}
	// Relays check the greeting: it names this machine, not "localhost".
	if host, _ := os.Hostname(); got.Hello != host {
		t.Errorf("greeted as %q, want the host name %q", got.Hello, host)
	}
	h, _ := readHeader(got.Data)
	want := map[string]string{
		"Message-Id":               "<" + id + ">",
		"In-Reply-To":              "<sr-1234.m-10.x@oroville.example>",
		"Subject":                  "We received your report: Pothole [#1234]",
		"Auto-Submitted":           "auto-replied",
		"X-Auto-Response-Suppress": "All",
		"X-Townline-Loop":          "oroville.example",
		"Mime-Version":             "1.0",
		"Content-Language":         "en",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	refs := msgIDs(h.Get("References"))
	wantRefs := []string{"first@icloud.com"}
	for i := 2; i <= 10; i++ {
		wantRefs = append(wantRefs, fmt.Sprintf("sr-1234.m-%d.x@oroville.example", i))
	}
	if strings.Join(refs, " ") != strings.Join(wantRefs, " ") {
		t.Errorf("References %q\nwant %q", refs, wantRefs)
	}
	if from := addresses(h.Get("From")); len(from) != 1 || from[0] != cityAddr || !strings.Contains(h.Get("From"), "Oroville 311") {
		t.Errorf("From %q", h.Get("From"))
	}
	replyTo := addresses(h.Get("Reply-To"))
	if len(replyTo) != 1 {
		t.Fatalf("Reply-To %q", h.Get("Reply-To"))
	}
	if ref, _ := newTokens([]byte(testSecret)).tag(cityAddr, replyTo[0]); ref != 1234 {
		t.Errorf("Reply-To %q does not carry a valid token for #1234", replyTo[0])
	}
	if d := h.Get("Date"); d == "" {
		t.Error("no Date")
	}

	// Both alternatives, and the text is the body.
	m := Parse(got.Data, testLimits)
	if !strings.Contains(m.Text, "Request number: #1234") || m.Automatic == "" {
		t.Errorf("read back: text %q, automatic %q", m.Text, m.Automatic)
	}
	if !strings.Contains(h.Get("Content-Type"), "multipart/alternative") ||
		!strings.Contains(string(got.Data), "text/html") || !strings.Contains(string(got.Data), `<a href=3D"http://311.test/requests/1234">`) {
		t.Errorf("not text and HTML:\n%s", got.Data)
	}
}

func TestSendStaffReply(t *testing.T) {
	sink := newSMTPSink(t)
	s := newSender(t, sink.URL())
	m := ack(77, "their@mail.example")
	m.Auto, m.Language = false, "es"
	m.Subject = "Re: Señal dañada o faltante en la esquina de Huntoon y Bridge, frente a la panadería"
	m.Body = "Ya la cambiamos. ¡Gracias!"
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	raw := sink.Messages()[0].Data
	h, _ := readHeader(raw)
	if h.Has("Auto-Submitted") || h.Has("X-Auto-Response-Suppress") {
		t.Error("a person's reply is marked automatic")
	}
	back := Parse(raw, testLimits)
	if want := m.Subject + " [#77]"; back.Subject != want || back.Text != m.Body {
		t.Errorf("read back subject %q text %q; want %q, %q", back.Subject, back.Text, want, m.Body)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 || strings.ContainsFunc(line, func(r rune) bool { return r > 127 }) {
			t.Errorf("line not fit for SMTP: %q", line)
		}
	}
	if h.Get("In-Reply-To") != "<their@mail.example>" || h.Get("References") != "<their@mail.example>" {
		t.Errorf("threading %q %q", h.Get("In-Reply-To"), h.Get("References"))
	}
	// A message about no request (a flood warning): no token, no tag.
	m = ack(0)
	m.Subject = ""
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	h, _ = readHeader(sink.Messages()[1].Data)
	if h.Get("Subject") != "Oroville 311" || h.Has("Reply-To") || h.Has("In-Reply-To") || !strings.HasPrefix(h.Get("Message-Id"), "<m-5678.") {
		t.Errorf("header %+v", h)
	}
}

// isPermanent tells core.Permanent's errors apart (core keeps the test unexported).
func isPermanent(err error) bool { return fmt.Sprintf("%T", err) == "core.permanentError" }

func TestSendErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("refused recipient", func(t *testing.T) {
		sink := newSMTPSink(t)
		sink.RefuseRcpt(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"})
		_, err := newSender(t, sink.URL()).Send(ctx, ack(1))
		if !isPermanent(err) || errors.Is(err, core.ErrOutcomeUnknown) {
			t.Errorf("err %v (%T), want permanent", err, err)
		}
	})
	t.Run("refused with a bare 500", func(t *testing.T) {
		sink := newSMTPSink(t)
		sink.RefuseRcpt(&smtp.SMTPError{Code: 500, Message: "syntax error"})
		_, err := newSender(t, sink.URL()).Send(ctx, ack(1))
		if !isPermanent(err) {
			t.Errorf("err %v, want permanent: every 5xx is for good", err)
		}
	})
	t.Run("greylisted", func(t *testing.T) {
		sink := newSMTPSink(t)
		sink.RefuseRcpt(&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "try later"})
		_, err := newSender(t, sink.URL()).Send(ctx, ack(1))
		if err == nil || isPermanent(err) || errors.Is(err, core.ErrOutcomeUnknown) {
			t.Errorf("err %v, want a plain error (retry)", err)
		}
	})
	t.Run("refused message", func(t *testing.T) {
		sink := newSMTPSink(t)
		sink.RefuseData(&smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "spam"})
		_, err := newSender(t, sink.URL()).Send(ctx, ack(1))
		if !isPermanent(err) {
			t.Errorf("err %v, want permanent", err)
		}
	})
	t.Run("no answer after the message", func(t *testing.T) {
		sink := newSMTPSink(t)
		sink.Hang()
		s := newSender(t, sink.URL())
		s.dataTimeout = 200 * time.Millisecond
		_, err := s.Send(ctx, ack(1))
		if !errors.Is(err, core.ErrOutcomeUnknown) {
			t.Errorf("err %v, want outcome unknown", err)
		}
	})
	t.Run("cancelled during the message", func(t *testing.T) {
		sink := newSMTPSink(t)
		sink.Hang()
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err := newSender(t, sink.URL()).Send(ctx, ack(1))
		if !errors.Is(err, core.ErrOutcomeUnknown) {
			t.Errorf("err %v, want outcome unknown", err)
		}
	})
	t.Run("no server", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		_, err := newSender(t, "smtp://"+addr).Send(ctx, ack(1))
		if err == nil || isPermanent(err) || errors.Is(err, core.ErrOutcomeUnknown) {
			t.Errorf("err %v, want a plain error (retry)", err)
		}
	})
	t.Run("bad recipient", func(t *testing.T) {
		m := ack(1)
		m.To = "not an address"
		_, err := newSender(t, "smtp://127.0.0.1:1").Send(ctx, m)
		if !isPermanent(err) {
			t.Errorf("err %v, want permanent", err)
		}
	})
}

func TestSendAuth(t *testing.T) {
	sink := newSMTPSink(t)
	sink.RequireAuth("city", "p@ss word")
	if _, err := newSender(t, "smtp://city:p%40ss%20word@"+sink.Addr()).Send(context.Background(), ack(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := newSender(t, "smtp://city:wrong@"+sink.Addr()).Send(context.Background(), ack(1)); err == nil || isPermanent(err) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := newSender(t, sink.URL()).Send(context.Background(), ack(1)); err == nil {
		t.Error("sent without the required AUTH")
	}
}

func TestSendTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	for _, implicit := range []bool{false, true} {
		t.Run(fmt.Sprint("implicit=", implicit), func(t *testing.T) {
			sink, err := smtpsink.StartTLS(&tls.Config{Certificates: []tls.Certificate{cert}}, implicit)
			if err != nil {
				t.Fatal(err)
			}
			defer sink.Close()
			scheme := "smtp"
			if implicit {
				scheme = "smtps"
			}
			s := newSender(t, scheme+"://"+sink.Addr())
			s.smtp.plain = false // as for a remote server: TLS required
			s.smtp.host = "localhost"
			s.tlsConfig = &tls.Config{RootCAs: pool}
			if _, err := s.Send(context.Background(), ack(1)); err != nil {
				t.Fatal(err)
			}
			if len(sink.Messages()) != 1 {
				t.Fatal("not delivered")
			}
		})
	}
	// A server without STARTTLS is refused rather than sent in the clear.
	sink := newSMTPSink(t)
	s := newSender(t, sink.URL())
	s.smtp.plain = false
	if _, err := s.Send(context.Background(), ack(1)); err == nil || len(sink.Messages()) != 0 {
		t.Errorf("sent without TLS: %v", err)
	}
}

// selfSigned makes a certificate for localhost and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}
