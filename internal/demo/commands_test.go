package demo

import "testing"

// /help, built from the table, reads as it always has, and its second
// lines stay under the first lines' text.
func TestHelp(t *testing.T) {
	const want = `Type a text and press Enter to send it to the city.
  /photo [TEXT]   attach a photo (taken downtown, with GPS) to TEXT or to your next text or mail
  /from NUMBER    text (and call) from another phone, e.g. /from +15305550101
  /mail SUBJECT   email the city; then type the body, and a line with a single . to send it
                  (/photo on a line of its own attaches a photo, /cancel drops the mail)
  /reply [TEXT]   answer the city's latest mail with TEXT (without TEXT, type a body as for /mail)
  /call           call the city's phone menu; then type keys (1, 9, 1234#) or words,
                  ~words to mumble them, an empty line to stay silent, /hangup to end
  /help           this help
  /quit           stop the demo (so does Ctrl-D)
`
	if got := Help(); got != want {
		t.Errorf("Help() =\n%s\nwant\n%s", got, want)
	}
}
