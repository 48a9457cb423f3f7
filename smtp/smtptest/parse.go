package smtptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
)

// Parse parses a raw RFC 5322 message into a Message: the From, To,
// Subject, Message-ID and Date headers, the text and HTML parts and the
// attachments, each decoded. The envelope and session fields stay empty.
func Parse(raw []byte) (Message, error) {
	m := Message{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m, err
	}
	dec := new(mime.WordDecoder)
	if from, err := msg.Header.AddressList("From"); err == nil && len(from) > 0 {
		m.From, m.FromName = from[0].Address, from[0].Name
	} else if err != nil {
		return m, fmt.Errorf("From: %w", err)
	}
	if to, err := msg.Header.AddressList("To"); err == nil && len(to) > 0 {
		m.To = to[0].Address
	} else if err != nil {
		return m, fmt.Errorf("To: %w", err)
	}
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return m, fmt.Errorf("Subject: %w", err)
	}
	m.MessageID = strings.TrimSpace(msg.Header.Get("Message-Id"))
	if d, err := msg.Header.Date(); err == nil {
		m.Date = d
	}
	h := textproto.MIMEHeader(msg.Header)
	if err := m.walk(h, msg.Body); err != nil {
		return m, err
	}
	return m, nil
}

// walk decodes one MIME entity, descending into multiparts.
func (m *Message) walk(h textproto.MIMEHeader, body io.Reader) error {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain; charset=us-ascii"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("Content-Type %q: %w", ct, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", mediaType, err)
			}
			if err := m.walk(p.Header, p); err != nil {
				return err
			}
		}
	}
	data, err := io.ReadAll(decoder(h.Get("Content-Transfer-Encoding"), body))
	if err != nil {
		return fmt.Errorf("%s body: %w", mediaType, err)
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if n, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
		name = n
	}
	switch {
	case disp != "attachment" && mediaType == "text/plain" && m.Text == "":
		m.Text = string(data)
	case disp != "attachment" && mediaType == "text/html" && m.HTML == "":
		m.HTML = string(data)
	default:
		m.Attachments = append(m.Attachments, Attachment{Name: name, ContentType: mediaType, Data: data})
	}
	return nil
}

// decoder undoes a Content-Transfer-Encoding.
func decoder(cte string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, r) // it skips the line breaks
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}
